/**
 * The staff API (/admin, ADMIN_TOKENS): refunds are queued under WeChat's rules with their out_refund_no minted
 * once; tokens are checked in constant time; every action is in the log with who did it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RefundListResponse, RefundResponse } from '@mp-pay/shared/api';
import {
  bearer,
  createdOrder,
  json,
  payInSandbox,
  post,
  signIn,
  startStack,
  waitForStatus,
  type Stack,
} from './helpers/stack.ts';

const ALICE = 'alice-token-0123456789abcdefghijklmnopqrstuv';
const logs: string[] = [];
let stack: Stack;
beforeAll(async () => {
  stack = await startStack({
    label: 'admin',
    logs,
    // The worker stays off: these tests look at what the admin API queues, not at WeChat's answers.
    env: {
      ADMIN_TOKENS: `alice:${ALICE}, bob:bob-token-0123456789abcdefghijklmnopqrstuvw`,
      WORKER_ENABLED: 'false',
    },
  });
});
afterAll(async () => {
  await stack?.close();
});

async function paidOrder(buyer: string) {
  const token = await signIn(stack, buyer);
  const { order, payment } = await createdOrder(stack.server, token);
  expect(await payInSandbox(stack, payment)).toBe('requestPayment:ok');
  await waitForStatus(stack.server, order.id, 'PAID');
  return order;
}

const refund = (id: string, body: unknown, token = ALICE) =>
  fetch(`${stack.server.url}/admin/orders/${id}/refunds`, post(body, bearer(token)));

describe('/admin', () => {
  it('refuses missing and unknown tokens, and says so in the security log', async () => {
    const order = await paidOrder('admin-auth');
    expect(
      (await fetch(`${stack.server.url}/admin/orders/${order.id}/refunds`, post({ reason: 'x' }))).status,
    ).toBe(401);
    const wrong = await refund(order.id, { reason: 'x' }, 'not-a-token-0123456789abcdefghijklmnopq');
    expect(wrong.status).toBe(401);
    expect(await json(wrong)).toMatchObject({ error: 'unauthorized' });
    expect(logs.some((l) => l.includes('"security":"admin_unauthorized"'))).toBe(true);
    // A buyer's session token is not a staff token.
    expect((await refund(order.id, { reason: 'x' }, await signIn(stack, 'admin-buyer'))).status).toBe(401);
  });

  it('queues a partial refund, then the rest a minute later, each with its own out_refund_no', async () => {
    const order = await paidOrder('admin-partial');
    const first = await refund(order.id, { refundFen: 1000, reason: 'one cup broken' });
    expect(first.status).toBe(202);
    const a = (await json<RefundResponse>(first)).refund;
    expect(a).toMatchObject({
      outRefundNo: `${order.outTradeNo}R01`,
      outTradeNo: order.outTradeNo,
      refundFen: 1000,
      state: 'PENDING',
      requestedBy: 'staff:alice',
      reason: 'one cup broken',
    });
    const rest = await refund(
      order.id,
      { reason: 'customer returned the rest' },
      'bob-token-0123456789abcdefghijklmnopqrstuvw',
    );
    const b = (await json<RefundResponse>(rest)).refund;
    expect(b).toMatchObject({
      outRefundNo: `${order.outTradeNo}R02`,
      refundFen: order.totalFen - 1000,
      requestedBy: 'staff:bob',
    });
    // Refunds of one payment go a minute apart: queued, not refused.
    expect(Date.parse(b.dueAt) - Date.parse(a.dueAt)).toBeGreaterThanOrEqual(60_000);
    const nothing = await refund(order.id, { reason: 'again' });
    expect(nothing.status).toBe(409);
    expect(await json(nothing)).toMatchObject({ error: 'refund_too_much' });

    const list = await json<RefundListResponse>(
      await fetch(`${stack.server.url}/admin/orders/${order.id}/refunds`, { headers: bearer(ALICE) }),
    );
    expect(list.refunds.map((r) => r.outRefundNo)).toEqual([a.outRefundNo, b.outRefundNo]);
    const one = await json<RefundResponse>(
      await fetch(`${stack.server.url}/admin/refunds/${a.outRefundNo}`, { headers: bearer(ALICE) }),
    );
    expect(one.refund).toEqual(a);
    expect(
      logs.filter((l) => l.includes('"action":"refund"') && l.includes('"admin":"alice"')),
    ).not.toHaveLength(0);
    expect(logs.join('\n')).not.toContain(ALICE);
  });

  it('lists orders by status, page by page', async () => {
    const paid = await paidOrder('admin-list');
    const list = async (query: string) =>
      json<{ orders: { id: string; status: string }[]; nextCursor: string | null }>(
        await fetch(`${stack.server.url}/admin/orders?${query}`, { headers: bearer(ALICE) }),
      );
    const all: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await list(`status=PAID&limit=1${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.orders.every((o) => o.status === 'PAID')).toBe(true);
      all.push(...page.orders.map((o) => o.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(all).toContain(paid.id);
    expect((await fetch(`${stack.server.url}/admin/orders?status=PAID`)).status).toBe(401);
    expect(
      (await fetch(`${stack.server.url}/admin/orders?status=NOPE`, { headers: bearer(ALICE) })).status,
    ).toBe(400);
  });

  it('refuses what cannot be refunded, with a clear error, changing nothing', async () => {
    const token = await signIn(stack, 'admin-unpaid');
    const { order } = await createdOrder(stack.server, token);
    const unpaid = await refund(order.id, { reason: 'x' });
    expect(unpaid.status).toBe(409);
    expect(await json(unpaid)).toMatchObject({ error: 'refund_not_allowed' });
    const paid = await paidOrder('admin-too-much');
    const tooMuch = await refund(paid.id, { refundFen: paid.totalFen + 1, reason: 'x' });
    expect(await json(tooMuch)).toMatchObject({ error: 'refund_too_much' });
    for (const body of [{ refundFen: 0, reason: 'x' }, { refundFen: 1.5, reason: 'x' }, { reason: '' }, {}]) {
      expect((await refund(paid.id, body)).status).toBe(400);
    }
    expect((await refund('20260101000000NoSuchOrder00001', { reason: 'x' })).status).toBe(404);
    expect(await stack.server.store.refunds.listRefunds(paid.id)).toEqual([]);
  });
});

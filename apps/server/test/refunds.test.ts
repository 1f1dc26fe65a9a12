/**
 * Refunds end to end, v2 and v3, against the real sandbox over HTTP (v2 over mutual TLS with the sandbox's demo
 * client certificate) and real Redis: staff refund part of a paid order, then the rest a minute later; each goes
 * to WeChat once with its own out_refund_no, comes back through a refund notification, and the order ends
 * REFUNDED with one event per refund. A forged refund notification changes nothing.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { OrderResponse, RefundResponse } from '@mp-pay/shared/api';
import { encryptV3Resource, SANDBOX_DEMO_V3, signResponseV3 } from '@mp-pay/shared/wechatpay';
import { waitFor } from './helpers/redis.ts';
import {
  bearer,
  createdOrder,
  json,
  payInSandbox,
  post,
  sandboxOrder,
  setFaults,
  signIn,
  startStack,
  waitForStatus,
  type Stack,
} from './helpers/stack.ts';

const TOKEN = 'refund-staff-0123456789abcdefghijklmnopqrstu';
const stacks: Stack[] = [];
afterAll(async () => {
  await Promise.all(stacks.map((s) => s.close()));
});

async function refundFlow(version: 'v2' | 'v3') {
  const stack = await startStack({
    label: `refunds-${version}`,
    env: { WECHATPAY_API_VERSION: version, ADMIN_TOKENS: `staff:${TOKEN}` },
  });
  stacks.push(stack);
  const token = await signIn(stack, `refund-buyer-${version}`);
  const { order, payment } = await createdOrder(stack.server, token);
  expect(await payInSandbox(stack, payment)).toBe('requestPayment:ok');
  await waitForStatus(stack.server, order.id, 'PAID');

  const ask = async (body: object) => {
    const res = await fetch(
      `${stack.server.url}/admin/orders/${order.id}/refunds`,
      post(body, bearer(TOKEN)),
    );
    expect(res.status).toBe(202);
    return (await json<RefundResponse>(res)).refund;
  };
  const settled = (outRefundNo: string) =>
    waitFor(
      async () => (await stack.server.store.refunds.getRefund(outRefundNo))?.state === 'SUCCESS',
      `refund ${outRefundNo} to succeed`,
      15_000,
    );

  const first = await ask({ refundFen: 1000, reason: 'one cup broken' });
  await settled(first.outRefundNo);
  await waitForStatus(stack.server, order.id, 'PARTIALLY_REFUNDED');
  // The rest, asked at once: queued a minute after the first (WeChat's spacing), sent when its time comes.
  const rest = await ask({ reason: 'returned' });
  expect(rest.refundFen).toBe(order.totalFen - 1000);
  await stack.advanceClock(66_000);
  await settled(rest.outRefundNo);
  await waitForStatus(stack.server, order.id, 'REFUNDED');

  const events = (await stack.server.store.events.readEvents()).filter((e) => e.orderId === order.id);
  expect(events.map((e) => [e.type, e.outRefundNo ?? null, e.refundFen ?? null])).toEqual([
    ['order.paid', null, null],
    ['refund.succeeded', first.outRefundNo, 1000],
    ['refund.succeeded', rest.outRefundNo, order.totalFen - 1000],
  ]);
  // WeChat saw each refund once, under the number minted for it.
  const atWechat = (await sandboxOrder(stack, order.outTradeNo)) as { refunds?: { out_refund_no: string }[] };
  expect((atWechat.refunds ?? []).map((r) => r.out_refund_no)).toEqual([first.outRefundNo, rest.outRefundNo]);
  return { stack, order };
}

describe('refunds', () => {
  it('v2: partial, then the rest, over mutual TLS, settled by refund notifications', async () => {
    const { stack } = await refundFlow('v2');
    // A refund notification encrypted with another key (forged) is refused and changes nothing.
    const forged = await fetch(`${stack.server.url}/wechatpay/refund-notify`, {
      method: 'POST',
      headers: { 'content-type': 'text/xml' },
      body: '<xml><return_code>SUCCESS</return_code><mch_id>1900000109</mch_id><req_info>AAAAAAAAAAAAAAAAAAAAAA==</req_info></xml>',
    });
    expect(forged.status).toBe(400);
    expect(await forged.text()).toMatch(/FAIL/);
  });

  it('v3: partial, then the rest, settled by encrypted REFUND.SUCCESS notifications', async () => {
    await refundFlow('v3');
  });
});

describe('buyers asking for refunds', () => {
  async function paidOrderOn(stack: Stack, buyer: string) {
    const token = await signIn(stack, buyer);
    const { order, payment } = await createdOrder(stack.server, token);
    expect(await payInSandbox(stack, payment)).toBe('requestPayment:ok');
    await waitForStatus(stack.server, order.id, 'PAID');
    return { token, order };
  }
  const askRefund = (stack: Stack, token: string, id: string, reason = 'wrong size') =>
    fetch(`${stack.server.url}/api/orders/${id}/refund-requests`, post({ reason }, bearer(token)));

  it('review (the default): the request waits; staff approve once, the buyer sees the refund', async () => {
    const stack = await startStack({ label: 'refund-review', env: { ADMIN_TOKENS: `staff:${TOKEN}` } });
    stacks.push(stack);
    const { token, order } = await paidOrderOn(stack, 'asks-review');
    const asked = await askRefund(stack, token, order.id);
    expect(asked.status).toBe(201);
    expect((await json<OrderResponse>(asked)).order).toMatchObject({
      status: 'PAID',
      refundRequest: { state: 'REQUESTED', reason: 'wrong size' },
      refunds: [],
    });
    // Asking again while it is open changes nothing; someone else cannot ask on this order.
    expect(
      (await json<OrderResponse>(await askRefund(stack, token, order.id, 'again'))).order.refundRequest
        ?.reason,
    ).toBe('wrong size');
    expect((await askRefund(stack, await signIn(stack, 'asks-stranger'), order.id)).status).toBe(404);

    const decide = (what: 'approve' | 'reject') =>
      fetch(`${stack.server.url}/admin/orders/${order.id}/refund-request/${what}`, {
        method: 'POST',
        headers: bearer(TOKEN),
      });
    const approvals = await Promise.all([decide('approve'), decide('approve')]);
    expect(approvals.map((r) => r.status).sort()).toEqual([200, 409]);
    await waitForStatus(stack.server, order.id, 'REFUNDED');
    const seen = await json<OrderResponse>(
      await fetch(`${stack.server.url}/api/orders/${order.id}`, { headers: bearer(token) }),
    );
    expect(seen.order).toMatchObject({
      status: 'REFUNDED',
      refundRequest: { state: 'APPROVED' },
      refunds: [{ outRefundNo: `${order.outTradeNo}R01`, refundFen: order.totalFen, state: 'SUCCESS' }],
    });
  });

  it('review: a rejected request refunds nothing; an unpaid order cannot be asked about', async () => {
    const stack = await startStack({ label: 'refund-reject', env: { ADMIN_TOKENS: `staff:${TOKEN}` } });
    stacks.push(stack);
    const { token, order } = await paidOrderOn(stack, 'asks-reject');
    await askRefund(stack, token, order.id);
    const rejected = await fetch(`${stack.server.url}/admin/orders/${order.id}/refund-request/reject`, {
      method: 'POST',
      headers: bearer(TOKEN),
    });
    expect((await json<OrderResponse>(rejected)).order).toMatchObject({
      status: 'PAID',
      refundRequest: { state: 'REJECTED' },
    });
    expect(await stack.server.store.refunds.listRefunds(order.id)).toEqual([]);
    const unpaid = (await createdOrder(stack.server, token)).order;
    const refused = await askRefund(stack, token, unpaid.id);
    expect(refused.status).toBe(409);
    expect(await json(refused)).toMatchObject({ error: 'refund_not_allowed' });
  });

  it('REFUND_POLICY=auto refunds in full at once within the window', async () => {
    const stack = await startStack({
      label: 'refund-auto',
      env: { REFUND_POLICY: 'auto', REFUND_WINDOW_DAYS: '7' },
    });
    stacks.push(stack);
    const { token, order } = await paidOrderOn(stack, 'asks-auto');
    const asked = await json<OrderResponse>(await askRefund(stack, token, order.id));
    expect(asked.order.refundRequest).toMatchObject({ state: 'APPROVED' });
    expect(asked.order.refunds?.[0]).toMatchObject({ refundFen: order.totalFen });
    await waitForStatus(stack.server, order.id, 'REFUNDED');
  });
});

describe('refunds without their notifications', () => {
  it('a PROCESSING refund whose notifications are all lost is settled by the worker’s refund query', async () => {
    const stack = await startStack({ label: 'refund-query', env: { ADMIN_TOKENS: `staff:${TOKEN}` } });
    stacks.push(stack);
    const token = await signIn(stack, 'refund-query-buyer');
    const { order, payment } = await createdOrder(stack.server, token);
    expect(await payInSandbox(stack, payment)).toBe('requestPayment:ok');
    await waitForStatus(stack.server, order.id, 'PAID');
    await setFaults(stack, { mch_id: stack.server.config.wechatpay.mchId }, { dropNotifications: true });
    const res = await fetch(
      `${stack.server.url}/admin/orders/${order.id}/refunds`,
      post({ reason: 'lost' }, bearer(TOKEN)),
    );
    const { refund } = await json<RefundResponse>(res);
    await waitFor(
      async () => (await stack.server.store.refunds.getRefund(refund.outRefundNo))?.state === 'PROCESSING',
      'the refund to be accepted by WeChat',
    );
    // No notification will come: the refund queue asks WeChat (ORDER_QUERY_DELAY_MS after sending).
    await stack.advanceClock(61_000);
    await waitForStatus(stack.server, order.id, 'REFUNDED');
    const events = (await stack.server.store.events.readEvents()).filter(
      (e) => e.type === 'refund.succeeded',
    );
    expect(events.filter((e) => e.orderId === order.id).map((e) => e.source)).toEqual(['query']);
  });

  it('v3: a refund notification with a tampered ciphertext is refused and changes nothing', async () => {
    const stack = await startStack({
      label: 'refund-v3-tamper',
      env: { WECHATPAY_API_VERSION: 'v3', ADMIN_TOKENS: `staff:${TOKEN}`, WORKER_ENABLED: 'false' },
    });
    stacks.push(stack);
    const token = await signIn(stack, 'refund-tamper-buyer');
    const { order, payment } = await createdOrder(stack.server, token);
    expect(await payInSandbox(stack, payment)).toBe('requestPayment:ok');
    await waitForStatus(stack.server, order.id, 'PAID');
    const res = await fetch(
      `${stack.server.url}/admin/orders/${order.id}/refunds`,
      post({ reason: 'x' }, bearer(TOKEN)),
    );
    const { refund } = await json<RefundResponse>(res);
    const resource = encryptV3Resource(
      JSON.stringify({
        mchid: stack.server.config.wechatpay.mchId,
        out_trade_no: order.outTradeNo,
        out_refund_no: refund.outRefundNo,
        refund_id: '50300000000000000000000000001',
        refund_status: 'SUCCESS',
        success_time: new Date().toISOString(),
        amount: {
          total: order.totalFen,
          refund: order.totalFen,
          payer_total: order.totalFen,
          payer_refund: order.totalFen,
        },
      }),
      SANDBOX_DEMO_V3.apiV3Key,
      { associatedData: 'refund' },
    );
    const bytes = Buffer.from(resource.ciphertext, 'base64');
    bytes[0] = (bytes[0] ?? 0) ^ 1;
    resource.ciphertext = bytes.toString('base64');
    const body = JSON.stringify({
      id: 'tampered',
      create_time: new Date().toISOString(),
      resource_type: 'encrypt-resource',
      event_type: 'REFUND.SUCCESS',
      summary: '退款成功',
      resource,
    });
    const headers = signResponseV3(body, {
      privateKey: SANDBOX_DEMO_V3.platformPrivateKey,
      serial: SANDBOX_DEMO_V3.platformPublicKeyId,
    });
    const reply = await fetch(`${stack.server.url}/wechatpay/v3/refund-notify`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body,
    });
    expect(reply.status).toBe(400);
    expect(await stack.server.store.refunds.getRefund(refund.outRefundNo)).toMatchObject({
      state: 'PENDING',
    });
    expect((await stack.server.store.orders.getOrder(order.id))?.status).toBe('PAID');
  });
});

/**
 * Fault: staff on two server processes refund the same order at once, in parts that together exceed it. The
 * store's rule holds across processes: the refunds accepted never add up to more than the payment, each reaches
 * WeChat once under its own out_refund_no, and the order ends REFUNDED with one event per refund.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RefundResponse } from '@mp-pay/shared/api';
import { waitFor } from '../helpers/redis.ts';
import {
  bearer,
  createdOrder,
  json,
  payInSandbox,
  post,
  sandboxOrder,
  signIn,
  startStack,
  waitForStatus,
  type Stack,
} from '../helpers/stack.ts';
import { printCounts } from './support/report.ts';

const TOKEN = 'race-staff-0123456789abcdefghijklmnopqrstuvw';
let stack: Stack;
beforeAll(async () => {
  stack = await startStack({
    label: 'fault-refund-race',
    servers: 2,
    env: { ADMIN_TOKENS: `staff:${TOKEN}`, REFUND_POLICY: 'review' },
  });
});
afterAll(async () => {
  await stack?.close();
});

describe('fault: concurrent partial refunds from two processes', () => {
  it('never refund more than the payment, and each accepted refund reaches WeChat once', async () => {
    const token = await signIn(stack, 'race-buyer');
    const { order, payment } = await createdOrder(stack.server, token);
    expect(await payInSandbox(stack, payment)).toBe('requestPayment:ok');
    await waitForStatus(stack.server, order.id, 'PAID');

    const part = Math.ceil(order.totalFen / 5); // 10 requests of a fifth: at most 5 can fit
    const replies = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        fetch(
          `${(stack.servers[i % 2] ?? stack.server).url}/admin/orders/${order.id}/refunds`,
          post({ refundFen: part, reason: `part ${i}` }, bearer(TOKEN)),
        ),
      ),
    );
    const accepted: RefundResponse[] = [];
    for (const reply of replies) {
      if (reply.status === 202) accepted.push(await json<RefundResponse>(reply));
      else expect(await json(reply)).toMatchObject({ error: 'refund_too_much' });
    }
    const sum = accepted.reduce((total, r) => total + r.refund.refundFen, 0);
    expect(sum).toBeLessThanOrEqual(order.totalFen);
    expect(accepted.length).toBe(Math.floor(order.totalFen / part));

    // They go a minute apart (WeChat refuses faster): a minute passes on both clocks, one refund settles.
    for (const { refund } of [...accepted].sort((a, b) => a.refund.dueAt.localeCompare(b.refund.dueAt))) {
      await waitFor(
        async () => (await stack.server.store.refunds.getRefund(refund.outRefundNo))?.state === 'SUCCESS',
        `refund ${refund.outRefundNo} to succeed`,
        15_000,
      );
      await stack.advanceClock(66_000);
    }
    const atWechat = (await sandboxOrder(stack, order.outTradeNo)) as {
      refunds?: { out_refund_no: string }[];
    };
    const numbers = (atWechat.refunds ?? []).map((r) => r.out_refund_no).sort();
    expect(numbers).toEqual(accepted.map((r) => r.refund.outRefundNo).sort());
    const events = (await stack.server.store.events.readEvents()).filter(
      (e) => e.orderId === order.id && e.type === 'refund.succeeded',
    );
    expect(events).toHaveLength(accepted.length);
    printCounts('refund race, two processes', {
      requests: replies.length,
      faultsInjected: 1,
      stateChangesExpected: accepted.length,
      stateChangesObserved: events.length,
      refundedFen: sum,
      paidFen: order.totalFen,
    });
  });
});

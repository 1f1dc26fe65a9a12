/**
 * POST /wechatpay/notify: exactly-once under duplicates and concurrency (one process and two sharing Redis),
 * and every forged or mismatched notification changes nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAIL_REPLY, notificationXml, postNotification, SUCCESS_REPLY } from './helpers/notification.ts';
import { waitFor } from './helpers/redis.ts';
import {
  createdOrder,
  paidEvents,
  payInSandbox,
  sandboxOrder,
  setFaults,
  signIn,
  startStack,
  storedStatus,
  waitForStatus,
  type Stack,
} from './helpers/stack.ts';

let stack: Stack;
let key: string;
beforeAll(async () => {
  // Two server processes on one Redis prefix, as behind a load balancer.
  stack = await startStack({ label: 'notify', servers: 2 });
  key = stack.server.config.wechatpay.key;
});
afterAll(async () => {
  await stack?.close();
});

async function pendingOrder(user: string) {
  const token = await signIn(stack, user);
  return { token, ...(await createdOrder(stack.server, token)) };
}

describe('payment notifications', () => {
  it('duplicates and concurrent copies from the sandbox are all acknowledged, with one order.paid', async () => {
    const { order, payment } = await pendingOrder('n-dup');
    await setFaults(
      stack,
      { out_trade_no: order.outTradeNo },
      { duplicateNotifications: 2, concurrentNotifications: 5 },
    );
    expect(await payInSandbox(stack, payment)).toBe('requestPayment:ok');
    await waitForStatus(stack.server, order.id, 'PAID');
    const attempts = await waitFor(async () => {
      const seen = (await sandboxOrder(stack, order.outTradeNo)).notifications;
      return seen.filter((n) => n.kind === 'duplicate').length >= 2 ? seen : undefined;
    }, 'the duplicate notifications');
    expect(attempts.length).toBeGreaterThanOrEqual(7);
    expect(attempts.every((n) => n.outcome === 'acknowledged')).toBe(true);
    expect(await paidEvents(stack.server, order.id)).toHaveLength(1);
  });

  it('50 concurrent identical notifications make exactly one transition and one order.paid', async () => {
    const { order } = await pendingOrder('n-50');
    const xml = notificationXml(
      stack.server,
      { outTradeNo: order.outTradeNo, totalFee: order.totalFen },
      key,
    );
    const replies = await Promise.all(Array.from({ length: 50 }, () => postNotification(stack.server, xml)));
    expect(replies.every((r) => r.status === 200 && SUCCESS_REPLY.test(r.body))).toBe(true);
    expect(await storedStatus(stack.server, order.id)).toBe('PAID');
    expect(await paidEvents(stack.server, order.id)).toHaveLength(1);
  });

  it('the same across two server instances sharing Redis', async () => {
    const { order } = await pendingOrder('n-two');
    const [a, b] = stack.servers as [typeof stack.server, typeof stack.server];
    const xml = notificationXml(
      a,
      { outTradeNo: order.outTradeNo, totalFee: order.totalFen },
      key,
      'HMAC-SHA256',
    );
    const replies = await Promise.all(
      Array.from({ length: 50 }, (_, i) => postNotification(i % 2 === 0 ? a : b, xml)),
    );
    expect(replies.every((r) => r.status === 200 && SUCCESS_REPLY.test(r.body))).toBe(true);
    expect(await paidEvents(a, order.id)).toHaveLength(1);
    expect((await b.store.orders.getOrder(order.id))?.status).toBe('PAID');
  });

  it('a forged signature changes nothing (handcrafted, and the sandbox’s forged copy before the real one)', async () => {
    const { order, payment } = await pendingOrder('n-forged');
    const forged = notificationXml(
      stack.server,
      { outTradeNo: order.outTradeNo, totalFee: order.totalFen },
      'x'.repeat(32),
    );
    const reply = await postNotification(stack.server, forged);
    expect(reply.status).toBe(400);
    expect(reply.body).toMatch(FAIL_REPLY);
    expect(await storedStatus(stack.server, order.id)).toBe('PENDING');
    expect(await paidEvents(stack.server, order.id)).toHaveLength(0);

    await setFaults(stack, { out_trade_no: order.outTradeNo }, { forgeNotification: 'bad-sign' });
    expect(await payInSandbox(stack, payment)).toBe('requestPayment:ok');
    await waitForStatus(stack.server, order.id, 'PAID');
    const attempts = (await sandboxOrder(stack, order.outTradeNo)).notifications;
    expect(attempts.find((n) => n.kind === 'forged-bad-sign')).toMatchObject({
      outcome: 'rejected',
      httpStatus: 400,
    });
    expect(await paidEvents(stack.server, order.id)).toHaveLength(1);
  });

  it('a validly signed notification with the wrong amount is never paid, and answered FAIL', async () => {
    const { order, payment } = await pendingOrder('n-amount');
    const xml = notificationXml(stack.server, { outTradeNo: order.outTradeNo, totalFee: 1 }, key);
    const reply = await postNotification(stack.server, xml);
    expect(reply).toMatchObject({ status: 400 });
    expect(reply.body).toMatch(/amount mismatch/);
    expect(await storedStatus(stack.server, order.id)).toBe('PENDING');

    await setFaults(stack, { out_trade_no: order.outTradeNo }, { forgeNotification: 'wrong-amount' });
    expect(await payInSandbox(stack, payment)).toBe('requestPayment:ok');
    await waitForStatus(stack.server, order.id, 'PAID');
    const attempts = (await sandboxOrder(stack, order.outTradeNo)).notifications;
    expect(attempts.find((n) => n.kind === 'forged-wrong-amount')?.outcome).toBe('rejected');
    const stored = await stack.server.store.orders.getOrder(order.id);
    expect(stored?.totalFen).toBe(order.totalFen);
    expect(await paidEvents(stack.server, order.id)).toHaveLength(1);
  });

  it('an unknown order and another merchant’s mch_id or appid change nothing', async () => {
    const unknown = await postNotification(
      stack.server,
      notificationXml(stack.server, { outTradeNo: 'NoSuchOrder000000000000000000001', totalFee: 100 }, key),
    );
    expect(unknown.status).toBe(404);
    expect(unknown.body).toMatch(FAIL_REPLY);
    expect(await stack.server.store.orders.getOrder('NoSuchOrder000000000000000000001')).toBeUndefined();

    const { order } = await pendingOrder('n-merchant');
    for (const other of [{ mchId: '1900000999' }, { appId: 'wx0000000000000000' }]) {
      const xml = notificationXml(
        stack.server,
        { outTradeNo: order.outTradeNo, totalFee: order.totalFen, ...other },
        key,
      );
      const reply = await postNotification(stack.server, xml);
      expect(reply.status).toBe(400);
      expect(reply.body).toMatch(/appid or mch_id mismatch/);
    }
    expect(await storedStatus(stack.server, order.id)).toBe('PENDING');
    expect(await paidEvents(stack.server, order.id)).toHaveLength(0);
  });

  it('verifies over the raw map: unmodelled coupon fields are signed too', async () => {
    const { order } = await pendingOrder('n-coupon');
    const xml = notificationXml(
      stack.server,
      {
        outTradeNo: order.outTradeNo,
        totalFee: order.totalFen,
        extra: {
          coupon_fee: '100',
          coupon_count: '1',
          coupon_type_0: 'CASH',
          coupon_id_0: '10000',
          coupon_fee_0: '100',
        },
      },
      key,
    );
    expect((await postNotification(stack.server, xml)).status).toBe(200);
    expect(await storedStatus(stack.server, order.id)).toBe('PAID');
    // Tampering with one unmodelled field breaks the signature.
    const { order: second } = await pendingOrder('n-coupon2');
    const tampered = notificationXml(
      stack.server,
      { outTradeNo: second.outTradeNo, totalFee: second.totalFen, extra: { coupon_fee_0: '100' } },
      key,
    ).replace('<coupon_fee_0>100</coupon_fee_0>', '<coupon_fee_0>999</coupon_fee_0>');
    expect((await postNotification(stack.server, tampered)).status).toBe(400);
    expect(await storedStatus(stack.server, second.id)).toBe('PENDING');
  });

  it('refuses hostile XML and oversized bodies with FAIL', async () => {
    const xxe =
      '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY x SYSTEM "file:///etc/passwd">]><xml><return_code>&x;</return_code></xml>';
    const hostile = await postNotification(stack.server, xxe);
    expect(hostile.status).toBe(400);
    expect(hostile.body).toMatch(FAIL_REPLY);
    const huge = await postNotification(stack.server, `<xml><a>${'x'.repeat(70 * 1024)}</a></xml>`);
    expect(huge.status).toBe(413);
    expect(huge.body).toMatch(FAIL_REPLY);
    const failed = notificationXml(
      stack.server,
      { outTradeNo: 'AnyOrder1', totalFee: 1, extra: { result_code: 'FAIL' } },
      key,
    );
    expect((await postNotification(stack.server, failed)).body).toMatch(SUCCESS_REPLY);
  });
});

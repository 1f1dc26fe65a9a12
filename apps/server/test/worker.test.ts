/**
 * Background work against the sandbox: a lost notification is caught by orderquery, an expired order is
 * closed at WeChat and CLOSED here, and a last-moment payment found by closeorder (ORDERPAID) ends PAID.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { redisKeys } from '../src/store/redis/keys.ts';
import { TEST_REDIS_URL, waitFor } from './helpers/redis.ts';
import {
  bearer,
  createdOrder,
  getOrder,
  paidEvents,
  payInSandbox,
  placeOrder,
  sandboxOrder,
  setFaults,
  signIn,
  startStack,
  storedStatus,
  waitForStatus,
  type Stack,
} from './helpers/stack.ts';

describe('background worker', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ label: 'worker', servers: 2, env: { ORDER_QUERY_DELAY_MS: '300' } });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('a dropped notification: the background orderquery makes the order PAID, once', async () => {
    const token = await signIn(stack, 'w-dropped');
    const { order, payment } = await createdOrder(stack.server, token);
    await setFaults(stack, { out_trade_no: order.outTradeNo }, { dropNotifications: true });
    expect(await payInSandbox(stack, payment)).toBe('requestPayment:ok');
    await waitForStatus(stack.server, order.id, 'PAID');
    const stored = await stack.server.store.orders.getOrder(order.id);
    expect(stored).toMatchObject({ paidVia: 'query', transactionId: expect.any(String) });
    const notifications = (await sandboxOrder(stack, order.outTradeNo)).notifications;
    expect(notifications.every((n) => n.outcome === 'dropped')).toBe(true);
    expect(await paidEvents(stack.server, order.id)).toHaveLength(1);
  });

  it('keeps querying an unpaid order on a backoff without changing it', async () => {
    const token = await signIn(stack, 'w-unpaid');
    const { order } = await createdOrder(stack.server, token);
    // Each claim of the order by a worker is one orderquery (NOTPAY) followed by a reschedule on the backoff.
    const redis = new Redis(TEST_REDIS_URL);
    try {
      await waitFor(
        async () =>
          Number(await redis.hget(redisKeys(stack.prefix).claimsOf('query', order.id), order.id)) >= 3,
        'three orderquery rounds',
      );
      const nextDue = Number(await redis.zscore(redisKeys(stack.prefix).dueOf('query', order.id), order.id));
      expect(nextDue).toBeGreaterThan(Date.now());
    } finally {
      redis.disconnect();
    }
    expect(await storedStatus(stack.server, order.id)).toBe('PENDING');
  });

  it('expiry: past time_expire the order is closed at WeChat, then CLOSED with one order.closed', async () => {
    const token = await signIn(stack, 'w-expired');
    const { order, payment } = await createdOrder(stack.server, token);
    await stack.advanceClock(31 * 60_000);
    await waitForStatus(stack.server, order.id, 'CLOSED');
    expect(await sandboxOrder(stack, order.outTradeNo)).toMatchObject({
      state: 'CLOSED',
      closed_by: 'merchant',
    });
    expect((await getOrder(stack.server, token, order.id)).order?.status).toBe('CLOSED');
    expect(await payInSandbox(stack, payment)).toMatch(/^requestPayment:fail/);
    const events = (await stack.server.store.events.readEvents()).filter((e) => e.orderId === order.id);
    expect(events.map((e) => [e.type, e.source])).toEqual([['order.closed', 'expired']]);
  });

  it('a payment at the last moment: closeorder answers ORDERPAID and the order ends PAID', async () => {
    const token = await signIn(stack, 'w-late');
    const { order, payment } = await createdOrder(stack.server, token);
    await setFaults(stack, { out_trade_no: order.outTradeNo }, { dropNotifications: true });
    // Make the first orderquery far away, so only the expiry path can find the payment.
    const redis = new Redis(TEST_REDIS_URL);
    await redis.zadd(
      redisKeys(stack.prefix).dueOf('query', order.id),
      'XX',
      Date.now() + 3_600_000,
      order.id,
    );
    redis.disconnect();
    expect(await payInSandbox(stack, payment)).toBe('requestPayment:ok');
    await stack.advanceClock(31 * 60_000);
    await waitForStatus(stack.server, order.id, 'PAID');
    expect((await stack.server.store.orders.getOrder(order.id))?.paidVia).toBe('close');
    const events = (await stack.server.store.events.readEvents()).filter((e) => e.orderId === order.id);
    expect(events.map((e) => [e.type, e.source])).toEqual([['order.paid', 'close']]);
  });
});

describe('GET /api/orders/:id on a stale PENDING order', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({
      label: 'refresh',
      env: { WORKER_ENABLED: 'false', ORDER_REFRESH_AFTER_MS: '5000' },
    });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('asks WeChat first and applies the answer through the same transition', async () => {
    const token = await signIn(stack, 'r-buyer');
    const { order, payment } = await createdOrder(stack.server, token);
    await setFaults(stack, { out_trade_no: order.outTradeNo }, { dropNotifications: true });
    expect(await payInSandbox(stack, payment)).toBe('requestPayment:ok');
    // Young order: the stored state is answered as is.
    expect((await getOrder(stack.server, token, order.id)).order?.status).toBe('PENDING');
    await stack.advanceClock(6000);
    expect((await getOrder(stack.server, token, order.id)).order?.status).toBe('PAID');
    expect(await paidEvents(stack.server, order.id)).toHaveLength(1);
  });

  it('past time_expire, before any expiry job ran, no fresh payment parameters are issued (409 order_closed)', async () => {
    const token = await signIn(stack, 'r-late');
    const first = await placeOrder(stack.server, token, undefined, 'r-late-checkout');
    expect(first.status).toBe(201);
    await stack.advanceClock(31 * 60_000); // the worker is off: the order is still PENDING here
    expect(await storedStatus(stack.server, first.body.order.id)).toBe('PENDING');
    const again = await fetch(`${stack.server.url}/api/orders/${first.body.order.id}/payment`, {
      method: 'POST',
      headers: bearer(token),
    });
    expect(again.status).toBe(409);
    expect(await again.json()).toMatchObject({ error: 'order_closed' });
    const replay = await placeOrder(stack.server, token, undefined, 'r-late-checkout');
    expect(replay).toMatchObject({ status: 409, body: { error: 'order_closed' } });
  });
});

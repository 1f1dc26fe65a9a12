/**
 * The whole buyer journey against the real sandbox over HTTP and a real server on Redis: sign-in, catalogue,
 * order with the JSAPI unified order, paying through the sandbox payer, the notification, PAID, exactly one
 * order.paid in the Redis stream. Plus idempotency, ownership, re-payment, close and listing.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SANDBOX_DEMO_SUBSCRIBE_TEMPLATE } from '@mp-pay/shared/login';
import { verifyV2 } from '@mp-pay/shared/wechatpay';
import type {
  ClientConfigResponse,
  OrderListResponse,
  PaymentLaunch,
  ProductListResponse,
} from '@mp-pay/shared/api';
import { redisKeys } from '../src/store/redis/keys.ts';
import { TEST_REDIS_URL, waitFor } from './helpers/redis.ts';
import {
  bearer,
  createdOrder,
  getOrder,
  json,
  paidEvents,
  payInSandbox,
  placeOrder,
  post,
  sandboxOrder,
  setFaults,
  signIn,
  startStack,
  waitForStatus,
  type Stack,
} from './helpers/stack.ts';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ label: 'flow' });
});
afterAll(async () => {
  await stack?.close();
});

describe('the payment flow', () => {
  it('tells the mini-program it runs against the sandbox', async () => {
    const config = await json<ClientConfigResponse>(await fetch(`${stack.server.url}/api/config`));
    expect(config).toEqual({
      mode: 'sandbox',
      sandboxUrl: stack.sandbox.url,
      appId: stack.server.config.wechat.appId,
      // Sandbox mode serves every channel with the sandbox's demo official account and app.
      channels: ['miniprogram', 'official_account', 'app', 'h5', 'native'],
      // And the sandbox's demo "payment succeeded" template (docs/subscribe-messages.md).
      subscribeTemplates: { paymentSucceeded: SANDBOX_DEMO_SUBSCRIBE_TEMPLATE.id },
    });
    const catalog = await json<ProductListResponse>(await fetch(`${stack.server.url}/api/products`));
    expect(catalog.products.find((p) => p.id === 'green-tea')?.priceFen).toBe(3800);
  });

  it('login → order → pay → notification → PAID, with exactly one order.paid in the Redis stream', async () => {
    const token = await signIn(stack, 'alice');
    const { order, payment } = await createdOrder(stack.server, token, [
      { productId: 'green-tea', quantity: 2 },
      { productId: 'tea-cup', quantity: 1 },
    ]);
    expect(order).toMatchObject({
      status: 'PENDING',
      totalFen: 2 * 3800 + 2500,
      outTradeNo: `${order.id}01`,
    });
    expect(order.items.map((i) => i.subtotalFen)).toEqual([7600, 2500]);
    const lifetime = Date.parse(order.expiresAt) - Date.parse(order.createdAt);
    expect(lifetime).toBeGreaterThanOrEqual(1800 * 1000);
    expect(lifetime).toBeLessThan(1801 * 1000); // rounded up to the second, like time_expire
    // A jsapi launch: the five wx.requestPayment fields, re-signed with the merchant key over appId too.
    expect(Object.keys(payment).sort()).toEqual([
      'appId',
      'kind',
      'nonceStr',
      'package',
      'paySign',
      'signType',
      'timeStamp',
    ]);
    expect(payment).toMatchObject({ kind: 'jsapi', appId: stack.server.config.wechat.appId });
    expect(payment.package).toMatch(/^prepay_id=.+/);
    const key = stack.server.config.wechatpay.key;
    const { paySign, kind: _kind, ...signed } = payment;
    expect(verifyV2({ ...signed, sign: paySign }, key)).toBe(true);

    const atWechat = await sandboxOrder(stack, order.outTradeNo);
    expect(atWechat).toMatchObject({
      state: 'NOTPAY',
      total_fee: 10100,
      notify_url: `${stack.server.url}/wechatpay/notify`,
    });
    expect(atWechat.openid).toBeTruthy();

    expect(await payInSandbox(stack, payment)).toBe('requestPayment:ok');
    await waitForStatus(stack.server, order.id, 'PAID');
    const seen = await getOrder(stack.server, token, order.id);
    expect(seen.order).toMatchObject({ status: 'PAID', transactionId: expect.stringMatching(/^\d+/) });
    expect(seen.order?.paidAt).toBeTruthy();

    // The stream downstream shipping consumes, read straight from Redis.
    const redis = new Redis(TEST_REDIS_URL);
    try {
      const entries = await redis.xrange(redisKeys(stack.prefix).eventsOf(order.id), '-', '+');
      const mine = entries.filter(([, f]) => f.includes(order.id));
      expect(mine).toHaveLength(1);
      const fields = Object.fromEntries(
        (mine[0]?.[1] ?? []).flatMap((v, i, a) => (i % 2 === 0 ? [[v, a[i + 1]]] : [])),
      );
      expect(fields).toMatchObject({
        type: 'order.paid',
        orderId: order.id,
        outTradeNo: order.outTradeNo,
        transactionId: seen.order?.transactionId,
        totalFen: '10100',
        source: 'notify',
      });
    } finally {
      redis.disconnect();
    }
    const acknowledged = (await sandboxOrder(stack, order.outTradeNo)).notifications.filter(
      (n) => n.outcome === 'acknowledged',
    );
    expect(acknowledged.length).toBeGreaterThanOrEqual(1);
  });

  it('a cancelled payment leaves the order PENDING and the buyer can pay it later with fresh parameters', async () => {
    const token = await signIn(stack, 'bob');
    const { order, payment } = await createdOrder(stack.server, token);
    expect(await payInSandbox(stack, payment, 'cancel')).toBe('requestPayment:fail cancel');
    expect((await getOrder(stack.server, token, order.id)).order?.status).toBe('PENDING');

    const again = await fetch(`${stack.server.url}/api/orders/${order.id}/payment`, {
      method: 'POST',
      headers: bearer(token),
    });
    expect(again.status).toBe(200);
    const fresh = await json<{ payment: typeof payment }>(again);
    // Same trade, same prepay_id, freshly signed.
    expect(fresh.payment.package).toBe(payment.package);
    expect(fresh.payment.nonceStr).not.toBe(payment.nonceStr);
    expect(fresh.payment.paySign).not.toBe(payment.paySign);
    expect(await payInSandbox(stack, fresh.payment)).toBe('requestPayment:ok');
    await waitForStatus(stack.server, order.id, 'PAID');

    const paidAgain = await fetch(`${stack.server.url}/api/orders/${order.id}/payment`, {
      method: 'POST',
      headers: bearer(token),
    });
    expect(paidAgain.status).toBe(409);
    expect(await json(paidAgain)).toMatchObject({ error: 'order_already_paid' });
    expect(await paidEvents(stack.server, order.id)).toHaveLength(1);
  });

  it('fresh payment parameters still work in the order’s last minutes', async () => {
    const token = await signIn(stack, 'judy');
    const { order } = await createdOrder(stack.server, token);
    await stack.advanceClock(27 * 60_000); // 3 of 30 minutes left: WeChat would refuse to re-place the order
    const res = await fetch(`${stack.server.url}/api/orders/${order.id}/payment`, {
      method: 'POST',
      headers: bearer(token),
    });
    expect(res.status).toBe(200);
    const { payment } = await json<{ payment: PaymentLaunch }>(res);
    expect(await payInSandbox(stack, payment)).toBe('requestPayment:ok');
    await waitForStatus(stack.server, order.id, 'PAID');
  });

  it('creates an order once per Idempotency-Key', async () => {
    const token = await signIn(stack, 'carol');
    const first = await placeOrder(
      stack.server,
      token,
      [{ productId: 'oolong', quantity: 1 }],
      'checkout-42',
    );
    const retry = await placeOrder(
      stack.server,
      token,
      [{ productId: 'oolong', quantity: 1 }],
      'checkout-42',
    );
    expect(first.status).toBe(201);
    expect(retry.status).toBe(201);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(retry.body.order.id).toBe(first.body.order.id);
    // The retry's parameters pay the same trade.
    expect(await payInSandbox(stack, retry.body.payment)).toBe('requestPayment:ok');
    await waitForStatus(stack.server, first.body.order.id, 'PAID');

    const changed = await placeOrder(
      stack.server,
      token,
      [{ productId: 'oolong', quantity: 2 }],
      'checkout-42',
    );
    expect(changed.status).toBe(409);
    expect(changed.body.error).toBe('idempotency_conflict');
    const list = await json<OrderListResponse>(
      await fetch(`${stack.server.url}/api/orders`, { headers: bearer(token) }),
    );
    expect(list.orders.map((o) => o.id)).toEqual([first.body.order.id]);
  });

  it('WeChat Pay down at checkout: 503 payment_unavailable, and a retry with the same key completes that order', async () => {
    const token = await signIn(stack, 'ivan');
    const mch = { mch_id: stack.server.config.wechatpay.mchId };
    await setFaults(stack, mch, { systemErrorRate: 1 });
    let failed;
    try {
      failed = await placeOrder(stack.server, token, [{ productId: 'sample', quantity: 1 }], 'retry-me');
    } finally {
      await setFaults(stack, mch, {});
    }
    expect(failed).toMatchObject({ status: 503, body: { error: 'payment_unavailable' } });
    const retried = await placeOrder(stack.server, token, [{ productId: 'sample', quantity: 1 }], 'retry-me');
    expect(retried.status).toBe(201);
    expect(retried.headers.get('idempotent-replayed')).toBe('true');
    expect(await payInSandbox(stack, retried.body.payment)).toBe('requestPayment:ok');
    await waitForStatus(stack.server, retried.body.order.id, 'PAID');
    const list = await json<OrderListResponse>(
      await fetch(`${stack.server.url}/api/orders`, { headers: bearer(token) }),
    );
    expect(list.orders).toHaveLength(1);
  });

  it('an order never placed at WeChat cannot be retried in its last 5 minutes: 409 order_closed', async () => {
    const token = await signIn(stack, 'kim');
    const mch = { mch_id: stack.server.config.wechatpay.mchId };
    await setFaults(stack, mch, { systemErrorRate: 1 });
    try {
      const failed = await placeOrder(
        stack.server,
        token,
        [{ productId: 'sample', quantity: 1 }],
        'late-retry',
      );
      expect(failed.status).toBe(503);
    } finally {
      await setFaults(stack, mch, {});
    }
    await stack.advanceClock(26 * 60_000);
    const late = await placeOrder(stack.server, token, [{ productId: 'sample', quantity: 1 }], 'late-retry');
    expect(late).toMatchObject({ status: 409, body: { error: 'order_closed' } });
  });

  it("hides someone else's order behind 404", async () => {
    const owner = await signIn(stack, 'dave');
    const other = await signIn(stack, 'eve');
    const { order } = await createdOrder(stack.server, owner);
    expect((await getOrder(stack.server, owner, order.id)).status).toBe(200);
    const peek = await getOrder(stack.server, other, order.id);
    expect(peek).toMatchObject({ status: 404, error: 'order_not_found' });
    for (const action of ['payment', 'close']) {
      const res = await fetch(`${stack.server.url}/api/orders/${order.id}/${action}`, {
        method: 'POST',
        headers: bearer(other),
      });
      expect(res.status).toBe(404);
    }
    expect((await getOrder(stack.server, owner, '20260101000000NoSuchOrder00001')).error).toBe(
      'order_not_found',
    );
  });

  it('lists the caller’s orders newest first, page by page', async () => {
    const token = await signIn(stack, 'frank');
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await createdOrder(stack.server, token)).order.id);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const url: string = `${stack.server.url}/api/orders?limit=2${cursor ? `&cursor=${cursor}` : ''}`;
      const page: OrderListResponse = await json<OrderListResponse>(
        await fetch(url, { headers: bearer(token) }),
      );
      expect(page.orders.length).toBeLessThanOrEqual(2);
      seen.push(...page.orders.map((o) => o.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toEqual([...ids].reverse());
    const bad = await fetch(`${stack.server.url}/api/orders?cursor=nonsense`, { headers: bearer(token) });
    expect(bad.status).toBe(400);
  });

  it('cancels a pending order at once; WeChat’s trade is closed once WeChat allows it (5 minutes)', async () => {
    const token = await signIn(stack, 'grace');
    const { order, payment } = await createdOrder(stack.server, token);
    const close = () =>
      fetch(`${stack.server.url}/api/orders/${order.id}/close`, { method: 'POST', headers: bearer(token) });
    const early = await close();
    expect(early.status).toBe(200);
    expect((await json<{ order: { status: string } }>(early)).order.status).toBe('CLOSED');
    // WeChat refused the early closeorder: its trade is still open, and the order no longer offers it.
    expect(await sandboxOrder(stack, order.outTradeNo)).toMatchObject({ state: 'NOTPAY' });
    const again = await fetch(`${stack.server.url}/api/orders/${order.id}/payment`, {
      method: 'POST',
      headers: bearer(token),
    });
    expect(again.status).toBe(409);
    expect(await json(again)).toMatchObject({ error: 'order_closed' });

    // Past WeChat's 5 minutes the close queue closes the trade there; the buyer's old parameters stop working.
    await stack.advanceClock(6 * 60_000);
    await waitFor(
      async () => (await sandboxOrder(stack, order.outTradeNo))?.state === 'CLOSED',
      'the trade closed at the sandbox',
    );
    expect(await sandboxOrder(stack, order.outTradeNo)).toMatchObject({ closed_by: 'merchant' });
    expect(await payInSandbox(stack, payment)).toMatch(/^requestPayment:fail/);
    const events = (await stack.server.store.events.readEvents()).filter((e) => e.orderId === order.id);
    expect(events.map((e) => e.type)).toEqual(['order.closed']);
    expect((await close()).status).toBe(200); // closing a closed order is a no-op
    expect(await stack.server.store.orders.getOrder(order.id)).toMatchObject({
      status: 'CLOSED',
      closeReason: 'buyer',
    });

    const paid = await createdOrder(stack.server, token);
    expect(await payInSandbox(stack, paid.payment)).toBe('requestPayment:ok');
    await waitForStatus(stack.server, paid.order.id, 'PAID');
    const refused = await fetch(`${stack.server.url}/api/orders/${paid.order.id}/close`, {
      method: 'POST',
      headers: bearer(token),
    });
    expect(refused.status).toBe(409);
    expect(await json(refused)).toMatchObject({ error: 'order_already_paid' });
  });

  it('a buyer who pays an order they had just cancelled gets it PAID (WeChat is the authority on money)', async () => {
    const token = await signIn(stack, 'gustav');
    const { order, payment } = await createdOrder(stack.server, token);
    const cancelled = await fetch(`${stack.server.url}/api/orders/${order.id}/close`, {
      method: 'POST',
      headers: bearer(token),
    });
    expect((await json<{ order: { status: string } }>(cancelled)).order.status).toBe('CLOSED');
    // The cashier was already open: WeChat takes the payment before the trade could be closed there.
    expect(await payInSandbox(stack, payment)).toBe('requestPayment:ok');
    await waitForStatus(stack.server, order.id, 'PAID');
    await stack.advanceClock(6 * 60_000);
    // The close queue's closeorder now answers ORDERPAID: nothing changes twice.
    await waitFor(async () => {
      const attempt = await stack.server.store.attempts.getAttempt(order.outTradeNo);
      return attempt?.state === 'PAID';
    }, 'the attempt PAID');
    const types = (await stack.server.store.events.readEvents())
      .filter((e) => e.orderId === order.id)
      .map((e) => e.type);
    expect(types).toEqual(['order.closed', 'order.paid']);
  });

  it('filters the list by status tab on the server, page by page', async () => {
    const token = await signIn(stack, 'hannah');
    const pending: string[] = [];
    const paid: string[] = [];
    for (let i = 0; i < 3; i++) pending.push((await createdOrder(stack.server, token)).order.id);
    for (let i = 0; i < 2; i++) {
      const { order, payment } = await createdOrder(stack.server, token);
      expect(await payInSandbox(stack, payment)).toBe('requestPayment:ok');
      await waitForStatus(stack.server, order.id, 'PAID');
      paid.push(order.id);
    }
    const closedId = pending.shift() as string;
    await fetch(`${stack.server.url}/api/orders/${closedId}/close`, {
      method: 'POST',
      headers: bearer(token),
    });
    const tab = async (status: string, limit: number) => {
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const url: string = `${stack.server.url}/api/orders?status=${status}&limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`;
        const page: OrderListResponse = await json<OrderListResponse>(
          await fetch(url, { headers: bearer(token) }),
        );
        expect(page.orders.length).toBeLessThanOrEqual(limit);
        seen.push(...page.orders.map((o) => o.id));
        cursor = page.nextCursor;
      } while (cursor);
      return seen;
    };
    expect(await tab('pending', 1)).toEqual([...pending].reverse());
    expect(await tab('paid', 1)).toEqual([...paid].reverse());
    expect(await tab('closed', 5)).toEqual([closedId]);
    expect(await tab('refund', 5)).toEqual([]);
    const bad = await fetch(`${stack.server.url}/api/orders?status=PAID`, { headers: bearer(token) });
    expect(bad.status).toBe(400);
    expect(await json(bad)).toMatchObject({ error: 'invalid_request' });
  });

  it('shows one product by id for the product page; an unknown or malformed id is 404 / 400', async () => {
    const res = await fetch(`${stack.server.url}/api/products/oolong`);
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({
      product: expect.objectContaining({ id: 'oolong', priceFen: 6600 }),
    });
    const unknown = await fetch(`${stack.server.url}/api/products/caviar`);
    expect(unknown.status).toBe(404);
    expect(await json(unknown)).toMatchObject({ error: 'not_found' });
    expect((await fetch(`${stack.server.url}/api/products/..%2Fsecret`)).status).toBe(400);
  });

  it('refuses unknown products and malformed orders without creating anything', async () => {
    const token = await signIn(stack, 'heidi');
    const unknown = await placeOrder(stack.server, token, [{ productId: 'caviar', quantity: 1 }]);
    expect(unknown).toMatchObject({ status: 400, body: { error: 'product_not_found' } });
    const zero = await placeOrder(stack.server, token, [{ productId: 'oolong', quantity: 0 }]);
    expect(zero).toMatchObject({ status: 400, body: { error: 'invalid_request' } });
    const priced = await fetch(
      `${stack.server.url}/api/orders`,
      post({ items: [{ productId: 'oolong', quantity: 1 }], totalFen: 1 }, bearer(token)),
    );
    // Unknown fields (a client-sent price) are ignored: the total comes from the catalogue.
    expect((await json<{ order: { totalFen: number } }>(priced)).order.totalFen).toBe(6600);
    const list = await json<OrderListResponse>(
      await fetch(`${stack.server.url}/api/orders`, { headers: bearer(token) }),
    );
    expect(list.orders).toHaveLength(1);
  });
});

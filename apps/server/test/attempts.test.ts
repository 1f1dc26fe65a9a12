/**
 * The payment core's attempts (issue 9), end to end against the real sandbox over HTTP and real Redis:
 *  - a payment that fails at WeChat (PAYERROR) ends its attempt; paying again makes a new trade that pays;
 *  - re-issued parameters use the sign type the trade was placed with, whichever process answers;
 *  - a buyer paying two attempts is recorded once as PAID and once as payment.duplicate;
 *  - notifications for every AppID bound to the merchant are accepted, others refused.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Order, OrderListResponse } from '@mp-pay/shared/api';
import { SANDBOX_DEMO } from '@mp-pay/shared/wechatpay';
import { FAIL_REPLY, notificationXml, postNotification, SUCCESS_REPLY } from './helpers/notification.ts';
import { waitFor } from './helpers/redis.ts';
import {
  bearer,
  createdOrder,
  json,
  jsapiOf,
  paidEvents,
  payInSandbox,
  placeOrder,
  sandboxOrder,
  setFaults,
  signIn,
  startStack,
  waitForStatus,
  type JsapiOrderResponse,
  type Stack,
} from './helpers/stack.ts';

const SECOND_APPID = 'wx0b0b0b0b0b0b0b0b';

async function payAgain(stack: Stack, token: string, id: string, server = stack.server) {
  const res = await fetch(`${server.url}/api/orders/${id}/payment`, {
    method: 'POST',
    headers: bearer(token),
  });
  const body = await json<JsapiOrderResponse & { error?: string }>(res);
  return { status: res.status, body };
}

describe('payment attempts', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({
      label: 'attempts',
      servers: 2,
      env: { WECHATPAY_APPIDS: SECOND_APPID },
      // Two processes on one Redis that disagree on the sign type (a rolling deploy or a sign-type migration).
      serverEnv: [{ WECHATPAY_SIGN_TYPE: 'MD5' }, { WECHATPAY_SIGN_TYPE: 'HMAC-SHA256' }],
    });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('PAYERROR ends the attempt: paying again gets a new out_trade_no, which pays; the failed trade is closed', async () => {
    const token = await signIn(stack, 'payerror-buyer');
    const { order, payment } = await createdOrder(stack.server, token);
    expect(order.outTradeNo).toBe(`${order.id}01`);
    expect(await payInSandbox(stack, payment, 'payerror')).toMatch(/请重新下单支付/);

    const again = await payAgain(stack, token, order.id);
    expect(again.status).toBe(200);
    // A new trade: WeChat refuses the failed one's parameters for good ("支付失败，请重新下单支付").
    expect(again.body.order.outTradeNo).toBe(`${order.id}02`);
    expect(again.body.payment.package).not.toBe(payment.package);
    expect(await payInSandbox(stack, payment)).toMatch(/请重新下单支付/);
    expect(await payInSandbox(stack, again.body.payment)).toBe('requestPayment:ok');
    await waitForStatus(stack.server, order.id, 'PAID');

    const stored = await stack.server.store.orders.getOrder(order.id);
    expect(stored).toMatchObject({ paidAttempt: `${order.id}02`, attemptCount: 2 });
    const attempts = await stack.server.store.attempts.listAttempts(order.id);
    expect(attempts.map((a) => [a.outTradeNo, a.state, a.endReason])).toEqual([
      [`${order.id}01`, 'ENDED', 'failed'],
      [`${order.id}02`, 'PAID', undefined],
    ]);
    expect(await paidEvents(stack.server, order.id)).toHaveLength(1);

    // WeChat closes only trades older than 5 minutes: once that passes, the close queue closes the failed one.
    await stack.advanceClock(6 * 60_000);
    await waitFor(
      async () => (await stack.server.store.attempts.getAttempt(`${order.id}01`))?.state === 'CLOSED',
      'the failed attempt to be closed at WeChat',
    );
    expect((await sandboxOrder(stack, `${order.id}01`)).state).toBe('CLOSED');
  });

  it('re-issued parameters use the sign type the trade was placed with, whichever process answers', async () => {
    const [md5, hmac] = stack.servers as [typeof stack.server, typeof stack.server];
    const token = await signIn(stack, 'sign-type-buyer', md5);
    const { order, payment } = await createdOrder(md5, token);
    expect(payment.signType).toBe('MD5');
    // The other process signs with HMAC-SHA256 for its own new trades ...
    const other = await createdOrder(hmac, await signIn(stack, 'sign-type-other', hmac));
    expect(other.payment.signType).toBe('HMAC-SHA256');
    // ... but re-issues this trade's parameters with MD5, as WeChat requires ("需与统一下单的签名类型一致").
    const again = await payAgain(stack, token, order.id, hmac);
    expect(again.status).toBe(200);
    expect(again.body.payment).toMatchObject({ kind: 'jsapi', signType: 'MD5', package: payment.package });
    expect(again.body.payment.paySign).toMatch(/^[0-9A-F]{32}$/);
    expect(await payInSandbox(stack, again.body.payment)).toBe('requestPayment:ok');
    await waitForStatus(md5, order.id, 'PAID');
  });

  it('a buyer who pays two attempts: the order is PAID once, the second payment is emitted as payment.duplicate', async () => {
    const token = await signIn(stack, 'double-payer');
    const { order, payment } = await createdOrder(stack.server, token);
    await payInSandbox(stack, payment, 'payerror');
    const again = await payAgain(stack, token, order.id);
    expect(await payInSandbox(stack, again.body.payment)).toBe('requestPayment:ok');
    await waitForStatus(stack.server, order.id, 'PAID');

    // WeChat then reports that the first trade was paid too (the bank's late success): a real second charge.
    const late = notificationXml(
      stack.server,
      {
        outTradeNo: `${order.id}01`,
        totalFee: order.totalFen,
        transactionId: '4200009999202601019999999999',
      },
      SANDBOX_DEMO.key,
    );
    for (let i = 0; i < 3; i++) {
      const reply = await postNotification(stack.server, late);
      expect(reply.status).toBe(200);
      expect(reply.body).toMatch(SUCCESS_REPLY);
    }
    const stored = await stack.server.store.orders.getOrder(order.id);
    expect(stored).toMatchObject({ status: 'PAID', paidAttempt: `${order.id}02` });
    const events = (await stack.server.store.events.readEvents()).filter((e) => e.orderId === order.id);
    expect(events.map((e) => [e.type, e.outTradeNo])).toEqual([
      ['order.paid', `${order.id}02`],
      ['payment.duplicate', `${order.id}01`],
    ]);
    expect(events[1]).toMatchObject({
      transactionId: '4200009999202601019999999999',
      totalFen: order.totalFen,
    });
  });

  it('closing an order whose trade was never launched ends the attempt first: no launch can appear for it', async () => {
    const token = await signIn(stack, 'close-unlaunched');
    const merchant = { mch_id: stack.server.config.wechatpay.mchId };
    await setFaults(stack, merchant, { systemErrorRate: 1 });
    try {
      const failed = await placeOrder(stack.server, token);
      expect(failed).toMatchObject({ status: 503, body: { error: 'payment_unavailable' } });
    } finally {
      await setFaults(stack, merchant, {});
    }
    const list = await json<OrderListResponse>(
      await fetch(`${stack.server.url}/api/orders`, { headers: bearer(token) }),
    );
    const order = list.orders[0] as Order;
    const no = order.outTradeNo;
    expect((await stack.server.store.attempts.getAttempt(no))?.prepared).toBeUndefined();

    const closed = await fetch(`${stack.server.url}/api/orders/${order.id}/close`, {
      method: 'POST',
      headers: bearer(token),
    });
    expect(closed.status).toBe(200);
    expect((await json<{ order: Order }>(closed)).order.status).toBe('CLOSED');
    // WeChat did not know the trade, but a placing racing this close could still create it: the attempt is
    // ENDED (so such a placing cannot record a prepay_id, hence no launch), not yet CLOSED.
    expect(await stack.server.store.attempts.getAttempt(no)).toMatchObject({
      state: 'ENDED',
      endReason: 'closing',
    });
    expect(await stack.server.store.attempts.setPrepared(no, { prepayId: 'wx-late' })).toMatchObject({
      kind: 'not_open',
    });
    // Once no placing can be in flight and the trade is old enough for WeChat, the close queue settles it.
    await stack.advanceClock(6 * 60_000);
    await waitFor(
      async () => (await stack.server.store.attempts.getAttempt(no))?.state === 'CLOSED',
      'the never-launched attempt to be closed',
    );
  });

  it('accepts a notification for every AppID bound to the merchant and refuses an unbound one', async () => {
    const token = await signIn(stack, 'second-app-buyer');
    const { order } = await createdOrder(stack.server, token);
    const unbound = notificationXml(
      stack.server,
      { outTradeNo: order.outTradeNo, totalFee: order.totalFen, appId: 'wx0c0c0c0c0c0c0c0c' },
      SANDBOX_DEMO.key,
    );
    const refused = await postNotification(stack.server, unbound);
    expect(refused.status).toBe(400);
    expect(refused.body).toMatch(FAIL_REPLY);
    expect((await stack.server.store.orders.getOrder(order.id))?.status).toBe('PENDING');

    const bound = notificationXml(
      stack.server,
      { outTradeNo: order.outTradeNo, totalFee: order.totalFen, appId: SECOND_APPID },
      SANDBOX_DEMO.key,
    );
    const accepted = await postNotification(stack.server, bound);
    expect(accepted.status).toBe(200);
    expect(accepted.body).toMatch(SUCCESS_REPLY);
    expect((await stack.server.store.orders.getOrder(order.id))?.status).toBe('PAID');
    expect(jsapiOf((await createdOrder(stack.server, token)).payment).appId).toBe(
      stack.server.config.wechat.appId,
    );
  });
});

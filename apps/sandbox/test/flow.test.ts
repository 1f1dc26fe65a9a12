import { describe, expect, it } from 'vitest';
import {
  Code2SessionClient,
  createOutTradeNo,
  verifyPaymentNotification,
  WechatPayOrderPaidError,
  WechatPayV2Client,
} from '@mp-pay/shared/wechatpay';
import {
  DEMO,
  eventually,
  inspect,
  loginCode,
  pay,
  payParams,
  postJson,
  useSandboxAndReceiver,
} from './helpers.ts';

const ctx = useSandboxAndReceiver();

describe('the whole mini-program payment flow', () => {
  for (const signType of ['MD5', 'HMAC-SHA256'] as const) {
    it(`logs in, orders, pays and notifies (${signType})`, async () => {
      const { code, openid } = await loginCode(ctx.sb, `flow-${signType}`);
      const session = await new Code2SessionClient({
        appId: DEMO.appId,
        secret: DEMO.secret,
        baseUrl: ctx.sb.url,
      }).code2Session(code);
      expect(session.openid).toBe(openid);
      expect(session.sessionKey).toMatch(/^[A-Za-z0-9+/]{22}==$/);

      const client = new WechatPayV2Client({ ...DEMO, baseUrl: ctx.sb.url, signType });
      const outTradeNo = createOutTradeNo();
      const order = await client.unifiedOrder({
        body: '商品一件',
        outTradeNo,
        totalFee: 2500,
        spbillCreateIp: '203.0.113.7',
        notifyUrl: ctx.receiver.url,
        openid,
        attach: 'cart=7&x=<y>',
      });
      expect(order.prepayId).toMatch(/^wx\d{14}[0-9a-f]{22}$/);
      expect((await client.orderQuery({ outTradeNo })).tradeState).toBe('NOTPAY');

      const before = ctx.receiver.received.length;
      const paid = await pay(ctx.sb, { prepayId: order.prepayId, signType });
      expect(paid).toEqual({ status: 200, json: { errMsg: 'requestPayment:ok' } });

      const body = await eventually(
        () => ctx.receiver.received.slice(before).find((r) => r.body.includes(outTradeNo))?.body,
      );
      const notification = verifyPaymentNotification(body, DEMO);
      expect(notification).toMatchObject({
        outTradeNo,
        totalFee: 2500,
        cashFee: 2500,
        openid,
        attach: 'cart=7&x=<y>',
      });
      expect(notification.raw.sign).toHaveLength(signType === 'MD5' ? 32 : 64);
      expect(notification.raw.sign_type).toBeUndefined();

      const query = await client.orderQuery({ outTradeNo });
      expect(query).toMatchObject({
        tradeState: 'SUCCESS',
        transactionId: notification.transactionId,
        totalFee: 2500,
      });
      const byTransaction = await client.orderQuery({ transactionId: notification.transactionId });
      expect(byTransaction.outTradeNo).toBe(outTradeNo);
      await expect(client.closeOrder({ outTradeNo })).rejects.toBeInstanceOf(WechatPayOrderPaidError);

      const seen = await eventually(async () => {
        const o = await inspect(ctx.sb, outTradeNo);
        return o.notifications.length > 0 ? o : undefined;
      });
      expect(seen.state).toBe('SUCCESS');
      expect(seen.notifications[0]).toMatchObject({ attempt: 1, kind: 'genuine', outcome: 'acknowledged' });
    });
  }

  it('serves a second payment attempt for the same order as already paid', async () => {
    const { openid } = await loginCode(ctx.sb);
    const client = new WechatPayV2Client({ ...DEMO, baseUrl: ctx.sb.url });
    const outTradeNo = createOutTradeNo();
    const { prepayId } = await client.unifiedOrder({
      body: 'x',
      outTradeNo,
      totalFee: 1,
      spbillCreateIp: '127.0.0.1',
      notifyUrl: ctx.receiver.url,
      openid,
    });
    expect((await pay(ctx.sb, { prepayId, signType: 'MD5' })).status).toBe(200);
    const again = await postJson(`${ctx.sb.url}/sandbox/pay`, payParams({ prepayId, signType: 'MD5' }));
    expect(again).toEqual({ status: 409, json: { errMsg: 'requestPayment:fail 该订单已支付' } });
  });
});

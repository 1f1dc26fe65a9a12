import { describe, expect, it } from 'vitest';
import { miniProgramPayParams, signV2 } from '@mp-pay/shared/wechatpay';
import {
  callV2,
  DEMO,
  inspect,
  orderFields,
  pay,
  payParams,
  placeOrder,
  postJson,
  sandbox,
  useSandboxAndReceiver,
} from './helpers.ts';

const OTHER_APP = { appId: 'wx0000000000000003', secret: 'x'.repeat(32), mchId: DEMO.mchId, key: DEMO.key };
const ctx = useSandboxAndReceiver({ extraAccounts: [OTHER_APP] });

const payUrl = () => `${ctx.sb.url}/sandbox/pay`;
const SIGN_FAILED = 'requestPayment:fail 支付验证签名失败';

describe('POST /sandbox/pay outcomes', () => {
  it('success marks the trade paid with transaction_id, time_end, bank_type and cash_fee', async () => {
    const order = await placeOrder(ctx.sb, ctx.receiver.url, { total_fee: 888 });
    expect(await pay(ctx.sb, order)).toEqual({ status: 200, json: { errMsg: 'requestPayment:ok' } });
    const seen = await inspect(ctx.sb, order.outTradeNo);
    expect(seen).toMatchObject({ state: 'SUCCESS', cash_fee: 888, bank_type: 'OTHERS' });
    expect(seen.transaction_id).toMatch(/^4200\d{24}$/);
    expect(seen.time_end).toMatch(/^\d{14}$/);
  });

  it('defaults signType to MD5 like wx.requestPayment', async () => {
    const order = await placeOrder(ctx.sb, ctx.receiver.url);
    const params: Record<string, string> = payParams(order);
    delete params.signType;
    expect((await postJson(payUrl(), params)).json.errMsg).toBe('requestPayment:ok');
  });

  it('cancel changes nothing and the buyer can pay later', async () => {
    const order = await placeOrder(ctx.sb, ctx.receiver.url);
    expect(await pay(ctx.sb, order, 'cancel')).toEqual({
      status: 200,
      json: { errMsg: 'requestPayment:fail cancel' },
    });
    expect((await callV2(ctx.sb, '/pay/orderquery', { out_trade_no: order.outTradeNo })).trade_state).toBe(
      'NOTPAY',
    );
    expect((await pay(ctx.sb, order)).json.errMsg).toBe('requestPayment:ok');
    expect((await inspect(ctx.sb, order.outTradeNo)).payments.map((p) => p.outcome)).toEqual([
      'cancel',
      'success',
    ]);
  });

  it('fail leaves the trade NOTPAY (a declined attempt can be retried)', async () => {
    const order = await placeOrder(ctx.sb, ctx.receiver.url);
    const failed = await pay(ctx.sb, order, 'fail');
    expect(failed.status).toBe(200);
    expect(failed.json.errMsg).toMatch(/^requestPayment:fail (?!cancel)/);
    expect((await callV2(ctx.sb, '/pay/orderquery', { out_trade_no: order.outTradeNo })).trade_state).toBe(
      'NOTPAY',
    );
    expect((await inspect(ctx.sb, order.outTradeNo)).notifications).toEqual([]);
    expect((await pay(ctx.sb, order)).json.errMsg).toBe('requestPayment:ok');
  });

  it('payerror ends in PAYERROR: no notification, no further payment, re-submission refused', async () => {
    const order = await placeOrder(ctx.sb, ctx.receiver.url);
    expect((await pay(ctx.sb, order, 'payerror')).json.errMsg).toBe(
      'requestPayment:fail 支付失败，请重新下单支付',
    );
    expect(await callV2(ctx.sb, '/pay/orderquery', { out_trade_no: order.outTradeNo })).toMatchObject({
      trade_state: 'PAYERROR',
      trade_state_desc: '支付失败，请重新下单支付',
    });
    expect((await pay(ctx.sb, order)).status).toBe(409);
    expect((await callV2(ctx.sb, '/pay/unifiedorder', order.fields)).err_code).toBe('ORDERCLOSED');
  });

  it('refuses an unknown outcome', async () => {
    const order = await placeOrder(ctx.sb, ctx.receiver.url);
    expect((await postJson(payUrl(), { ...payParams(order), outcome: 'maybe' })).status).toBe(400);
  });
});

describe('paySign checks, as WeChat does them', () => {
  it('refuses the unifiedorder request or reply signature reused as paySign', async () => {
    const fields = orderFields((await placeOrder(ctx.sb, ctx.receiver.url)).openid, ctx.receiver.url);
    const params = { appid: DEMO.appId, mch_id: DEMO.mchId, nonce_str: 'n1', ...fields };
    const requestSign = signV2(params, DEMO.key);
    const reply = await callV2(ctx.sb, '/pay/unifiedorder', { ...fields, nonce_str: 'n1' });
    expect(reply.result_code).toBe('SUCCESS');
    const base = payParams({ prepayId: reply.prepay_id as string, signType: 'MD5' });
    for (const reused of [requestSign, reply.sign as string]) {
      const res = await postJson(payUrl(), { ...base, paySign: reused });
      expect(res.status).toBe(400);
      expect(res.json.errMsg).toBe(SIGN_FAILED);
      expect(res.json.hint).toMatch(/unifiedorder signature/);
    }
  });

  it('refuses `timestamp` in lower case, both passed and signed that way', async () => {
    const order = await placeOrder(ctx.sb, ctx.receiver.url);
    const { timeStamp, ...rest } = payParams(order);
    const passed = await postJson(payUrl(), { ...rest, timestamp: timeStamp });
    expect(passed.status).toBe(400);
    expect(passed.json.errMsg).toBe(
      'requestPayment:fail parameter error: parameter.timeStamp should be String instead of Undefined;',
    );
    expect(passed.json.hint).toMatch(/capital S/);

    const signedLower = signV2(
      {
        appId: DEMO.appId,
        timestamp: timeStamp,
        nonceStr: rest.nonceStr,
        package: rest.package,
        signType: 'MD5',
      },
      DEMO.key,
    );
    const signed = await postJson(payUrl(), { ...rest, timeStamp, paySign: signedLower });
    expect(signed.json).toMatchObject({ errMsg: SIGN_FAILED, hint: expect.stringMatching(/lower case/) });
  });

  it('refuses a paySign without appId in it, and a request without the calling appId', async () => {
    const order = await placeOrder(ctx.sb, ctx.receiver.url);
    const params = payParams(order);
    const noAppId = signV2(
      { timeStamp: params.timeStamp, nonceStr: params.nonceStr, package: params.package, signType: 'MD5' },
      DEMO.key,
    );
    const res = await postJson(payUrl(), { ...params, paySign: noAppId });
    expect(res.json).toMatchObject({
      errMsg: SIGN_FAILED,
      hint: expect.stringMatching(/appId was not signed/),
    });
    const { appId: _appId, ...withoutAppId } = params;
    expect(await postJson(payUrl(), withoutAppId)).toMatchObject({
      status: 400,
      json: { errMsg: 'requestPayment:fail missing appId' },
    });
  });

  it('refuses a signType that differs from the order’s, even when paySign matches it', async () => {
    const order = await placeOrder(ctx.sb, ctx.receiver.url, {}, 'HMAC-SHA256');
    const md5 = {
      appId: DEMO.appId,
      ...miniProgramPayParams({
        appId: DEMO.appId,
        prepayId: order.prepayId,
        key: DEMO.key,
        signType: 'MD5',
      }),
    };
    const res = await postJson(payUrl(), md5);
    expect(res.json).toMatchObject({
      errMsg: SIGN_FAILED,
      hint: expect.stringMatching(/differs from the order/),
    });
    expect((await pay(ctx.sb, order)).json.errMsg).toBe('requestPayment:ok');
  });

  it('refuses a paySign computed with the other algorithm than signType says', async () => {
    const order = await placeOrder(ctx.sb, ctx.receiver.url);
    const params = payParams(order);
    const { paySign: _ignored, ...fields } = params;
    const hmac = signV2(fields, DEMO.key, 'HMAC-SHA256');
    const res = await postJson(payUrl(), { ...params, paySign: hmac });
    expect(res.json).toMatchObject({ errMsg: SIGN_FAILED, hint: expect.stringMatching(/HMAC-SHA256/) });
  });

  it('refuses a paySign made with another key, or over a tampered field', async () => {
    const order = await placeOrder(ctx.sb, ctx.receiver.url);
    expect((await postJson(payUrl(), payParams(order, 'z'.repeat(32)))).json.errMsg).toBe(SIGN_FAILED);
    expect((await postJson(payUrl(), { ...payParams(order), nonceStr: 'other' })).json.errMsg).toBe(
      SIGN_FAILED,
    );
    expect((await inspect(ctx.sb, order.outTradeNo)).state).toBe('NOTPAY');
  });

  it.each(['nonceStr', 'package', 'paySign'])(
    'refuses a missing %s with the base library’s message',
    async (field) => {
      const order = await placeOrder(ctx.sb, ctx.receiver.url);
      const params: Record<string, string> = payParams(order);
      delete params[field];
      const res = await postJson(payUrl(), params);
      expect(res).toMatchObject({
        status: 400,
        json: {
          errMsg: `requestPayment:fail parameter error: parameter.${field} should be String instead of Undefined;`,
        },
      });
    },
  );

  it('refuses a package that is not prepay_id=…, and an unknown prepay_id', async () => {
    const order = await placeOrder(ctx.sb, ctx.receiver.url);
    const params = payParams(order);
    expect((await postJson(payUrl(), { ...params, package: order.prepayId })).json.errMsg).toBe(
      'requestPayment:fail package参数格式错误',
    );
    const unknown = payParams({ prepayId: 'wx20240101000000aaaaaaaaaaaaaaaaaaaaaa', signType: 'MD5' });
    expect(await postJson(payUrl(), unknown)).toMatchObject({
      status: 404,
      json: { errMsg: 'requestPayment:fail prepay_id不存在' },
    });
  });

  it('refuses payment from another mini-program than the one that ordered', async () => {
    const order = await placeOrder(ctx.sb, ctx.receiver.url);
    const params = {
      appId: OTHER_APP.appId,
      ...miniProgramPayParams({
        appId: OTHER_APP.appId,
        prepayId: order.prepayId,
        key: DEMO.key,
        signType: 'MD5',
      }),
    };
    expect((await postJson(payUrl(), params)).json.errMsg).toBe(
      'requestPayment:fail 调用支付的appid与下单appid不一致',
    );
  });

  it('refuses a prepay_id after its 2 hours, and a closed order', async () => {
    const own = await sandbox();
    try {
      const order = await placeOrder(own, ctx.receiver.url);
      await postJson(`${own.url}/sandbox/clock`, { advance_ms: 2 * 3600_000 });
      expect(await pay(own, order)).toMatchObject({
        status: 409,
        json: { errMsg: 'requestPayment:fail prepay_id已过期' },
      });
      const fresh = await callV2(own, '/pay/unifiedorder', order.fields);
      expect((await pay(own, { prepayId: fresh.prepay_id as string, signType: 'MD5' })).json.errMsg).toBe(
        'requestPayment:ok',
      );

      const closed = await placeOrder(own, ctx.receiver.url);
      await callV2(own, '/pay/closeorder', { out_trade_no: closed.outTradeNo });
      expect(await pay(own, closed)).toMatchObject({
        status: 409,
        json: { errMsg: 'requestPayment:fail 订单已关闭' },
      });
    } finally {
      await own.close();
    }
  });

  it('refuses a body that is not a JSON object', async () => {
    const res = await fetch(payUrl(), { method: 'POST', body: 'not json' });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { errMsg: string }).errMsg).toMatch(/^requestPayment:fail /);
  });
});

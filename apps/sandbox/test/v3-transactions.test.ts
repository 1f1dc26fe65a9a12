import { describe, expect, it } from 'vitest';
import { callV2, DEMO, loginCode, pay, placeOrder, sandbox, useSandboxAndReceiver } from './helpers.ts';
import {
  callV3,
  jsapiBody,
  payV3,
  placeV3,
  queryPath,
  replySignatureOk,
  V3,
  type V3Response,
} from './v3-helpers.ts';

/** A mini-program bound to another merchant: the main merchant may not take payments for it. */
const OTHER = {
  appId: 'wx0000000000000004',
  secret: 'otherAppSecret000000000000000004',
  mchId: '1900000404',
  key: 'otherMerchantKey0000000000000004',
};
const ctx = useSandboxAndReceiver({ extraAccounts: [OTHER] });

const JSAPI = '/v3/pay/transactions/jsapi';
const closePath = (no: string) => `/v3/pay/transactions/out-trade-no/${no}/close`;

function expectSigned(res: V3Response): void {
  expect(res.headers.get('request-id')).toMatch(/^[0-9A-F]{40}-0$/);
  expect(res.headers.get('wechatpay-serial')).toBe(V3.platformPublicKeyId);
  expect(replySignatureOk(res)).toBe(true);
}

function expectError(res: V3Response, status: number, code: string, message?: RegExp | string): void {
  expect({ status: res.status, code: res.json.code }).toEqual({ status, code });
  expect(typeof res.json.message).toBe('string');
  if (message) expect(res.json.message).toMatch(message);
  expectSigned(res);
}

describe('POST /v3/pay/transactions/jsapi', () => {
  it('answers 200 {prepay_id} and the order shows in inspection as a v3 RSA order', async () => {
    const { openid } = await loginCode(ctx.sb);
    const body = jsapiBody(openid, ctx.receiver.url, {
      attach: 'v3 & 附加',
      time_expire: '2099-01-01T00:00:00+08:00',
    });
    const res = await callV3(ctx.sb, 'POST', JSAPI, body);
    expect(res.status).toBe(200);
    expect(Object.keys(res.json)).toEqual(['prepay_id']);
    expect(res.json.prepay_id).toMatch(/^wx\d{14}[0-9a-f]{22}$/);
    expectSigned(res);
    const seen = (await (await fetch(`${ctx.sb.url}/sandbox/orders/${body.out_trade_no}`)).json()) as Record<
      string,
      unknown
    >;
    expect(seen).toMatchObject({ api: 'v3', sign_type: 'RSA', total_fee: 1999, attach: 'v3 & 附加' });
  });

  it('gives a fresh prepay_id for the same parameters, 403 OUT_TRADE_NO_USED for others', async () => {
    const order = await placeV3(ctx.sb, ctx.receiver.url);
    const again = await callV3(ctx.sb, 'POST', JSAPI, order.body);
    expect(again.status).toBe(200);
    expect(again.json.prepay_id).not.toBe(order.prepayId);
    // Key order does not make a different order.
    const { amount, ...rest } = order.body;
    expect((await callV3(ctx.sb, 'POST', JSAPI, { amount, ...rest })).status).toBe(200);
    const changed = await callV3(ctx.sb, 'POST', JSAPI, {
      ...order.body,
      amount: { total: 1, currency: 'CNY' },
    });
    expectError(changed, 403, 'OUT_TRADE_NO_USED', '商户订单号重复');
  });

  it('answers ORDER_PAID for a paid order and ORDER_CLOSED for a closed one', async () => {
    const paid = await placeV3(ctx.sb, ctx.receiver.url);
    expect((await payV3(ctx.sb, paid.prepayId)).json.errMsg).toBe('requestPayment:ok');
    expectError(await callV3(ctx.sb, 'POST', JSAPI, paid.body), 403, 'ORDER_PAID');
    const closed = await placeV3(ctx.sb, ctx.receiver.url);
    expect((await callV3(ctx.sb, 'POST', closePath(closed.outTradeNo), { mchid: DEMO.mchId })).status).toBe(
      204,
    );
    expectError(await callV3(ctx.sb, 'POST', JSAPI, closed.body), 400, 'ORDER_CLOSED');
  });

  const cases: Array<[string, Record<string, unknown>, string, RegExp]> = [
    ['appid missing', { appid: undefined }, 'appid', /“\/body\/appid”映射到字段“应用ID”必填性规则校验失败/],
    [
      'amount.total missing',
      { amount: { currency: 'CNY' } },
      'amount.total',
      /“\/body\/amount\/total”.*必填/,
    ],
    ['payer.openid missing', { payer: {} }, 'payer.openid', /“\/body\/payer\/openid”/],
    ['amount.total a string', { amount: { total: '100' } }, 'amount.total', /positive integer number of fen/],
    ['amount.total zero', { amount: { total: 0 } }, 'amount.total', /positive integer/],
    ['amount.total a decimal', { amount: { total: 9.9 } }, 'amount.total', /positive integer/],
    ['amount.currency USD', { amount: { total: 1, currency: 'USD' } }, 'amount.currency', /only CNY/],
    ['out_trade_no too short', { out_trade_no: 'A1234' }, 'out_trade_no', /6-32 characters/],
    ['out_trade_no too long', { out_trade_no: 'A'.repeat(33) }, 'out_trade_no', /6-32 characters/],
    ['out_trade_no with a dot', { out_trade_no: 'ORDER.123' }, 'out_trade_no', /6-32 characters/],
    ['description over 127 bytes', { description: '好'.repeat(43) }, 'description', /127 bytes/],
    ['attach over 128 bytes', { attach: 'a'.repeat(129) }, 'attach', /128 bytes/],
    ['notify_url not http(s)', { notify_url: 'ftp://merchant.example/n' }, 'notify_url', /https URL/],
    ['notify_url relative', { notify_url: '/wechat/notify' }, 'notify_url', /https URL/],
    ['notify_url with a query', { notify_url: 'https://m.example/n?x=1' }, 'notify_url', /no query string/],
    ['time_expire not RFC 3339', { time_expire: '20991231235959' }, 'time_expire', /RFC 3339/],
    [
      'time_expire too soon',
      { time_expire: new Date(Date.now() + 60_000).toISOString() },
      'time_expire',
      /过短/,
    ],
    ['description a number', { description: 42 }, 'description', /must be a string/],
  ];
  it.each(cases)('400 PARAM_ERROR for %s, naming the field', async (_name, overrides, field, message) => {
    const { openid } = await loginCode(ctx.sb);
    const body = { ...jsapiBody(openid, ctx.receiver.url), ...overrides };
    const res = await callV3(ctx.sb, 'POST', JSAPI, body);
    expectError(res, 400, 'PARAM_ERROR', message);
    expect(res.json.detail).toMatchObject({ field, location: 'body' });
  });

  it('400 PARAM_ERROR for an openid the sandbox did not issue for that appid', async () => {
    const res = await callV3(
      ctx.sb,
      'POST',
      JSAPI,
      jsapiBody('oInvented0000000000000000000', ctx.receiver.url),
    );
    expectError(res, 400, 'PARAM_ERROR', /appid和openid不匹配/);
  });

  it('400 APPID_MCHID_NOT_MATCH for an appid bound to another merchant, or unknown', async () => {
    const { openid } = await loginCode(ctx.sb, 'bob', OTHER.appId);
    for (const appid of [OTHER.appId, 'wx9999999999999999']) {
      const res = await callV3(ctx.sb, 'POST', JSAPI, jsapiBody(openid, ctx.receiver.url, { appid }));
      expectError(res, 400, 'APPID_MCHID_NOT_MATCH');
    }
  });

  it('400 PARAM_ERROR when the body names another merchant than the signature', async () => {
    const { openid } = await loginCode(ctx.sb);
    const res = await callV3(
      ctx.sb,
      'POST',
      JSAPI,
      jsapiBody(openid, ctx.receiver.url, { mchid: OTHER.mchId }),
    );
    expectError(res, 400, 'PARAM_ERROR', /Authorization/);
    expect(res.json.detail).toMatchObject({ field: 'mchid' });
  });

  it('400 MCH_NOT_EXISTS for an unknown merchant, INVALID_REQUEST for a non-JSON content type', async () => {
    const { openid } = await loginCode(ctx.sb);
    const body = jsapiBody(openid, ctx.receiver.url);
    expectError(await callV3(ctx.sb, 'POST', JSAPI, body, { mchId: '1234567890' }), 400, 'MCH_NOT_EXISTS');
    const form = await callV3(ctx.sb, 'POST', JSAPI, body, { headers: { 'content-type': 'text/plain' } });
    expectError(form, 400, 'INVALID_REQUEST', /application\/json/);
    expectError(await callV3(ctx.sb, 'POST', JSAPI, '[1,2]'), 400, 'PARAM_ERROR', /JSON object/);
  });
});

describe('GET /v3/pay/transactions/{out-trade-no/{no} | id/{id}}?mchid=', () => {
  it('shows an unpaid order by out_trade_no only, then the paid transaction both ways', async () => {
    const order = await placeV3(ctx.sb, ctx.receiver.url, { attach: 'q' });
    const unpaid = await callV3(ctx.sb, 'GET', queryPath(order.outTradeNo));
    expect(unpaid.status).toBe(200);
    expectSigned(unpaid);
    expect(unpaid.json).toEqual({
      appid: DEMO.appId,
      mchid: DEMO.mchId,
      out_trade_no: order.outTradeNo,
      trade_type: 'JSAPI',
      trade_state: 'NOTPAY',
      trade_state_desc: '订单未支付',
      attach: 'q',
      amount: { total: 1999, currency: 'CNY', payer_currency: 'CNY' },
    });

    expect((await payV3(ctx.sb, order.prepayId)).json.errMsg).toBe('requestPayment:ok');
    const paid = await callV3(ctx.sb, 'GET', queryPath(order.outTradeNo));
    expect(paid.json).toMatchObject({
      trade_state: 'SUCCESS',
      trade_state_desc: '支付成功',
      bank_type: 'OTHERS',
      payer: { openid: order.openid },
      amount: { total: 1999, payer_total: 1999, currency: 'CNY', payer_currency: 'CNY' },
    });
    expect(paid.json.transaction_id).toMatch(/^4200\d{24}$/);
    expect(paid.json.success_time).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+08:00$/);
    const byId = await callV3(
      ctx.sb,
      'GET',
      `/v3/pay/transactions/id/${String(paid.json.transaction_id)}?mchid=${DEMO.mchId}`,
    );
    expect(byId.json).toEqual(paid.json);
    expectSigned(byId);
  });

  it('404 ORDER_NOT_EXIST for unknown orders and transaction ids', async () => {
    expectError(await callV3(ctx.sb, 'GET', queryPath('NOSUCHORDER1')), 404, 'ORDER_NOT_EXIST', '订单不存在');
    const byId = await callV3(
      ctx.sb,
      'GET',
      `/v3/pay/transactions/id/4200000000202601010000000000?mchid=${DEMO.mchId}`,
    );
    expectError(byId, 404, 'ORDER_NOT_EXIST');
  });

  it('400 PARAM_ERROR without mchid, or with another merchant', async () => {
    const order = await placeV3(ctx.sb, ctx.receiver.url);
    const missing = await callV3(ctx.sb, 'GET', `/v3/pay/transactions/out-trade-no/${order.outTradeNo}`);
    expectError(missing, 400, 'PARAM_ERROR', /“\/query\/mchid”映射到字段“直连商户号”/);
    expect(missing.json.detail).toMatchObject({ field: 'mchid', location: 'query' });
    expectError(await callV3(ctx.sb, 'GET', queryPath(order.outTradeNo, OTHER.mchId)), 400, 'PARAM_ERROR');
  });

  it('shares one trade store with v2: each API sees the orders the other placed', async () => {
    const v2 = await placeOrder(ctx.sb, ctx.receiver.url);
    const seenByV3 = await callV3(ctx.sb, 'GET', queryPath(v2.outTradeNo));
    expect(seenByV3.json).toMatchObject({ trade_state: 'NOTPAY', amount: { total: 1999 } });
    expect((await pay(ctx.sb, v2)).json.errMsg).toBe('requestPayment:ok');
    expect((await callV3(ctx.sb, 'GET', queryPath(v2.outTradeNo))).json.trade_state).toBe('SUCCESS');
    const reused = await callV3(
      ctx.sb,
      'POST',
      JSAPI,
      jsapiBody(v2.openid, ctx.receiver.url, { out_trade_no: v2.outTradeNo }),
    );
    expectError(reused, 403, 'ORDER_PAID');

    const v3 = await placeV3(ctx.sb, ctx.receiver.url);
    expect(await callV2(ctx.sb, '/pay/orderquery', { out_trade_no: v3.outTradeNo })).toMatchObject({
      result_code: 'SUCCESS',
      trade_state: 'NOTPAY',
    });
    const v2Again = await callV2(ctx.sb, '/pay/unifiedorder', {
      body: 'x',
      out_trade_no: v3.outTradeNo,
      total_fee: 1999,
      spbill_create_ip: '127.0.0.1',
      notify_url: ctx.receiver.url,
      trade_type: 'JSAPI',
      openid: v3.openid,
    });
    expect(v2Again).toMatchObject({ err_code: 'INVALID_REQUEST', err_code_des: '201 商户订单号重复' });
    const unpaidV2 = await placeOrder(ctx.sb, ctx.receiver.url);
    const v3OverV2 = await callV3(
      ctx.sb,
      'POST',
      JSAPI,
      jsapiBody(unpaidV2.openid, ctx.receiver.url, { out_trade_no: unpaidV2.outTradeNo }),
    );
    expectError(v3OverV2, 403, 'OUT_TRADE_NO_USED');
  });
});

describe('POST /v3/pay/transactions/out-trade-no/{no}/close', () => {
  it('closes with 204 (again 204), and the order reads CLOSED', async () => {
    const order = await placeV3(ctx.sb, ctx.receiver.url);
    const closed = await callV3(ctx.sb, 'POST', closePath(order.outTradeNo), { mchid: DEMO.mchId });
    expect(closed.status).toBe(204);
    expect(closed.text).toBe('');
    expectSigned(closed);
    expect((await callV3(ctx.sb, 'POST', closePath(order.outTradeNo), { mchid: DEMO.mchId })).status).toBe(
      204,
    );
    expect((await callV3(ctx.sb, 'GET', queryPath(order.outTradeNo))).json).toMatchObject({
      trade_state: 'CLOSED',
      trade_state_desc: '订单已关闭',
    });
    expect((await payV3(ctx.sb, order.prepayId)).json.errMsg).toBe('requestPayment:fail 订单已关闭');
  });

  it('403 ORDER_PAID for a paid order, 404 for an unknown one, PARAM_ERROR without mchid', async () => {
    const order = await placeV3(ctx.sb, ctx.receiver.url);
    await payV3(ctx.sb, order.prepayId);
    expectError(
      await callV3(ctx.sb, 'POST', closePath(order.outTradeNo), { mchid: DEMO.mchId }),
      403,
      'ORDER_PAID',
    );
    expectError(
      await callV3(ctx.sb, 'POST', closePath('NOSUCHORDER2'), { mchid: DEMO.mchId }),
      404,
      'ORDER_NOT_EXIST',
    );
    const missing = await callV3(ctx.sb, 'POST', closePath(order.outTradeNo), {});
    expectError(missing, 400, 'PARAM_ERROR', /“\/body\/mchid”/);
  });

  it('refuses to close an order younger than closeMinAgeMs, like v2', async () => {
    const own = await sandbox({ closeMinAgeMs: 300_000 });
    try {
      const order = await placeV3(own, 'http://127.0.0.1:9/n');
      const res = await callV3(own, 'POST', closePath(order.outTradeNo), { mchid: DEMO.mchId });
      expectError(res, 400, 'INVALID_REQUEST', /5分钟内不能关单/);
    } finally {
      await own.close();
    }
  });
});

import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  parseAuthorizationV3,
  requestMessageV3,
  V3KeySet,
  verifySignatureV3,
  WechatPayV3BadMessageError,
  WechatPayV3Client,
  WechatPayV3Error,
  WechatPayV3OrderClosedError,
  WechatPayV3OrderNotExistError,
  WechatPayV3OrderPaidError,
  WechatPayV3SignatureError,
  WechatPayV3TransportError,
} from '../../src/v3/index.ts';
import { WechatError } from '../../src/core/index.ts';
import { SANDBOX_DEMO_V3 as D } from '../../src/wechatpay/demo-v3.ts';
import { startFakeWechat, type Received } from '../fake-wechat.ts';
import { replyV3 } from './fake-v3.ts';
import { NEXT_PLATFORM } from './test-keys.ts';

const MCHID = '1900000109';
const OUT_TRADE_NO = '20261125140000abcdefghijklmnopqr';
const TRADE = {
  appid: 'wx5ad0b0c0de5a4db0',
  mchid: MCHID,
  out_trade_no: OUT_TRADE_NO,
  transaction_id: '4200000001202611250000000001',
  trade_type: 'JSAPI',
  trade_state: 'SUCCESS',
  trade_state_desc: '支付成功',
  bank_type: 'OTHERS',
  success_time: '2026-11-25T14:05:10+08:00',
  payer: { openid: 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o' },
  amount: { total: 2990, payer_total: 2990, currency: 'CNY', payer_currency: 'CNY' },
};

let fake: Awaited<ReturnType<typeof startFakeWechat>>;
beforeAll(async () => {
  fake = await startFakeWechat();
});
afterAll(() => fake.close());
beforeEach(() => {
  fake.received.length = 0;
});

function client(options: { timeoutMs?: number; baseUrl?: string } = {}) {
  return new WechatPayV3Client({
    mchId: MCHID,
    serialNo: D.mchCertSerial,
    privateKey: D.mchPrivateKey,
    keys: new V3KeySet().addPublicKey(D.platformPublicKeyId, D.platformPublicKey),
    baseUrl: options.baseUrl ?? fake.url,
    timeoutMs: options.timeoutMs ?? 2000,
  });
}

/** What WeChat checks on every request: the Authorization header signs exactly this request. */
function expectSignedByMerchant(req: Received) {
  const auth = parseAuthorizationV3(req.headers.authorization as string);
  expect(auth).toMatchObject({ mchId: MCHID, serialNo: D.mchCertSerial });
  expect(Math.abs(Number(auth.timestamp) - Date.now() / 1000)).toBeLessThan(60);
  const message = requestMessageV3({
    method: req.method,
    url: req.url,
    timestamp: auth.timestamp,
    nonce: auth.nonce,
    body: req.body,
  });
  expect(verifySignatureV3(message, auth.signature, D.mchPublicKey)).toBe(true);
}

async function rejection(promise: Promise<unknown>): Promise<WechatPayV3Error> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(WechatPayV3Error);
  expect(err).toBeInstanceOf(WechatError);
  return err as WechatPayV3Error;
}

describe('WechatPayV3Client.jsapiPrepay', () => {
  it('sends the documented JSON, signed, and returns the prepay_id of a verified reply', async () => {
    fake.setHandler((_req, res) => replyV3(res, 200, { prepay_id: 'wx26112514000000000000000000000001' }));
    const result = await client().jsapiPrepay({
      appid: 'wx5ad0b0c0de5a4db0',
      description: '测试商品',
      outTradeNo: OUT_TRADE_NO,
      notifyUrl: 'https://shop.example.com/wechatpay/v3/notify',
      amountFen: 2990,
      payerOpenid: 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o',
      timeExpire: new Date('2026-11-25T06:30:00Z'),
      attach: 'cart=42',
    });
    expect(result).toEqual({ prepayId: 'wx26112514000000000000000000000001' });
    const sent = fake.received[0] as Received;
    expect(sent.method).toBe('POST');
    expect(sent.url).toBe('/v3/pay/transactions/jsapi');
    expect(sent.headers['content-type']).toBe('application/json');
    expect(sent.headers.accept).toBe('application/json');
    expect(sent.headers['user-agent']).toMatch(/^mp-pay\//);
    expectSignedByMerchant(sent);
    expect(JSON.parse(sent.body)).toEqual({
      appid: 'wx5ad0b0c0de5a4db0',
      mchid: MCHID,
      description: '测试商品',
      out_trade_no: OUT_TRADE_NO,
      time_expire: '2026-11-25T14:30:00+08:00',
      attach: 'cart=42',
      notify_url: 'https://shop.example.com/wechatpay/v3/notify',
      amount: { total: 2990, currency: 'CNY' },
      payer: { openid: 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o' },
    });
  });

  it('refuses bad input before sending anything', async () => {
    const base = {
      appid: 'wx5ad0b0c0de5a4db0',
      description: 'x',
      outTradeNo: OUT_TRADE_NO,
      notifyUrl: 'https://shop.example.com/n',
      amountFen: 1,
      payerOpenid: 'o',
    };
    for (const bad of [
      { amountFen: 0 },
      { amountFen: 1.5 },
      { outTradeNo: 'has space' },
      { description: '' },
      { notifyUrl: 'https://shop.example.com/n?x=1' },
      { payerOpenid: '' },
    ]) {
      await expect(client().jsapiPrepay({ ...base, ...bad })).rejects.toThrow(TypeError);
    }
    expect(fake.received).toHaveLength(0);
  });

  it('a 2xx reply without prepay_id is a bad message', async () => {
    fake.setHandler((_req, res) => replyV3(res, 200, {}));
    const err = await rejection(
      client().jsapiPrepay({
        appid: 'wx5ad0b0c0de5a4db0',
        description: 'x',
        outTradeNo: OUT_TRADE_NO,
        notifyUrl: 'https://shop.example.com/n',
        amountFen: 1,
        payerOpenid: 'o',
      }),
    );
    expect(err).toBeInstanceOf(WechatPayV3BadMessageError);
  });
});

describe('WechatPayV3Client queries and close', () => {
  it('queryByOutTradeNo: GET with ?mchid=, typed trade', async () => {
    fake.setHandler((_req, res) => replyV3(res, 200, TRADE));
    const trade = await client().queryByOutTradeNo(OUT_TRADE_NO);
    const sent = fake.received[0] as Received;
    expect(sent.method).toBe('GET');
    expect(sent.url).toBe(`/v3/pay/transactions/out-trade-no/${OUT_TRADE_NO}?mchid=${MCHID}`);
    expect(sent.body).toBe('');
    expect(sent.headers['content-type']).toBeUndefined();
    expectSignedByMerchant(sent);
    expect(trade).toMatchObject({
      tradeState: 'SUCCESS',
      transactionId: '4200000001202611250000000001',
      amount: { total: 2990, currency: 'CNY' },
      payer: { openid: 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o' },
      successTime: '2026-11-25T14:05:10+08:00',
      appid: 'wx5ad0b0c0de5a4db0',
    });
  });

  it('queryByTransactionId: GET /v3/pay/transactions/id/{id}?mchid=', async () => {
    fake.setHandler((_req, res) => replyV3(res, 200, TRADE));
    await client().queryByTransactionId(TRADE.transaction_id);
    expect(fake.received[0]?.url).toBe(`/v3/pay/transactions/id/${TRADE.transaction_id}?mchid=${MCHID}`);
  });

  it('an unpaid order has no transaction_id and still types', async () => {
    const unpaid = {
      ...TRADE,
      trade_state: 'NOTPAY',
      transaction_id: undefined,
      success_time: undefined,
      payer: {},
    };
    fake.setHandler((_req, res) => replyV3(res, 200, unpaid));
    expect(await client().queryByOutTradeNo(OUT_TRADE_NO)).toMatchObject({
      tradeState: 'NOTPAY',
      transactionId: '',
      payer: undefined,
    });
  });

  it('a reply about another merchant or order is refused', async () => {
    fake.setHandler((_req, res) => replyV3(res, 200, { ...TRADE, mchid: '1900000999' }));
    expect(await rejection(client().queryByOutTradeNo(OUT_TRADE_NO))).toBeInstanceOf(
      WechatPayV3BadMessageError,
    );
    fake.setHandler((_req, res) => replyV3(res, 200, { ...TRADE, out_trade_no: 'another000000' }));
    expect(await rejection(client().queryByOutTradeNo(OUT_TRADE_NO))).toBeInstanceOf(
      WechatPayV3BadMessageError,
    );
  });

  it('close: POST …/close with {mchid} → 204, signed (an unsigned 204 decides nothing)', async () => {
    fake.setHandler((_req, res) => replyV3(res, 204, undefined, { unsigned: true }));
    await expect(client().close(OUT_TRADE_NO)).rejects.toMatchObject({ reason: 'MISSING_HEADERS' });
    fake.received.length = 0;
    fake.setHandler((_req, res) => replyV3(res, 204, undefined));
    await expect(client().close(OUT_TRADE_NO)).resolves.toBeUndefined();
    const sent = fake.received[0] as Received;
    expect(sent.method).toBe('POST');
    expect(sent.url).toBe(`/v3/pay/transactions/out-trade-no/${OUT_TRADE_NO}/close`);
    expect(JSON.parse(sent.body)).toEqual({ mchid: MCHID });
    expectSignedByMerchant(sent);
  });

  it('request() is the generic call, and the signed path keeps a base URL prefix', async () => {
    fake.setHandler((_req, res) => replyV3(res, 200, { ok: true }, { requestId: 'REQ-GENERIC' }));
    const c = client({ baseUrl: fake.url + '/prefix/' });
    expect(await c.request('GET', '/v3/anything?a=1&b=2')).toEqual({ ok: true });
    const reply = await c.requestReply('POST', '/v3/anything', '{"exact":"text"}');
    expect(reply).toMatchObject({ status: 200, data: { ok: true }, requestId: 'REQ-GENERIC' });
    expect(fake.received[1]?.body).toBe('{"exact":"text"}');
    expectSignedByMerchant(fake.received[1] as Received);
    const sent = fake.received[0] as Received;
    expect(sent.url).toBe('/prefix/v3/anything?a=1&b=2');
    expectSignedByMerchant(sent);
  });
});

describe('WechatPayV3Client reply verification', () => {
  const query = () => client().queryByOutTradeNo(OUT_TRADE_NO);

  it.each([
    ['an unsigned 200 with a body', { unsigned: true }, 'MISSING_HEADERS'],
    [
      'a forged body (signature over other bytes)',
      { signedBody: JSON.stringify({ ...TRADE, trade_state: 'NOTPAY' }) },
      'BAD_SIGNATURE',
    ],
    [
      'a signature by an unknown key',
      { serial: D.platformCertSerial, privateKey: D.platformPrivateKey },
      'UNKNOWN_SERIAL',
    ],
    [
      'a signature by the wrong key under the right id',
      { privateKey: NEXT_PLATFORM.privateKey },
      'BAD_SIGNATURE',
    ],
    ['a stale timestamp', { timestamp: Math.floor(Date.now() / 1000) - 3600 }, 'STALE_TIMESTAMP'],
    [
      'the SIGNTEST probe',
      { extraHeaders: { 'Wechatpay-Signature': 'WECHATPAY/SIGNTEST/AAAA' } },
      'SIGNTEST_PROBE',
    ],
  ])('%s → WechatPayV3SignatureError %s, with status and Request-ID', async (_label, options, reason) => {
    fake.setHandler((_req, res) => replyV3(res, 200, TRADE, { ...options, requestId: 'REQ-SIG-1' }));
    const err = await rejection(query());
    expect(err).toBeInstanceOf(WechatPayV3SignatureError);
    expect(err).toMatchObject({
      reason,
      code: 'SIGNATURE',
      httpStatus: 200,
      requestId: 'REQ-SIG-1',
      retryable: false,
    });
  });

  it('a forged error reply is a signature error too, not the error it claims', async () => {
    fake.setHandler((_req, res) =>
      replyV3(
        res,
        404,
        { code: 'ORDER_NOT_EXIST', message: '订单不存在' },
        { signedBody: '{"code":"OTHER"}' },
      ),
    );
    expect(await rejection(query())).toBeInstanceOf(WechatPayV3SignatureError);
  });
});

describe('WechatPayV3Client typed errors', () => {
  it.each([
    [404, 'ORDER_NOT_EXIST', '订单不存在', WechatPayV3OrderNotExistError, false],
    [400, 'ORDER_CLOSED', '订单已关闭', WechatPayV3OrderClosedError, false],
    [403, 'ORDERPAID', '订单已支付', WechatPayV3OrderPaidError, false],
    [400, 'PARAM_ERROR', '参数错误', WechatPayV3Error, false],
    [401, 'SIGN_ERROR', '错误的签名，验签失败', WechatPayV3Error, false],
    [403, 'OUT_TRADE_NO_USED', '商户订单号重复', WechatPayV3Error, false],
    [429, 'FREQUENCY_LIMITED', '频率超限', WechatPayV3Error, true],
    [500, 'SYSTEM_ERROR', '系统错误', WechatPayV3Error, true],
  ])('%i %s → %o, retryable %s', async (status, code, message, cls, retryable) => {
    const detail = { field: 'out_trade_no', location: 'uri' };
    fake.setHandler((_req, res) =>
      replyV3(res, status, { code, message, detail }, { requestId: 'REQ-' + code }),
    );
    const err = await rejection(client().queryByOutTradeNo(OUT_TRADE_NO));
    expect(err).toBeInstanceOf(cls);
    expect(err).toMatchObject({ httpStatus: status, code, requestId: 'REQ-' + code, retryable, detail });
    expect(err.message).toContain(message);
  });

  it('an unsigned business error is not believed: HTTP_<status>, retryable, never an order fate', async () => {
    fake.setHandler((_req, res) =>
      replyV3(res, 403, { code: 'ORDER_PAID', message: 'paid' }, { unsigned: true, requestId: 'MITM' }),
    );
    const err = await rejection(client().close(OUT_TRADE_NO));
    expect(err).not.toBeInstanceOf(WechatPayV3OrderPaidError);
    expect(err).toMatchObject({ code: 'HTTP_403', httpStatus: 403, retryable: true });
  });

  it('an unsigned gateway error page → HTTP_502, retryable', async () => {
    fake.setHandler((_req, res) =>
      replyV3(res, 502, '<html>Bad Gateway</html>', { unsigned: true, requestId: 'GW' }),
    );
    const err = await rejection(client().queryByOutTradeNo(OUT_TRADE_NO));
    expect(err).toMatchObject({ code: 'HTTP_502', httpStatus: 502, retryable: true, requestId: 'GW' });
  });

  it('a timeout → WechatPayV3TransportError TIMEOUT, retryable', async () => {
    fake.setHandler(() => new Promise(() => undefined));
    const err = await rejection(client({ timeoutMs: 100 }).queryByOutTradeNo(OUT_TRADE_NO));
    expect(err).toBeInstanceOf(WechatPayV3TransportError);
    expect(err).toMatchObject({ code: 'TIMEOUT', retryable: true });
  });

  it('nobody listening → WechatPayV3TransportError NETWORK, retryable', async () => {
    const err = await rejection(client({ baseUrl: 'http://127.0.0.1:9' }).queryByOutTradeNo(OUT_TRADE_NO));
    expect(err).toBeInstanceOf(WechatPayV3TransportError);
    expect(err).toMatchObject({ code: 'NETWORK', retryable: true });
  });
});

import { describe, expect, it } from 'vitest';
import {
  h5SceneInfo,
  buildXml,
  parseXml,
  verifyV2,
  WechatError,
  WechatPayError,
  WechatPayInvalidRequestError,
  WechatPayOrderClosedError,
  WechatPayOrderNotExistError,
  WechatPayOrderPaidError,
  WechatPaySignatureError,
  WechatPaySystemError,
  WechatPayTimeoutError,
  WechatPayTransportError,
  WechatPayV2Client,
  type SignType,
} from '../src/wechatpay/index.ts';
import { signedV2Reply, fakeWechatPerFile, type Received } from './fake-wechat.ts';

const KEY = 'a'.repeat(16) + 'B'.repeat(16);
const APPID = 'wx0123456789abcdef';
const MCHID = '1900000109';

const fake = fakeWechatPerFile();

function client(signType: SignType = 'MD5', timeoutMs = 2000) {
  return new WechatPayV2Client({
    appId: APPID,
    mchId: MCHID,
    key: KEY,
    signType,
    baseUrl: fake.url,
    timeoutMs,
  });
}

/** Replies like WeChat: signed with the merchant key and the request's sign type. */
function signedReply(req: Received, fields: Record<string, string>, key = KEY): string {
  return signedV2Reply(req, fields, { key, mchId: MCHID });
}

const ORDER = {
  body: '测试商品',
  outTradeNo: '20261125140000abcdefghijklmnopqr',
  totalFee: 101,
  spbillCreateIp: '203.0.113.7',
  notifyUrl: 'https://shop.example.com/wechatpay/notify',
  openid: 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o',
  timeExpire: '20261125143000',
};

describe('WechatPayV2Client.unifiedOrder', () => {
  it.each<SignType>(['MD5', 'HMAC-SHA256'])(
    'signs the request (%s) and returns the prepay_id of a verified reply',
    async (signType) => {
      fake.setHandler((req, res) =>
        res.end(signedReply(req, { trade_type: 'JSAPI', prepay_id: 'wx201411101639507cbf6ffd8b0779950874' })),
      );
      const result = await client(signType).unifiedOrder(ORDER);
      expect(result.prepayId).toBe('wx201411101639507cbf6ffd8b0779950874');
      expect(result.tradeType).toBe('JSAPI');

      const sent = fake.received[0]!;
      expect(sent.method).toBe('POST');
      expect(sent.url).toBe('/pay/unifiedorder');
      const request = parseXml(sent.body);
      expect(verifyV2(request, KEY)).toBe(true);
      expect(request.sign).toHaveLength(signType === 'MD5' ? 32 : 64);
      expect(request).toMatchObject({
        appid: APPID,
        mch_id: MCHID,
        body: '测试商品',
        out_trade_no: ORDER.outTradeNo,
        total_fee: '101',
        spbill_create_ip: '203.0.113.7',
        notify_url: ORDER.notifyUrl,
        trade_type: 'JSAPI',
        openid: ORDER.openid,
        time_expire: '20261125143000',
      });
      expect(request.nonce_str).toMatch(/^[A-Za-z0-9]{32}$/);
      if (signType === 'HMAC-SHA256') expect(request.sign_type).toBe('HMAC-SHA256');
      expect(sent.body).not.toContain(KEY);
    },
  );

  it('uses a fresh nonce for every request', async () => {
    fake.setHandler((req, res) => res.end(signedReply(req, { prepay_id: 'wx1' })));
    await client().unifiedOrder(ORDER);
    await client().unifiedOrder(ORDER);
    const [a, b] = fake.received.map((r) => parseXml(r.body).nonce_str);
    expect(a).not.toBe(b);
  });

  it('refuses a non-integer or non-positive amount and a bad out_trade_no before calling WeChat', async () => {
    await expect(client().unifiedOrder({ ...ORDER, totalFee: 1.5 })).rejects.toThrow(RangeError);
    await expect(client().unifiedOrder({ ...ORDER, totalFee: 0 })).rejects.toThrow(RangeError);
    await expect(client().unifiedOrder({ ...ORDER, outTradeNo: 'bad no!' })).rejects.toThrow(RangeError);
    expect(fake.received).toHaveLength(0);
  });
});

describe('error families', () => {
  it.each<[string, Record<string, string>, new (...args: never[]) => WechatPayError, boolean]>([
    [
      'ORDERPAID',
      { result_code: 'FAIL', err_code: 'ORDERPAID', err_code_des: '该订单已支付' },
      WechatPayOrderPaidError,
      false,
    ],
    [
      'ORDERCLOSED',
      { result_code: 'FAIL', err_code: 'ORDERCLOSED', err_code_des: '该订单已关' },
      WechatPayOrderClosedError,
      false,
    ],
    [
      'SYSTEMERROR',
      { result_code: 'FAIL', err_code: 'SYSTEMERROR', err_code_des: '系统错误' },
      WechatPaySystemError,
      true,
    ],
    [
      'INVALID_REQUEST',
      { result_code: 'FAIL', err_code: 'INVALID_REQUEST', err_code_des: '201 商户订单号重复' },
      WechatPayInvalidRequestError,
      false,
    ],
    [
      'PARAM_ERROR',
      { result_code: 'FAIL', err_code: 'PARAM_ERROR', err_code_des: 'openid和appid不匹配' },
      WechatPayInvalidRequestError,
      false,
    ],
  ])('maps %s to its class', async (code, fields, cls, retryable) => {
    fake.setHandler((req, res) => res.end(signedReply(req, fields)));
    const error = await client()
      .unifiedOrder(ORDER)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(cls);
    expect(error).toBeInstanceOf(WechatPayError);
    expect((error as WechatPayError).code).toBe(code);
    expect((error as WechatPayError).retryable).toBe(retryable);
    expect((error as WechatPayError).raw?.err_code).toBe(code);
    expect((error as Error).message).toContain(fields.err_code_des);
  });

  it('maps an (unsigned) return_code=FAIL reply to an invalid request carrying return_msg', async () => {
    fake.setHandler((_req, res) =>
      res.end(
        '<xml><return_code><![CDATA[FAIL]]></return_code><return_msg><![CDATA[签名错误]]></return_msg></xml>',
      ),
    );
    const error = await client()
      .unifiedOrder(ORDER)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WechatPayInvalidRequestError);
    expect((error as WechatPayError).code).toBe('FAIL');
    expect((error as Error).message).toContain('签名错误');
  });

  it('maps ORDERNOTEXIST on orderquery', async () => {
    fake.setHandler((req, res) =>
      res.end(
        signedReply(req, { result_code: 'FAIL', err_code: 'ORDERNOTEXIST', err_code_des: '订单不存在' }),
      ),
    );
    await expect(client().orderQuery({ outTradeNo: 'nope' })).rejects.toBeInstanceOf(
      WechatPayOrderNotExistError,
    );
  });
});

describe('reply signatures', () => {
  it('rejects a forged SUCCESS reply (signed with another key)', async () => {
    fake.setHandler((req, res) => res.end(signedReply(req, { prepay_id: 'wx_forged' }, 'f'.repeat(32))));
    const error = await client()
      .unifiedOrder(ORDER)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WechatPaySignatureError);
    expect((error as Error).message).toMatch(/bad signature/);
  });

  it('rejects a tampered SUCCESS reply', async () => {
    fake.setHandler((req, res) =>
      res.end(signedReply(req, { prepay_id: 'wx_real' }).replace('wx_real', 'wx_evil')),
    );
    await expect(client().unifiedOrder(ORDER)).rejects.toBeInstanceOf(WechatPaySignatureError);
  });

  it('rejects an unsigned SUCCESS reply', async () => {
    fake.setHandler((_req, res) =>
      res.end(
        buildXml({
          return_code: 'SUCCESS',
          result_code: 'SUCCESS',
          appid: APPID,
          mch_id: MCHID,
          prepay_id: 'wx_unsigned',
        }),
      ),
    );
    const error = await client()
      .unifiedOrder(ORDER)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WechatPaySignatureError);
    expect((error as Error).message).toMatch(/not signed/);
  });

  it('rejects a validly signed reply that names another merchant', async () => {
    fake.setHandler((req, res) => res.end(signedReply(req, { mch_id: '1234567890', prepay_id: 'wx1' })));
    await expect(client().unifiedOrder(ORDER)).rejects.toBeInstanceOf(WechatPaySignatureError);
  });

  it('rejects an unsigned business error (result_code=FAIL replies are signed too)', async () => {
    fake.setHandler((_req, res) =>
      res.end(
        buildXml({
          return_code: 'SUCCESS',
          result_code: 'FAIL',
          err_code: 'ORDERPAID',
          appid: APPID,
          mch_id: MCHID,
        }),
      ),
    );
    await expect(client().closeOrder({ outTradeNo: 'x1' })).rejects.toBeInstanceOf(WechatPaySignatureError);
  });
});

describe('transport', () => {
  it('times out as a retryable WechatPayTimeoutError', async () => {
    fake.setHandler(() => {
      /* never answers */
    });
    const error = await client('MD5', 150)
      .unifiedOrder(ORDER)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WechatPayTimeoutError);
    expect(error).toBeInstanceOf(WechatPayTransportError);
    expect((error as WechatPayError).retryable).toBe(true);
  });

  it('maps HTTP errors, unreadable replies and refused connections to WechatPayTransportError', async () => {
    fake.setHandler((_req, res) => {
      res.statusCode = 502;
      res.end('bad gateway');
    });
    await expect(client().orderQuery({ outTradeNo: 'x' })).rejects.toMatchObject({
      code: 'HTTP_502',
      retryable: true,
    });

    fake.setHandler((_req, res) => res.end('<html>maintenance</html>'));
    await expect(client().orderQuery({ outTradeNo: 'x' })).rejects.toMatchObject({
      name: 'WechatPayTransportError',
      code: 'BAD_REPLY',
    });

    fake.setHandler((_req, res) => res.end(`<xml><a>${'x'.repeat(70 * 1024)}</a></xml>`));
    await expect(client().orderQuery({ outTradeNo: 'x' })).rejects.toMatchObject({ code: 'TOO_LARGE' });

    const refused = new WechatPayV2Client({
      appId: APPID,
      mchId: MCHID,
      key: KEY,
      baseUrl: 'http://127.0.0.1:1',
      timeoutMs: 1000,
    });
    await expect(refused.orderQuery({ outTradeNo: 'x' })).rejects.toMatchObject({
      name: 'WechatPayTransportError',
      code: 'NETWORK',
    });
  });

  it('never puts the API key into an error', async () => {
    fake.setHandler((req, res) =>
      res.end(signedReply(req, { result_code: 'FAIL', err_code: 'SYSTEMERROR' }, KEY)),
    );
    const error = (await client()
      .unifiedOrder(ORDER)
      .catch((e: unknown) => e)) as WechatPayError;
    expect(JSON.stringify({ message: error.message, raw: error.raw, code: error.code })).not.toContain(KEY);
  });
});

describe('orderQuery and closeOrder', () => {
  it('returns the typed trade state of a paid order', async () => {
    fake.setHandler((req, res) =>
      res.end(
        signedReply(req, {
          trade_state: 'SUCCESS',
          trade_state_desc: '支付成功',
          out_trade_no: 'no1',
          transaction_id: '4200000001202611250000000001',
          total_fee: '101',
          cash_fee: '101',
          time_end: '20261125140510',
          openid: 'o1',
          attach: '',
        }),
      ),
    );
    const result = await client().orderQuery({ outTradeNo: 'no1' });
    expect(result).toMatchObject({
      tradeState: 'SUCCESS',
      outTradeNo: 'no1',
      transactionId: '4200000001202611250000000001',
      totalFee: 101,
      cashFee: 101,
      timeEnd: '20261125140510',
      openid: 'o1',
    });
    expect(parseXml(fake.received[0]!.body).out_trade_no).toBe('no1');
  });

  it('queries by transaction_id, returns NOTPAY without amounts, refuses an unknown trade_state', async () => {
    fake.setHandler((req, res) => res.end(signedReply(req, { trade_state: 'NOTPAY', out_trade_no: 'no2' })));
    const result = await client().orderQuery({ transactionId: '42000' });
    expect(result.tradeState).toBe('NOTPAY');
    expect(result.totalFee).toBeUndefined();
    expect(parseXml(fake.received[0]!.body).transaction_id).toBe('42000');

    fake.setHandler((req, res) => res.end(signedReply(req, { trade_state: 'WEIRD' })));
    await expect(client().orderQuery({ outTradeNo: 'no2' })).rejects.toMatchObject({ code: 'BAD_REPLY' });
  });

  it('rejects a paid query reply with a malformed amount or without a transaction_id', async () => {
    fake.setHandler((req, res) =>
      res.end(signedReply(req, { trade_state: 'SUCCESS', transaction_id: '42001', total_fee: '1.00' })),
    );
    await expect(client().orderQuery({ outTradeNo: 'no3' })).rejects.toMatchObject({ code: 'BAD_AMOUNT' });
    fake.setHandler((req, res) => res.end(signedReply(req, { trade_state: 'SUCCESS', total_fee: '100' })));
    await expect(client().orderQuery({ outTradeNo: 'no3' })).rejects.toMatchObject({
      code: 'BAD_REPLY',
      message: expect.stringMatching(/transaction_id/),
    });
  });

  it('closes an order and surfaces ORDERPAID', async () => {
    fake.setHandler((req, res) => res.end(signedReply(req, {})));
    await expect(client().closeOrder({ outTradeNo: 'no4' })).resolves.toBeUndefined();
    expect(fake.received[0]!.url).toBe('/pay/closeorder');
    fake.setHandler((req, res) => res.end(signedReply(req, { result_code: 'FAIL', err_code: 'ORDERPAID' })));
    await expect(client().closeOrder({ outTradeNo: 'no4' })).rejects.toBeInstanceOf(WechatPayOrderPaidError);
  });
});

describe('per-call appId and signType (one merchant, several AppIDs)', () => {
  const OTHER_APPID = 'wxfedcba9876543210';

  it('places, queries and closes a trade with the AppID and sign type given per call', async () => {
    fake.setHandler((req, res) =>
      res.end(signedReply(req, { prepay_id: 'wx1', trade_state: 'NOTPAY', out_trade_no: 'no1' })),
    );
    const c = client('MD5');
    await c.unifiedOrder({ ...ORDER, appId: OTHER_APPID, signType: 'HMAC-SHA256' });
    await c.orderQuery({ outTradeNo: 'no1', appId: OTHER_APPID, signType: 'HMAC-SHA256' });
    await c.closeOrder({ outTradeNo: 'no1', appId: OTHER_APPID });
    await c.orderQuery({ transactionId: '42', appId: OTHER_APPID });
    const sent = fake.received.map((r) => parseXml(r.body));
    expect(sent.map((r) => r.appid)).toEqual([OTHER_APPID, OTHER_APPID, OTHER_APPID, OTHER_APPID]);
    expect(sent.map((r) => r.sign_type)).toEqual(['HMAC-SHA256', 'HMAC-SHA256', undefined, undefined]);
    expect(sent.map((r) => r.sign?.length)).toEqual([64, 64, 32, 32]);
    for (const request of sent) expect(verifyV2(request, KEY)).toBe(true);
    // The per-call options are not request fields.
    expect(sent[0]).not.toHaveProperty('appId');
    expect(sent[0]).not.toHaveProperty('signType');
  });

  it('sends the client default AppID and sign type when the call names none', async () => {
    fake.setHandler((req, res) => res.end(signedReply(req, { prepay_id: 'wx1' })));
    await client('HMAC-SHA256').unifiedOrder(ORDER);
    expect(parseXml(fake.received[0]!.body)).toMatchObject({ appid: APPID, sign_type: 'HMAC-SHA256' });
  });

  it("checks the reply's appid against the call's AppID, not the client default", async () => {
    // A validly signed reply naming the default AppID for a call made for another one.
    fake.setHandler((req, res) => res.end(signedReply(req, { appid: APPID, prepay_id: 'wx1' })));
    await expect(client().unifiedOrder({ ...ORDER, appId: OTHER_APPID })).rejects.toBeInstanceOf(
      WechatPaySignatureError,
    );
    fake.setHandler((req, res) => res.end(signedReply(req, { trade_state: 'NOTPAY' })));
    await expect(client().orderQuery({ outTradeNo: 'no1', appId: OTHER_APPID })).resolves.toMatchObject({
      tradeState: 'NOTPAY',
    });
  });
});

describe('unifiedOrder trade types', () => {
  const { openid: _openid, ...noOpenid } = ORDER;

  it('NATIVE: sends product_id, needs no openid, returns the code_url', async () => {
    fake.setHandler((req, res) =>
      res.end(
        signedReply(req, {
          trade_type: 'NATIVE',
          prepay_id: 'wx2',
          code_url: 'weixin://wxpay/bizpayurl?pr=abc',
        }),
      ),
    );
    const result = await client().unifiedOrder({ ...noOpenid, tradeType: 'NATIVE', productId: 'SKU-1' });
    expect(result).toMatchObject({
      prepayId: 'wx2',
      tradeType: 'NATIVE',
      codeUrl: 'weixin://wxpay/bizpayurl?pr=abc',
    });
    expect(result.mwebUrl).toBeUndefined();
    const request = parseXml(fake.received[0]!.body);
    expect(request).toMatchObject({ trade_type: 'NATIVE', product_id: 'SKU-1' });
    expect(request.openid).toBeUndefined();
  });

  it('MWEB: sends scene_info as JSON and returns the mweb_url', async () => {
    fake.setHandler((req, res) =>
      res.end(
        signedReply(req, { trade_type: 'MWEB', prepay_id: 'wx3', mweb_url: 'https://wx.tenpay.com/x' }),
      ),
    );
    const sceneInfo = { h5_info: { type: 'Wap', wap_url: 'https://shop.example.com', wap_name: '商店' } };
    const result = await client().unifiedOrder({ ...noOpenid, tradeType: 'MWEB', sceneInfo });
    expect(result.mwebUrl).toBe('https://wx.tenpay.com/x');
    expect(JSON.parse(parseXml(fake.received[0]!.body).scene_info!)).toEqual(sceneInfo);
  });

  it('APP: needs neither openid nor product_id', async () => {
    fake.setHandler((req, res) => res.end(signedReply(req, { trade_type: 'APP', prepay_id: 'wx4' })));
    await expect(client().unifiedOrder({ ...noOpenid, tradeType: 'APP' })).resolves.toMatchObject({
      prepayId: 'wx4',
      tradeType: 'APP',
    });
    expect(parseXml(fake.received[0]!.body).trade_type).toBe('APP');
  });

  it('refuses, before calling WeChat, JSAPI without openid, NATIVE without product, unknown types', async () => {
    await expect(client().unifiedOrder(noOpenid)).rejects.toThrow(/openid/);
    await expect(client().unifiedOrder({ ...noOpenid, tradeType: 'NATIVE' })).rejects.toThrow(/productId/);
    await expect(
      client().unifiedOrder({ ...ORDER, tradeType: 'MICROPAY' as unknown as 'APP' }),
    ).rejects.toThrow(TypeError);
    expect(fake.received).toHaveLength(0);
  });

  it('refuses a NATIVE or MWEB success without its link', async () => {
    fake.setHandler((req, res) => res.end(signedReply(req, { prepay_id: 'wx5' })));
    await expect(
      client().unifiedOrder({ ...noOpenid, tradeType: 'NATIVE', productId: 'p' }),
    ).rejects.toMatchObject({ code: 'BAD_REPLY' });
    await expect(
      client().unifiedOrder({
        ...noOpenid,
        tradeType: 'MWEB',
        sceneInfo: h5SceneInfo({ wapUrl: 'https://shop.example.com', wapName: 'shop' }),
      }),
    ).rejects.toMatchObject({ code: 'BAD_REPLY' });
  });

  it('refuses, before calling WeChat, MWEB without scene_info.h5_info and APP with an openid', async () => {
    await expect(client().unifiedOrder({ ...noOpenid, tradeType: 'MWEB' })).rejects.toThrow(/sceneInfo/);
    for (const sceneInfo of ['not json', '{"store_info":{}}', { h5_info: 'Wap' }, '{"h5_info":{}}']) {
      await expect(client().unifiedOrder({ ...noOpenid, tradeType: 'MWEB', sceneInfo })).rejects.toThrow(
        TypeError,
      );
    }
    await expect(client().unifiedOrder({ ...ORDER, tradeType: 'APP' })).rejects.toThrow(
      /APP takes no openid/,
    );
    expect(fake.received).toHaveLength(0);
  });

  it('MWEB takes scene_info as a JSON string too; h5SceneInfo builds the Wap shape', async () => {
    expect(h5SceneInfo({ wapUrl: 'https://shop.example.com/shop/', wapName: '商店' })).toEqual({
      h5_info: { type: 'Wap', wap_url: 'https://shop.example.com/shop/', wap_name: '商店' },
    });
    expect(() => h5SceneInfo({ wapUrl: 'shop.example.com', wapName: 'x' })).toThrow(TypeError);
    expect(() => h5SceneInfo({ wapUrl: 'https://shop.example.com', wapName: '' })).toThrow(TypeError);
    fake.setHandler((req, res) =>
      res.end(
        signedReply(req, { trade_type: 'MWEB', prepay_id: 'wx6', mweb_url: 'https://wx.tenpay.com/y' }),
      ),
    );
    const sceneInfo = '{"h5_info":{"type":"Wap","wap_url":"https://shop.example.com","wap_name":"shop"}}';
    await client().unifiedOrder({ ...noOpenid, tradeType: 'MWEB', sceneInfo, spbillCreateIp: '203.0.113.7' });
    const sent = parseXml(fake.received[0]!.body);
    expect(sent.scene_info).toBe(sceneInfo);
    expect(sent.spbill_create_ip).toBe('203.0.113.7');
  });
});

describe('what errors carry (WechatError fields)', () => {
  it('HTTP status, raw reply text and Request-ID, on the shared base class', async () => {
    fake.setHandler((_req, res) => {
      res.statusCode = 503;
      res.setHeader('request-id', 'req-503');
      res.end('upstream busy');
    });
    const http = (await client()
      .orderQuery({ outTradeNo: 'x' })
      .catch((e: unknown) => e)) as WechatPayError;
    expect(http).toBeInstanceOf(WechatError);
    expect(http).toMatchObject({
      code: 'HTTP_503',
      httpStatus: 503,
      rawBody: 'upstream busy',
      requestId: 'req-503',
    });

    let replyText = '';
    fake.setHandler((req, res) => {
      replyText = signedReply(req, { result_code: 'FAIL', err_code: 'ORDERNOTEXIST' });
      res.end(replyText);
    });
    const business = (await client()
      .orderQuery({ outTradeNo: 'x' })
      .catch((e: unknown) => e)) as WechatPayError;
    expect(business).toMatchObject({ httpStatus: 200, rawBody: replyText, requestId: undefined });
    expect(business.raw?.err_code).toBe('ORDERNOTEXIST');

    fake.setHandler((_req, res) => res.end('<html>maintenance</html>'));
    await expect(client().orderQuery({ outTradeNo: 'x' })).rejects.toMatchObject({
      code: 'BAD_REPLY',
      rawBody: '<html>maintenance</html>',
    });
  });

  it('refundQuery needs no client certificate', async () => {
    fake.setHandler((req, res) => res.end(signedReply(req, { refund_count: '0' })));
    await expect(client().refundQuery({ outTradeNo: 'T1' })).resolves.toMatchObject({
      refundCount: 0,
      refunds: [],
    });
  });
});

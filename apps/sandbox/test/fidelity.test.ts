/**
 * Proof of fidelity with an independent client. The sandbox and our server share the signing code in
 * @mp-pay/shared, so a bug there would be invisible to tests that use it on both sides. Here every request
 * signature, every reply and notification check, and every paySign is computed by wechatpay-axios-plugin
 * (an SDK used against the live service), never by @mp-pay/shared.
 */
import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Formatter, Hash, Wechatpay } from 'wechatpay-axios-plugin';
import { DEMO, loginCode, postJson, SUCCESS_XML, useSandboxAndReceiver } from './helpers.ts';
import { libraryReadsV2Notification, libraryV2SignOk as librarySignatureOk } from './channel-helpers.ts';

type Data = Record<string, string>;
interface V2Reply {
  status: number;
  data: Data;
}
interface V2Endpoint {
  post(data: Record<string, string | number>): Promise<V2Reply>;
}
/** The library's failures: AxiosError with its own code and the parsed reply. */
interface LibraryError {
  code?: string;
  response?: { data?: Data };
}

const SIGN_TYPES = ['MD5', 'HMAC-SHA256'] as const;
const ctx = useSandboxAndReceiver();

/**
 * The library insists on APIv3 credentials too; they are never used for these v2 calls, so a throwaway key
 * pair does.
 */
const v3Keys = generateKeyPairSync('rsa', { modulusLength: 2048 });

function library(secret: string = DEMO.key) {
  const { privateKey, publicKey } = v3Keys;
  const wxpay = new Wechatpay({
    mchid: DEMO.mchId,
    serial: 'UNUSED-MERCHANT-SERIAL',
    privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }),
    certs: { 'UNUSED-PLATFORM-SERIAL': publicKey.export({ type: 'spki', format: 'pem' }) },
    secret,
    baseURL: `${ctx.sb.url}/`,
  } as ConstructorParameters<typeof Wechatpay>[0]) as unknown as {
    v2: { pay: Record<'unifiedorder' | 'orderquery' | 'closeorder', V2Endpoint> };
  };
  return wxpay.v2.pay;
}

const key = Hash.keyObjectFrom(DEMO.key);

/** The library's own check of a received map: sign type from the signature length, as its verifier does. */
async function failure(promise: Promise<unknown>): Promise<{ code: string | undefined; data: Data }> {
  const err = (await promise.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (e: unknown) => e,
  )) as LibraryError;
  return { code: err.code, data: err.response?.data ?? {} };
}

/** sign_type is sent only for HMAC-SHA256, MD5 being the default, as merchants usually do. */
const signTypeField = (signType: string): Data => (signType === 'MD5' ? {} : { sign_type: signType });

function orderData(openid: string, signType: string, extra: Record<string, string | number> = {}) {
  return {
    appid: DEMO.appId,
    mch_id: DEMO.mchId,
    ...signTypeField(signType),
    body: '独立客户端测试',
    out_trade_no: `FID${Formatter.nonce(20)}`,
    total_fee: 1234,
    spbill_create_ip: '198.51.100.23',
    notify_url: ctx.receiver.url,
    trade_type: 'JSAPI',
    openid,
    attach: 'fidelity & <check>',
    ...extra,
  };
}

describe('wechatpay-axios-plugin against the sandbox', () => {
  for (const signType of SIGN_TYPES) {
    it(`unifiedorder → pay → notify → orderquery → closeorder (${signType})`, async () => {
      const pay = library();
      const { openid } = await loginCode(ctx.sb, `fidelity-${signType}`);
      const data = orderData(openid, signType);

      // The library signs the request and verifies the reply's signature itself (it throws otherwise).
      const placed = await pay.unifiedorder.post(data);
      expect(placed.data).toMatchObject({
        return_code: 'SUCCESS',
        result_code: 'SUCCESS',
        trade_type: 'JSAPI',
      });
      expect(placed.data.sign).toHaveLength(signType === 'MD5' ? 32 : 64);
      expect(librarySignatureOk(placed.data)).toBe(true);

      // paySign as the library's README shows for wx.requestPayment.
      const params: Data = {
        appId: DEMO.appId,
        timeStamp: `${Formatter.timestamp()}`,
        nonceStr: Formatter.nonce(),
        package: `prepay_id=${placed.data.prepay_id}`,
        signType,
      };
      params.paySign = Hash.sign(signType, params, key);
      const before = ctx.receiver.received.length;
      expect(await postJson(`${ctx.sb.url}/sandbox/pay`, params)).toEqual({
        status: 200,
        json: { errMsg: 'requestPayment:ok' },
      });

      const notification = await libraryReadsV2Notification(ctx.receiver, data.out_trade_no, before);
      expect(librarySignatureOk(notification)).toBe(true);
      expect(notification).toMatchObject({
        return_code: 'SUCCESS',
        result_code: 'SUCCESS',
        appid: DEMO.appId,
        mch_id: DEMO.mchId,
        out_trade_no: data.out_trade_no,
        total_fee: '1234',
        attach: 'fidelity & <check>',
        openid,
      });

      const queried = await pay.orderquery.post({
        appid: DEMO.appId,
        mch_id: DEMO.mchId,
        out_trade_no: data.out_trade_no,
        ...signTypeField(signType),
      });
      expect(queried.data).toMatchObject({
        trade_state: 'SUCCESS',
        transaction_id: notification.transaction_id,
        total_fee: '1234',
      });

      const closed = await failure(
        pay.closeorder.post({ appid: DEMO.appId, mch_id: DEMO.mchId, out_trade_no: data.out_trade_no }),
      );
      expect(closed.code).toBe('EV2_RES_STATUS_CODE_NOT_SUCESS');
      expect(closed.data).toMatchObject({ result_code: 'FAIL', err_code: 'ORDERPAID' });
      expect(librarySignatureOk(closed.data)).toBe(true);
    });

    it(`closes an unpaid order and re-submits (${signType})`, async () => {
      const pay = library();
      const { openid } = await loginCode(ctx.sb, 'fidelity-close');
      const data = orderData(openid, signType);
      const first = await pay.unifiedorder.post(data);
      const again = await pay.unifiedorder.post(data);
      expect(again.data.prepay_id).not.toBe(first.data.prepay_id);

      const changed = await failure(pay.unifiedorder.post({ ...data, total_fee: 1 }));
      expect(changed.data).toMatchObject({ err_code: 'INVALID_REQUEST', err_code_des: '201 商户订单号重复' });
      expect(librarySignatureOk(changed.data)).toBe(true);

      const sign = signTypeField(signType);
      const closed = await pay.closeorder.post({
        appid: DEMO.appId,
        mch_id: DEMO.mchId,
        out_trade_no: data.out_trade_no,
        ...sign,
      });
      expect(closed.data).toMatchObject({ return_code: 'SUCCESS', result_code: 'SUCCESS' });
      const queried = await pay.orderquery.post({
        appid: DEMO.appId,
        mch_id: DEMO.mchId,
        out_trade_no: data.out_trade_no,
        ...sign,
      });
      expect(queried.data.trade_state).toBe('CLOSED');
      const reopened = await failure(pay.unifiedorder.post(data));
      expect(reopened.data).toMatchObject({ err_code: 'ORDERCLOSED' });
    });
  }

  it('answers a wrong key with the unsigned 签名错误 reply', async () => {
    const result = await failure(
      library('W'.repeat(32)).orderquery.post({ appid: DEMO.appId, mch_id: DEMO.mchId, out_trade_no: 'X1' }),
    );
    expect(result.code).toBe('EV2_RES_STATUS_CODE_NOT_SUCESS');
    expect(result.data).toEqual({ return_code: 'FAIL', return_msg: '签名错误' });
  });

  it('answers a missing field by name', async () => {
    const { openid } = await loginCode(ctx.sb);
    const { body: _body, ...withoutBody } = orderData(openid, 'MD5');
    const result = await failure(library().unifiedorder.post(withoutBody));
    expect(result.data).toEqual({ return_code: 'FAIL', return_msg: '缺少参数body' });
  });

  it('answers ORDERNOTEXIST and PARAM_ERROR with signed business errors', async () => {
    const pay = library();
    const missing = await failure(
      pay.orderquery.post({ appid: DEMO.appId, mch_id: DEMO.mchId, out_trade_no: 'NOPE' }),
    );
    expect(missing.data).toMatchObject({
      return_code: 'SUCCESS',
      result_code: 'FAIL',
      err_code: 'ORDERNOTEXIST',
    });
    expect(librarySignatureOk(missing.data)).toBe(true);
    const invented = await failure(
      pay.unifiedorder.post(orderData('oNeverIssued000000000000000', 'HMAC-SHA256')),
    );
    expect(invented.data).toMatchObject({ err_code: 'PARAM_ERROR', err_code_des: 'appid和openid不匹配' });
    expect(invented.data.sign).toHaveLength(64);
    expect(librarySignatureOk(invented.data)).toBe(true);
  });

  it('notifies a coupon-paid order with fields the library verifies over the raw map', async () => {
    const { openid } = await loginCode(ctx.sb);
    const data = orderData(openid, 'HMAC-SHA256', { total_fee: 900 });
    await postJson(`${ctx.sb.url}/sandbox/faults`, {
      out_trade_no: data.out_trade_no,
      faults: { coupon: { fee: 100, type: 'CASH' } },
    });
    const placed = await library().unifiedorder.post(data);
    const params: Data = {
      appId: DEMO.appId,
      timeStamp: `${Formatter.timestamp()}`,
      nonceStr: Formatter.nonce(),
      package: `prepay_id=${placed.data.prepay_id}`,
      signType: 'HMAC-SHA256',
    };
    params.paySign = Hash.sign('HMAC-SHA256', params, key);
    ctx.receiver.reply = () => ({ body: SUCCESS_XML });
    expect((await postJson(`${ctx.sb.url}/sandbox/pay`, params)).json.errMsg).toBe('requestPayment:ok');
    const notification = await libraryReadsV2Notification(ctx.receiver, data.out_trade_no);
    expect(notification).toMatchObject({
      coupon_count: '1',
      coupon_fee_0: '100',
      coupon_type_0: 'CASH',
      cash_fee: '800',
    });
    expect(librarySignatureOk(notification)).toBe(true);
  });

  it('rejects a paySign the library computed with the unifiedorder field names (appid, timestamp)', async () => {
    const { openid } = await loginCode(ctx.sb);
    const placed = await library().unifiedorder.post(orderData(openid, 'MD5'));
    const wrong: Data = {
      appid: DEMO.appId,
      timestamp: `${Formatter.timestamp()}`,
      nonceStr: Formatter.nonce(),
      package: `prepay_id=${placed.data.prepay_id}`,
      signType: 'MD5',
    };
    const paySign = Hash.sign('MD5', wrong, key);
    const res = await postJson(`${ctx.sb.url}/sandbox/pay`, {
      ...wrong,
      appId: DEMO.appId,
      timeStamp: wrong.timestamp,
      paySign,
    });
    expect(res).toMatchObject({ status: 400, json: { errMsg: 'requestPayment:fail 支付验证签名失败' } });
  });
});

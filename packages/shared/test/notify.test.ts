import { describe, expect, it } from 'vitest';
import {
  buildXml,
  NOTIFY_SUCCESS_XML,
  notifyFailXml,
  parseXml,
  returnFailXml,
  signV2,
  verifyPaymentNotification,
  WechatPayInvalidRequestError,
  WechatPaySignatureError,
  WechatPayXmlError,
} from '../src/wechatpay/index.ts';

const KEY = 'mppaySandboxDemoKey0000000000000';
const OPTS = { key: KEY, appId: 'wx5ad0b0c0de5a4db0', mchId: '1900000109' };

function notification(
  fields: Record<string, string> = {},
  signType: 'MD5' | 'HMAC-SHA256' = 'MD5',
  key = KEY,
) {
  const map: Record<string, string> = {
    return_code: 'SUCCESS',
    appid: OPTS.appId,
    mch_id: OPTS.mchId,
    nonce_str: 'n0nce',
    result_code: 'SUCCESS',
    openid: 'oBuyer',
    is_subscribe: 'N',
    trade_type: 'JSAPI',
    bank_type: 'CMC',
    total_fee: '2990',
    fee_type: 'CNY',
    cash_fee: '2990',
    transaction_id: '4200000001202611250000000001',
    out_trade_no: '20261125140000abcdefghijklmnopqr',
    attach: '',
    time_end: '20261125140510',
    ...fields,
  };
  map.sign = signV2(map, key, signType);
  return buildXml(map);
}

describe('verifyPaymentNotification', () => {
  it('returns the typed notification and the raw map', () => {
    const n = verifyPaymentNotification(notification(), OPTS);
    expect(n).toMatchObject({
      resultCode: 'SUCCESS',
      outTradeNo: '20261125140000abcdefghijklmnopqr',
      transactionId: '4200000001202611250000000001',
      totalFee: 2990,
      cashFee: 2990,
      timeEnd: '20261125140510',
    });
    expect(n.raw.bank_type).toBe('CMC');
  });

  it('verifies coupon fields and an HMAC-SHA256 sign without sign_type, from a Buffer', () => {
    const xml = notification(
      { coupon_count: '1', coupon_fee: '10', coupon_fee_0: '10', coupon_id_0: 'C1', cash_fee: '2980' },
      'HMAC-SHA256',
    );
    expect(verifyPaymentNotification(Buffer.from(xml), OPTS).raw.coupon_id_0).toBe('C1');
  });

  it('names the usual mistake when given a parsed object', () => {
    expect(() => verifyPaymentNotification(parseXml(notification()), OPTS)).toThrow(
      /pass the raw request body/,
    );
  });

  it('rejects forged, unsigned, foreign and malformed notifications', () => {
    expect(() => verifyPaymentNotification(notification({}, 'MD5', 'x'.repeat(32)), OPTS)).toThrow(
      WechatPaySignatureError,
    );
    expect(() => verifyPaymentNotification(notification().replace('2990', '1'), OPTS)).toThrow(
      WechatPaySignatureError,
    );
    const unsigned = buildXml({ ...parseXml(notification()), sign: undefined });
    expect(() => verifyPaymentNotification(unsigned, OPTS)).toThrow(/not signed/);
    expect(() => verifyPaymentNotification(notification({ mch_id: '1234' }), OPTS)).toThrow(
      WechatPayInvalidRequestError,
    );
    expect(() => verifyPaymentNotification(notification({ appid: 'wxother' }), OPTS)).toThrow(
      /another appid/,
    );
    expect(() => verifyPaymentNotification(notification({ total_fee: '29.90' }), OPTS)).toThrow(
      /whole number of fen/,
    );
    expect(() => verifyPaymentNotification(notification({ total_fee: '-1' }), OPTS)).toThrow(
      /whole number of fen/,
    );
    expect(() => verifyPaymentNotification('<!DOCTYPE x><xml/>', OPTS)).toThrow(WechatPayXmlError);
  });

  it('accepts any of the AppIDs bound to the merchant when given several', () => {
    const other = 'wxfedcba9876543210';
    const xml = notification({ appid: other });
    expect(verifyPaymentNotification(xml, { ...OPTS, appId: new Set([OPTS.appId, other]) }).raw.appid).toBe(
      other,
    );
    expect(verifyPaymentNotification(xml, { ...OPTS, appId: [OPTS.appId, other] }).raw.appid).toBe(other);
    expect(() => verifyPaymentNotification(xml, { ...OPTS, appId: new Set([OPTS.appId]) })).toThrow(
      /another appid/,
    );
    expect(() => verifyPaymentNotification(notification({ appid: '' }), { ...OPTS, appId: [] })).toThrow(
      /another appid/,
    );
  });

  it('builds the SUCCESS and FAIL replies WeChat expects', () => {
    expect(parseXml(NOTIFY_SUCCESS_XML)).toEqual({ return_code: 'SUCCESS', return_msg: 'OK' });
    expect(parseXml(notifyFailXml('storage unavailable'))).toEqual({
      return_code: 'FAIL',
      return_msg: 'storage unavailable',
    });
  });

  it('has one FAIL-reply builder, which never throws on an odd message', () => {
    expect(notifyFailXml).toBe(returnFailXml);
    expect(returnFailXml('签名错误')).toBe(
      '<xml><return_code>FAIL</return_code><return_msg><![CDATA[签名错误]]></return_msg></xml>',
    );
    expect(parseXml(returnFailXml('bad \u0000 byte \uD800')).return_msg).toBe('bad \uFFFD byte \uFFFD');
  });
});

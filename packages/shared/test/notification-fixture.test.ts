import { describe, expect, it } from 'vitest';
import { paymentNotificationMap, signedPaymentNotification } from '../src/testing/index.ts';
import {
  parseXml,
  SANDBOX_DEMO,
  signTypeOf,
  verifyPaymentNotification,
  verifyV2,
  WechatPaySignatureError,
} from '../src/wechatpay/index.ts';

const BASE = {
  appId: SANDBOX_DEMO.appId,
  mchId: SANDBOX_DEMO.mchId,
  key: SANDBOX_DEMO.key,
  outTradeNo: '20261125140000abcdefghijklmnopqr',
  totalFee: 2990,
  transactionId: '4200000001202611250000000001',
  openid: 'oBuyer',
  timeEnd: '20261125140510',
};
const VERIFY = { key: SANDBOX_DEMO.key, appId: SANDBOX_DEMO.appId, mchId: SANDBOX_DEMO.mchId };

describe('signedPaymentNotification (@mp-pay/shared/testing)', () => {
  it("builds WeChat's field set, signed, and the receiver verifies it", () => {
    const { map, xml } = signedPaymentNotification(BASE);
    expect(Object.keys(map).sort()).toEqual(
      [
        'appid',
        'bank_type',
        'cash_fee',
        'fee_type',
        'is_subscribe',
        'mch_id',
        'nonce_str',
        'openid',
        'out_trade_no',
        'result_code',
        'return_code',
        'sign',
        'time_end',
        'total_fee',
        'trade_type',
        'transaction_id',
      ].sort(),
    );
    expect(map).toMatchObject({
      return_code: 'SUCCESS',
      result_code: 'SUCCESS',
      trade_type: 'JSAPI',
      cash_fee: '2990',
    });
    expect(map.nonce_str).toMatch(/^[A-Za-z0-9]{32}$/);
    expect(parseXml(xml)).toEqual(map);
    expect(verifyPaymentNotification(xml, VERIFY)).toMatchObject({
      totalFee: 2990,
      outTradeNo: BASE.outTradeNo,
    });
  });

  it('omits sign_type for MD5, writes it for HMAC-SHA256 unless told to leave it out', () => {
    const md5 = signedPaymentNotification(BASE).map;
    expect(md5.sign_type).toBeUndefined();
    expect(md5.sign).toHaveLength(32);
    const hmac = signedPaymentNotification({ ...BASE, signType: 'HMAC-SHA256' }).map;
    expect(hmac.sign_type).toBe('HMAC-SHA256');
    const bare = signedPaymentNotification({ ...BASE, signType: 'HMAC-SHA256', omitSignType: true }).map;
    expect(bare.sign_type).toBeUndefined();
    expect(signTypeOf(bare)).toBe('HMAC-SHA256');
    for (const map of [md5, hmac, bare]) expect(verifyV2(map, BASE.key)).toBe(true);
  });

  it('is deterministic with a nonce, takes extra fields last (undefined removes one), signs them all', () => {
    const input = {
      ...BASE,
      nonce: 'fixedNonce',
      attach: '会员 & <b>',
      cashFee: 2890,
      extra: { coupon_count: '1', coupon_fee_0: 100, bank_type: 'CMB_CREDIT', is_subscribe: undefined },
    };
    const a = signedPaymentNotification(input);
    expect(a).toEqual(signedPaymentNotification(input));
    expect(a.map).toMatchObject({
      attach: '会员 & <b>',
      cash_fee: '2890',
      coupon_fee_0: '100',
      bank_type: 'CMB_CREDIT',
    });
    expect(a.map).not.toHaveProperty('is_subscribe');
    expect(verifyPaymentNotification(a.xml, VERIFY).raw.coupon_fee_0).toBe('100');
    const { sign: _sign, ...unsigned } = a.map;
    expect(paymentNotificationMap(input)).toEqual(unsigned);
  });

  it('builds forgeries on request: another key fails verification', () => {
    const forged = signedPaymentNotification({ ...BASE, key: 'f'.repeat(32) });
    expect(() => verifyPaymentNotification(forged.xml, VERIFY)).toThrow(WechatPaySignatureError);
  });

  it('builds FAIL notifications', () => {
    const { map } = signedPaymentNotification({
      ...BASE,
      resultCode: 'FAIL',
      extra: { err_code: 'PAYERROR', err_code_des: '支付失败' },
    });
    expect(
      verifyPaymentNotification(signedPaymentNotification({ ...BASE, resultCode: 'FAIL' }).xml, VERIFY)
        .resultCode,
    ).toBe('FAIL');
    expect(map).toMatchObject({ result_code: 'FAIL', err_code: 'PAYERROR' });
  });
});

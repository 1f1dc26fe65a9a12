import { describe, expect, expectTypeOf, it } from 'vitest';
import * as core from '@mp-pay/shared/core';
import * as bills from '@mp-pay/shared/bills';
import * as login from '@mp-pay/shared/login';
import * as v3 from '@mp-pay/shared/v3';
import * as testing from '@mp-pay/shared/testing';
import * as v2 from '@mp-pay/shared/v2';
import * as wechatpay from '@mp-pay/shared/wechatpay';
import type {
  Code2SessionOptions,
  MiniProgramPayInput,
  MiniProgramPayParams,
  OrderQueryResult,
  OrderRef,
  ParseXmlOptions,
  PaymentNotification,
  SignType,
  TradeState,
  UnifiedOrderRequest,
  UnifiedOrderResult,
  V2Params,
  V2Value,
  VerifyNotificationOptions,
  WechatPayRawMap,
  WechatPayV2ClientOptions,
  WechatSession,
  XmlMap,
} from '@mp-pay/shared/wechatpay';

/** Every runtime name @mp-pay/shared/wechatpay exported before the split into core / v2 / login. */
const WECHATPAY_BEFORE_SPLIT = [
  'Code2SessionClient',
  'DEFAULT_MAX_XML_BYTES',
  'NOTIFY_SUCCESS_XML',
  'OUT_TRADE_NO_RE',
  'SANDBOX_DEFAULT_PORT',
  'SANDBOX_DEMO',
  'SIGN_TYPES',
  'WECHATPAY_API_BASE',
  'WECHAT_API_BASE',
  'WechatLoginBlockedError',
  'WechatLoginCodeUsedError',
  'WechatLoginError',
  'WechatLoginInvalidCodeError',
  'WechatLoginRateLimitedError',
  'WechatLoginUnavailableError',
  'WechatPayError',
  'WechatPayInvalidRequestError',
  'WechatPayOrderClosedError',
  'WechatPayOrderNotExistError',
  'WechatPayOrderPaidError',
  'WechatPaySignatureError',
  'WechatPaySystemError',
  'WechatPayTimeoutError',
  'WechatPayTransportError',
  'WechatPayV2Client',
  'WechatPayXmlError',
  'buildXml',
  'canonicalString',
  'createNonce',
  'createOutTradeNo',
  'errorFromResult',
  'formatWechatTime',
  'isSignType',
  'miniProgramPayParams',
  'notifyFailXml',
  'parseFen',
  'parseWechatTime',
  'parseXml',
  'readCapped',
  'signTypeOf',
  'signV2',
  'verifyPaymentNotification',
  'verifyV2',
];

describe('package subpaths', () => {
  it('@mp-pay/shared/wechatpay still exports every name it exported before the split', () => {
    for (const name of WECHATPAY_BEFORE_SPLIT) expect(wechatpay, name).toHaveProperty(name);
    // …and the types, checked by the typecheck of this file.
    expectTypeOf<SignType>().toEqualTypeOf<'MD5' | 'HMAC-SHA256'>();
    expectTypeOf<
      | Code2SessionOptions
      | MiniProgramPayInput
      | MiniProgramPayParams
      | OrderQueryResult
      | OrderRef
      | ParseXmlOptions
      | PaymentNotification
      | TradeState
      | UnifiedOrderRequest
      | UnifiedOrderResult
      | V2Params
      | V2Value
      | VerifyNotificationOptions
      | WechatPayRawMap
      | WechatPayV2ClientOptions
      | WechatSession
      | XmlMap
    >().not.toBeNever();
  });

  it('the barrel is exactly core + v2 + v3 + login + bills + the sandbox demo, the same objects', () => {
    for (const part of [core, v2, login, v3, bills]) {
      for (const [name, value] of Object.entries(part))
        expect(wechatpay[name as keyof typeof wechatpay], name).toBe(value);
    }
    const covered = new Set([
      ...Object.keys(core),
      ...Object.keys(v2),
      ...Object.keys(login),
      ...Object.keys(v3),
      ...Object.keys(bills),
    ]);
    expect(
      Object.keys(wechatpay)
        .filter((name) => !covered.has(name))
        .sort(),
    ).toEqual([
      'SANDBOX_DEFAULT_PORT',
      'SANDBOX_DEMO',
      'SANDBOX_DEMO_ADMIN_TOKEN',
      'SANDBOX_DEMO_CHANNELS',
      'SANDBOX_DEMO_COMBINE_SUB_MERCHANTS',
      'SANDBOX_DEMO_TLS',
      'SANDBOX_DEMO_V3',
      'isSandboxDemoTls',
    ]);
  });

  it('@mp-pay/shared/bills exports the names the reconciliation helper writes against', () => {
    for (const name of [
      'parseBillLines',
      'billLines',
      'yuanToFen',
      'formatBill',
      'billSummaryOf',
      'BillFormatError',
      'checkBillHash',
    ]) {
      expect(bills, name).toHaveProperty(name);
    }
    expectTypeOf<bills.BillType>().toEqualTypeOf<'ALL' | 'SUCCESS' | 'REFUND'>();
    expectTypeOf<bills.BillColumns>().toEqualTypeOf<'current' | 'legacy'>();
    expectTypeOf<bills.BillRow['settlementTotalFen']>().toEqualTypeOf<number>();
    expectTypeOf<bills.BillSummary['fee']>().toEqualTypeOf<string>();
    expect(new bills.BillFormatError(3, 'x').line).toBe(3);
    expect(Object.keys(bills).some((name) => name.startsWith('WechatPay'))).toBe(false);
  });

  it('keeps the families apart: core knows no protocol, login no v2', () => {
    expect(Object.keys(core).some((name) => /^WechatPay|^WechatLogin|Xml|Notif/.test(name))).toBe(false);
    expect(Object.keys(login).some((name) => name.startsWith('WechatPay'))).toBe(false);
    expect(testing.signedPaymentNotification).toBeTypeOf('function');
  });

  it('one error base: v2 and login errors are WechatErrors', () => {
    const pay = new v2.WechatPaySystemError(
      'SYSTEMERROR',
      'busy',
      { err_code: 'SYSTEMERROR' },
      { httpStatus: 200 },
    );
    const signIn = new login.WechatLoginUnavailableError(-1, 'busy', { rawBody: '{"errcode":-1}' });
    for (const error of [pay, signIn]) {
      expect(error).toBeInstanceOf(core.WechatError);
      expect(error).toBeInstanceOf(Error);
      expect(error.retryable).toBe(true);
    }
    expect(pay).toMatchObject({ name: 'WechatPaySystemError', code: 'SYSTEMERROR', httpStatus: 200 });
    expect(pay.raw).toEqual({ err_code: 'SYSTEMERROR' });
    expect(signIn).toMatchObject({ code: -1, rawBody: '{"errcode":-1}', httpStatus: undefined });
    expect(new v2.WechatPayTimeoutError(50)).toMatchObject({ code: 'TIMEOUT', retryable: true });
    expect('cause' in new v2.WechatPayError('X', 'no cause')).toBe(false);
    expect(new v2.WechatPayError('X', 'with cause', undefined, { cause: 1 }).cause).toBe(1);
  });
});

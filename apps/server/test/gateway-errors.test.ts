/**
 * The one mapping from v2 failures to gateway reasons (src/gateway/v2/errors.ts): services branch on these
 * reasons only, so each v2 class and code must land on the reason the services expect.
 */
import {
  WechatPayError,
  WechatPayInvalidRequestError,
  WechatPayOrderClosedError,
  WechatPayOrderNotExistError,
  WechatPayOrderPaidError,
  WechatPaySignatureError,
  WechatPaySystemError,
  WechatPayTimeoutError,
  WechatPayTransportError,
  WechatPayXmlError,
  WechatPayV3BadMessageError,
  WechatPayV3DecryptError,
  WechatPayV3Error,
  WechatPayV3OrderClosedError,
  WechatPayV3OrderNotExistError,
  WechatPayV3OrderPaidError,
  WechatPayV3SignatureError,
} from '@mp-pay/shared/wechatpay';
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../src/gateway/errors.ts';
import { gatewayError, notificationError } from '../src/gateway/v2/errors.ts';
import { gatewayErrorV3, notificationErrorV3 } from '../src/gateway/v3/errors.ts';

describe('v2 → gateway error mapping', () => {
  const cases: [string, WechatPayError, string, string, boolean][] = [
    ['ORDERPAID', new WechatPayOrderPaidError('ORDERPAID', 'paid'), 'unifiedorder', 'already_paid', false],
    ['ORDERCLOSED', new WechatPayOrderClosedError('ORDERCLOSED', 'closed'), 'unifiedorder', 'closed', false],
    [
      'ORDERNOTEXIST',
      new WechatPayOrderNotExistError('ORDERNOTEXIST', 'x'),
      'orderquery',
      'not_found',
      false,
    ],
    ['SYSTEMERROR', new WechatPaySystemError('SYSTEMERROR', 'busy'), 'unifiedorder', 'unavailable', true],
    ['a timeout', new WechatPayTimeoutError(10_000), 'orderquery', 'unavailable', true],
    ['a network failure', new WechatPayTransportError('NETWORK', 'down'), 'closeorder', 'unavailable', true],
    ['a forged reply', new WechatPaySignatureError('bad sign'), 'orderquery', 'bad_reply', true],
    ['SUCCESS without prepay_id', new WechatPayError('NO_PREPAY_ID', 'x'), 'unifiedorder', 'bad_reply', true],
    [
      'closeorder too early',
      new WechatPayInvalidRequestError('INVALID_REQUEST', 'x'),
      'closeorder',
      'too_early',
      false,
    ],
    [
      'INVALID_REQUEST elsewhere',
      new WechatPayInvalidRequestError('INVALID_REQUEST', 'x'),
      'unifiedorder',
      'refused',
      false,
    ],
    [
      'a bad signature of ours',
      new WechatPayInvalidRequestError('FAIL', 'sign'),
      'unifiedorder',
      'refused',
      false,
    ],
  ];
  for (const [what, err, call, reason, retryable] of cases) {
    it(`${what} from ${call} → ${reason}`, () => {
      const mapped = gatewayError(err, call);
      expect(mapped).toBeInstanceOf(GatewayError);
      expect(mapped).toMatchObject({ reason, retryable, wechatCode: err.code });
      expect(mapped.cause).toBe(err);
    });
  }

  it('does not disguise a programming error as a WeChat answer', () => {
    expect(() => gatewayError(new TypeError('bug'), 'unifiedorder')).toThrow(TypeError);
  });

  it('maps notification failures to rejection reasons, keeping the claimed out_trade_no for the log', () => {
    expect(notificationError(new WechatPayXmlError('DOCTYPE'))).toMatchObject({ reason: 'unreadable' });
    expect(notificationError(new WechatPaySignatureError('bad', { out_trade_no: 'X1' }))).toMatchObject({
      reason: 'signature',
      claimedOutTradeNo: 'X1',
    });
    expect(
      notificationError(
        new WechatPayInvalidRequestError('MERCHANT_MISMATCH', 'other', { out_trade_no: 'X2' }),
      ),
    ).toMatchObject({ reason: 'merchant', claimedOutTradeNo: 'X2' });
    expect(notificationError(new WechatPayInvalidRequestError('LACK_PARAMS', 'x'))).toMatchObject({
      reason: 'fields',
    });
  });
});

describe('v3 → gateway error mapping', () => {
  const v3 = (code: string, httpStatus: number) => new WechatPayV3Error(code, code, { httpStatus });
  const cases: [string, Error, string, boolean][] = [
    [
      '403 ORDER_PAID',
      new WechatPayV3OrderPaidError('ORDER_PAID', 'paid', { httpStatus: 403 }),
      'already_paid',
      false,
    ],
    [
      '400 ORDER_CLOSED',
      new WechatPayV3OrderClosedError('ORDER_CLOSED', 'closed', { httpStatus: 400 }),
      'closed',
      false,
    ],
    [
      '404 ORDER_NOT_EXIST',
      new WechatPayV3OrderNotExistError('ORDER_NOT_EXIST', 'x', { httpStatus: 404 }),
      'not_found',
      false,
    ],
    ['429 FREQUENCY_LIMITED', v3('FREQUENCY_LIMITED', 429), 'unavailable', true],
    ['500 SYSTEM_ERROR', v3('SYSTEM_ERROR', 500), 'unavailable', true],
    ['401 SIGN_ERROR (our signature)', v3('SIGN_ERROR', 401), 'refused', false],
    ['400 PARAM_ERROR', v3('PARAM_ERROR', 400), 'refused', false],
    ['a forged reply', new WechatPayV3SignatureError('BAD_SIGNATURE', 'forged'), 'bad_reply', true],
    ['a signed reply of the wrong shape', new WechatPayV3BadMessageError('x'), 'bad_reply', true],
  ];
  for (const [what, err, reason, retryable] of cases) {
    it(`${what} → ${reason}`, () => {
      expect(gatewayErrorV3(err, 'call')).toMatchObject({ reason, retryable });
    });
  }

  it('closing a trade younger than 5 minutes is too early (retried later), elsewhere a refusal', () => {
    expect(gatewayErrorV3(v3('INVALID_REQUEST', 400), 'close')).toMatchObject({ reason: 'too_early' });
    expect(gatewayErrorV3(v3('INVALID_REQUEST', 400), 'jsapi prepay')).toMatchObject({ reason: 'refused' });
  });

  it('maps notification failures: signature and decryption failures are untrusted, the rest unreadable', () => {
    expect(notificationErrorV3(new WechatPayV3SignatureError('STALE_TIMESTAMP', 'old'))).toMatchObject({
      reason: 'signature',
    });
    expect(notificationErrorV3(new WechatPayV3DecryptError('TAG_MISMATCH', 'tag mismatch'))).toMatchObject({
      reason: 'signature',
    });
    expect(notificationErrorV3(new WechatPayV3BadMessageError('not JSON'))).toMatchObject({
      reason: 'unreadable',
    });
    expect(() => notificationErrorV3(new TypeError('bug'))).toThrow(TypeError);
  });
});

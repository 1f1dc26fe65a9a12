import { describe, expect, it } from 'vitest';
import * as core from '@mp-pay/shared/core';
import * as v2 from '@mp-pay/shared/v2';
import * as v3 from '@mp-pay/shared/v3';
import * as wechatpay from '@mp-pay/shared/wechatpay';
import {
  appPayParamsV3,
  formatV3Time,
  miniProgramPayParamsV3,
  parseV3Time,
  verifySignatureV3,
} from '../../src/v3/index.ts';
import { SANDBOX_DEMO_V3 as D } from '../../src/wechatpay/demo-v3.ts';

describe('miniProgramPayParamsV3 / appPayParamsV3', () => {
  it('mini-program: the five wx.requestPayment fields, paySign over appId\\ntimeStamp\\nnonceStr\\npackage\\n', () => {
    const p = miniProgramPayParamsV3({
      appId: 'wx5ad0b0c0de5a4db0',
      prepayId: 'wx2611',
      privateKey: D.mchPrivateKey,
    });
    expect(Object.keys(p)).toEqual(['timeStamp', 'nonceStr', 'package', 'signType', 'paySign']);
    expect(p).toMatchObject({ package: 'prepay_id=wx2611', signType: 'RSA' });
    expect(p.timeStamp).toMatch(/^\d{10}$/);
    const message = `wx5ad0b0c0de5a4db0\n${p.timeStamp}\n${p.nonceStr}\nprepay_id=wx2611\n`;
    expect(verifySignatureV3(message, p.paySign, D.mchPublicKey)).toBe(true);
  });

  it('APP: sign over appid\\ntimestamp\\nnoncestr\\nprepayid\\n, package Sign=WXPay', () => {
    const p = appPayParamsV3({
      appId: 'wx5ad0b0c0de5a4db1',
      partnerId: '1900000109',
      prepayId: 'wx2612',
      privateKey: D.mchPrivateKey,
      timestamp: 1_764_547_200,
      nonceStr: 'abc',
    });
    expect(p).toMatchObject({
      appid: 'wx5ad0b0c0de5a4db1',
      partnerid: '1900000109',
      prepayid: 'wx2612',
      package: 'Sign=WXPay',
      noncestr: 'abc',
      timestamp: '1764547200',
    });
    expect(verifySignatureV3('wx5ad0b0c0de5a4db1\n1764547200\nabc\nwx2612\n', p.sign, D.mchPublicKey)).toBe(
      true,
    );
  });

  it('refuses missing ids, a public key, and timestamps that are not seconds', () => {
    expect(() => miniProgramPayParamsV3({ appId: '', prepayId: 'x', privateKey: D.mchPrivateKey })).toThrow(
      TypeError,
    );
    expect(() => miniProgramPayParamsV3({ appId: 'wx', prepayId: 'x', privateKey: D.mchPublicKey })).toThrow(
      TypeError,
    );
    expect(() =>
      miniProgramPayParamsV3({ appId: 'wx', prepayId: 'x', privateKey: D.mchPrivateKey, timeStamp: '1.5' }),
    ).toThrow(TypeError);
  });
});

describe('v3 times', () => {
  it('formats in Beijing time with +08:00 and parses back', () => {
    expect(formatV3Time(new Date('2026-11-25T06:30:00Z'))).toBe('2026-11-25T14:30:00+08:00');
    expect(formatV3Time(new Date('2026-11-25T18:00:00.999Z'))).toBe('2026-11-26T02:00:00+08:00');
    expect(parseV3Time('2026-11-25T14:30:00+08:00')?.toISOString()).toBe('2026-11-25T06:30:00.000Z');
    expect(parseV3Time('20261125143000')).toBeUndefined();
    expect(parseV3Time('2026-11-25T14:30:00')).toBeUndefined();
  });
});

describe('@mp-pay/shared/v3 exports', () => {
  it('exports the public API', () => {
    for (const name of [
      'signV3',
      'verifySignatureV3',
      'requestMessageV3',
      'responseMessageV3',
      'buildAuthorizationV3',
      'parseAuthorizationV3',
      'verifyV3',
      'signResponseV3',
      'signedMessageFromHeadersV3',
      'hasSignatureHeadersV3',
      'decryptV3Resource',
      'encryptV3Resource',
      'miniProgramPayParamsV3',
      'appPayParamsV3',
      'appPayMessageV3',
      'verifyAppPayParamsV3',
      'V3KeySet',
      'PlatformCertificates',
      'openCertificateDownloadV3',
      'verifyV3Notification',
      'transactionFromNotificationV3',
      'parseV3Transaction',
      'WechatPayV3Client',
      'WechatPayV3Error',
      'WechatPayV3OrderNotExistError',
      'WechatPayV3OrderPaidError',
      'WechatPayV3OrderClosedError',
      'WechatPayV3SignatureError',
      'WechatPayV3DecryptError',
      'WechatPayV3BadMessageError',
      'WechatPayV3TransportError',
      'errorFromV3Reply',
      'formatV3Time',
      'parseV3Time',
    ]) {
      expect(v3, name).toHaveProperty(name);
    }
  });

  it('the wechatpay barrel carries v3 and SANDBOX_DEMO_V3 beside v2, the same objects, no name clashes', () => {
    for (const [name, value] of Object.entries(v3))
      expect(wechatpay[name as keyof typeof wechatpay], name).toBe(value);
    expect(wechatpay.SANDBOX_DEMO_V3).toBe(D);
    const v2Names = new Set([...Object.keys(v2), ...Object.keys(core)]);
    expect(Object.keys(v3).filter((name) => v2Names.has(name))).toEqual([]);
  });

  it('v3 errors are WechatErrors', () => {
    const err = new v3.WechatPayV3OrderNotExistError('ORDER_NOT_EXIST', 'gone', {
      httpStatus: 404,
      requestId: 'R',
    });
    expect(err).toBeInstanceOf(core.WechatError);
    expect(err).toMatchObject({
      name: 'WechatPayV3OrderNotExistError',
      code: 'ORDER_NOT_EXIST',
      httpStatus: 404,
      requestId: 'R',
      retryable: false,
    });
    expect(new v3.WechatPayV3Error('SYSTEM_ERROR', 'busy', { httpStatus: 500 }).retryable).toBe(true);
    expect(new v3.WechatPayV3Error('X', 'rate', { httpStatus: 429 }).retryable).toBe(true);
    expect(new v3.WechatPayV3TransportError('TIMEOUT', 'slow').retryable).toBe(true);
    expect('cause' in new v3.WechatPayV3Error('X', 'no cause')).toBe(false);
  });
});

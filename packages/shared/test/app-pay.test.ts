import { createHash, createHmac } from 'node:crypto';
import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  APP_PAY_FIELDS,
  APP_PAY_PACKAGE,
  appPayParams,
  matchesSignV2,
  miniProgramPayParams,
  signV2,
  verifyAppPayParams,
  type AppPayParams,
  type SignType,
} from '@mp-pay/shared/v2';
import { appPayParamsV3, type AppPayV3Params } from '@mp-pay/shared/v3';
import type * as wechatpayTypes from '@mp-pay/shared/wechatpay';
import * as wechatpay from '@mp-pay/shared/wechatpay';

const KEY = 'mppaySandboxDemoKey0000000000000';
const INPUT = {
  appId: 'wx0a990c0de5a4db02',
  mchId: '1900000109',
  prepayId: 'wx201410272009395522657a690389285100',
  key: KEY,
  nonceStr: '5K8264ILTKCH16CQ2502SI8ZNMTM67VS',
  timeStamp: '1412000000',
};

/** The signed string of docs/protocol.md §9 "APP", written out by hand: names sorted, then &key=. */
const SIGNED_TEXT =
  'appid=wx0a990c0de5a4db02&noncestr=5K8264ILTKCH16CQ2502SI8ZNMTM67VS&package=Sign=WXPay' +
  '&partnerid=1900000109&prepayid=wx201410272009395522657a690389285100&timestamp=1412000000' +
  `&key=${KEY}`;

describe('appPayParams (v2)', () => {
  it('returns the six lower-case PayReq fields and sign, MD5 by default, as computed by hand', () => {
    const p = appPayParams(INPUT);
    expect(Object.keys(p)).toEqual([...APP_PAY_FIELDS, 'sign']);
    expect(p).toMatchObject({
      appid: INPUT.appId,
      partnerid: INPUT.mchId,
      prepayid: INPUT.prepayId,
      package: 'Sign=WXPay',
      noncestr: INPUT.nonceStr,
      timestamp: '1412000000',
    });
    const md5 = createHash('md5').update(SIGNED_TEXT, 'utf8').digest('hex').toUpperCase();
    expect(p.sign).toBe(md5);
    expect(APP_PAY_PACKAGE).toBe('Sign=WXPay');
  });

  it('HMAC-SHA256 keyed with the API key, over the same text', () => {
    const p = appPayParams({ ...INPUT, signType: 'HMAC-SHA256' });
    const hmac = createHmac('sha256', KEY).update(SIGNED_TEXT, 'utf8').digest('hex').toUpperCase();
    expect(p.sign).toBe(hmac);
    expect(p.sign).toHaveLength(64);
  });

  it('fills timestamp (seconds, now) and a 32-character nonce when not given', () => {
    const before = Math.floor(Date.now() / 1000);
    const p = appPayParams({ ...INPUT, timeStamp: undefined, nonceStr: undefined });
    expect(Number(p.timestamp)).toBeGreaterThanOrEqual(before);
    expect(Number(p.timestamp)).toBeLessThan(before + 5);
    expect(p.noncestr).toMatch(/^[0-9A-Za-z]{32}$/);
    expect(verifyAppPayParams(p, KEY, 'MD5')).toBeUndefined();
    expect(appPayParams({ ...INPUT, timeStamp: 1412000000 }).timestamp).toBe('1412000000');
  });

  it('refuses missing ids, an empty key, milliseconds and odd nonces', () => {
    for (const bad of [
      { appId: '' },
      { mchId: '' },
      { prepayId: '' },
      { timeStamp: String(Date.now()) },
      { timeStamp: '1.5' },
      { nonceStr: 'has space' },
      { nonceStr: 'x'.repeat(33) },
      { signType: 'SHA1' as SignType },
    ]) {
      expect(() => appPayParams({ ...INPUT, ...bad }), JSON.stringify(bad)).toThrow(TypeError);
    }
    expect(() => appPayParams({ ...INPUT, key: '' })).toThrow(/key is empty/);
  });

  it('is exported by the wechatpay barrel too', () => {
    expect(wechatpay.appPayParams).toBe(appPayParams);
    expect(wechatpay.verifyAppPayParams).toBe(verifyAppPayParams);
  });

  it('returns the one PayReq type, named AppPayParams in v2 and AppPayV3Params in v3 (and in the barrel)', () => {
    expectTypeOf<AppPayParams>().toEqualTypeOf<AppPayV3Params>();
    expectTypeOf<wechatpayTypes.AppPayParams>().toEqualTypeOf<wechatpayTypes.AppPayV3Params>();
    expectTypeOf(appPayParams).returns.toEqualTypeOf<AppPayParams>();
    expectTypeOf(appPayParamsV3).returns.toEqualTypeOf<AppPayV3Params>();
    expectTypeOf<AppPayParams['package']>().toEqualTypeOf<'Sign=WXPay'>();
    // The runtime object carries exactly the seven fields of the type, package the constant.
    const p: AppPayParams = appPayParams(INPUT);
    expect(Object.keys(p).sort()).toEqual([...APP_PAY_FIELDS, 'sign'].sort());
    expect(p.package).toBe(APP_PAY_PACKAGE);
  });
});

describe('verifyAppPayParams', () => {
  const good = appPayParams(INPUT);

  it('accepts what appPayParams builds, in both sign types, and a numeric timestamp (iOS)', () => {
    expect(verifyAppPayParams(good, KEY, 'MD5')).toBeUndefined();
    const hmac = appPayParams({ ...INPUT, signType: 'HMAC-SHA256' });
    expect(verifyAppPayParams(hmac, KEY, 'HMAC-SHA256')).toBeUndefined();
    expect(verifyAppPayParams({ ...good, timestamp: 1412000000 }, KEY, 'MD5')).toBeUndefined();
    // The OpenSDK ignores what it does not know; an extra field is not signed and changes nothing.
    expect(verifyAppPayParams({ ...good, extData: 'x' }, KEY, 'MD5')).toBeUndefined();
    // Lower-case hex is the same signature.
    expect(verifyAppPayParams({ ...good, sign: good.sign.toLowerCase() }, KEY, 'MD5')).toBeUndefined();
  });

  it('names camelCase names (wx.requestPayment spelling)', () => {
    const { appid, ...rest } = good;
    expect(verifyAppPayParams({ ...rest, appId: appid }, KEY, 'MD5')).toMatch(/appId .*lower-case/);
    const camel = {
      appId: good.appid,
      partnerId: good.partnerid,
      prepayId: good.prepayid,
      package: good.package,
      nonceStr: good.noncestr,
      timeStamp: good.timestamp,
      sign: good.sign,
    };
    expect(verifyAppPayParams(camel, KEY, 'MD5')).toMatch(/^appId is not a PayReq field/);
    const { sign, ...unsigned } = good;
    expect(verifyAppPayParams({ ...unsigned, paySign: sign }, KEY, 'MD5')).toMatch(/paySign/);
  });

  it('names missing fields, a wrong package and a timestamp that is not seconds', () => {
    for (const name of [...APP_PAY_FIELDS, 'sign'] as const) {
      const { [name]: _dropped, ...rest } = good;
      expect(verifyAppPayParams(rest, KEY, 'MD5'), name).toBe(`${name} is missing or empty`);
      expect(verifyAppPayParams({ ...good, [name]: '' }, KEY, 'MD5'), name).toBe(
        `${name} is missing or empty`,
      );
    }
    expect(verifyAppPayParams({ ...good, prepayid: 42 }, KEY, 'MD5')).toBe('prepayid is missing or empty');
    expect(verifyAppPayParams({ ...good, package: `prepay_id=${good.prepayid}` }, KEY, 'MD5')).toMatch(
      /mini-program .*Sign=WXPay/,
    );
    expect(verifyAppPayParams({ ...good, package: 'WXPay' }, KEY, 'MD5')).toBe(
      'package must be the constant Sign=WXPay',
    );
    expect(verifyAppPayParams({ ...good, timestamp: '1412000000000' }, KEY, 'MD5')).toMatch(/milliseconds/);
    expect(verifyAppPayParams({ ...good, timestamp: '2014-10-01' }, KEY, 'MD5')).toMatch(/seconds/);
    expect(verifyAppPayParams({ ...good, timestamp: -1 }, KEY, 'MD5')).toBe('timestamp is missing or empty');
    expect(verifyAppPayParams({ ...good, noncestr: 'n'.repeat(33) }, KEY, 'MD5')).toMatch(/noncestr/);
    expect(verifyAppPayParams(null, KEY, 'MD5')).toMatch(/object/);
    expect(verifyAppPayParams([], KEY, 'MD5')).toMatch(/object/);
  });

  it('refuses a tampered field, another key or a malformed sign', () => {
    expect(verifyAppPayParams({ ...good, prepayid: 'wx2' }, KEY, 'MD5')).toMatch(/^sign does not match/);
    expect(verifyAppPayParams({ ...good, partnerid: '1900000110' }, KEY, 'MD5')).toMatch(
      /^sign does not match/,
    );
    expect(verifyAppPayParams(good, 'x'.repeat(32), 'MD5')).toMatch(/^sign does not match/);
    expect(verifyAppPayParams({ ...good, sign: 'not hex' }, KEY, 'MD5')).toMatch(/^sign does not match/);
    expect(verifyAppPayParams({ ...good, sign: good.sign.slice(1) }, KEY, 'MD5')).toMatch(
      /^sign does not match/,
    );
    expect(verifyAppPayParams(good, '', 'MD5')).toMatch(/^sign does not match/);
    // The key never appears in the explanation.
    expect(verifyAppPayParams({ ...good, prepayid: 'wx2' }, KEY, 'MD5')).not.toContain(KEY);
  });

  it('explains the classic mistakes: other sign type, the mini-program five fields, camelCase, extra fields', () => {
    const hmac = appPayParams({ ...INPUT, signType: 'HMAC-SHA256' });
    expect(verifyAppPayParams(hmac, KEY, 'MD5')).toMatch(/HMAC-SHA256, but the order was placed with MD5/);
    expect(verifyAppPayParams(good, KEY, 'HMAC-SHA256')).toMatch(
      /MD5, but the order was placed with HMAC-SHA256/,
    );

    const mini = miniProgramPayParams({
      appId: INPUT.appId,
      prepayId: INPUT.prepayId,
      key: KEY,
      signType: 'MD5',
      timeStamp: INPUT.timeStamp,
      nonceStr: INPUT.nonceStr,
    });
    expect(verifyAppPayParams({ ...good, sign: mini.paySign }, KEY, 'MD5')).toMatch(
      /wx\.requestPayment's five fields/,
    );

    const camelSign = signV2(
      {
        appId: good.appid,
        partnerId: good.partnerid,
        prepayId: good.prepayid,
        package: good.package,
        nonceStr: good.noncestr,
        timeStamp: good.timestamp,
      },
      KEY,
    );
    expect(verifyAppPayParams({ ...good, sign: camelSign }, KEY, 'MD5')).toMatch(/camelCase/);

    const { sign: _sign, ...six } = good;
    const withExtra = { ...six, signType: 'MD5' };
    expect(verifyAppPayParams({ ...withExtra, sign: signV2(withExtra, KEY) }, KEY, 'MD5')).toMatch(
      /also covers signType/,
    );
  });
});

describe('matchesSignV2', () => {
  const fields = { appid: 'wx1', noncestr: 'n' };
  const md5 = signV2(fields, KEY, 'MD5');

  it('checks a signature under a known sign type, never throwing', () => {
    expect(matchesSignV2(fields, md5, KEY, 'MD5')).toBe(true);
    expect(matchesSignV2(fields, md5.toLowerCase(), KEY, 'MD5')).toBe(true);
    expect(matchesSignV2(fields, md5, KEY, 'HMAC-SHA256')).toBe(false);
    expect(matchesSignV2({ ...fields, noncestr: 'm' }, md5, KEY, 'MD5')).toBe(false);
    expect(matchesSignV2(fields, md5, '', 'MD5')).toBe(false);
    expect(matchesSignV2(fields, 42, KEY, 'MD5')).toBe(false);
    expect(matchesSignV2(fields, `${md5.slice(0, 31)}G`, KEY, 'MD5')).toBe(false);
    expect(matchesSignV2(fields, md5, KEY, 'SHA1' as SignType)).toBe(false);
  });
});

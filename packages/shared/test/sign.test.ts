import { describe, expect, it } from 'vitest';
import {
  canonicalString,
  miniProgramPayParams,
  signTypeOf,
  signV2,
  verifyV2,
} from '../src/wechatpay/index.ts';

// Official examples, docs/protocol.md §2 and §4.
const OFFICIAL_KEY = '192006250b4c09247ec02edce69f6a2d';
const OFFICIAL = {
  appid: 'wxd930ea5d5a258f4f',
  mch_id: '10000100',
  device_info: '1000',
  body: 'test',
  nonce_str: 'ibuaiVcKdpRxkhJA',
};

describe('signV2', () => {
  it('matches the official MD5 example', () => {
    expect(signV2(OFFICIAL, OFFICIAL_KEY)).toBe('9A0A8659F005D6984697E2CA0A9CF3B7');
    expect(signV2(OFFICIAL, OFFICIAL_KEY, 'MD5')).toBe('9A0A8659F005D6984697E2CA0A9CF3B7');
  });

  it('matches the official HMAC-SHA256 example', () => {
    expect(signV2(OFFICIAL, OFFICIAL_KEY, 'HMAC-SHA256')).toBe(
      '6A9AE1657590FD6257D693A078E1C3E4BB6BA4DC30B23E0EE2496E54170DACD6',
    );
  });

  it('ignores sign and empty values, sorts in ASCII order (upper case before lower case)', () => {
    expect(
      canonicalString({ b: '2', a: '1', sign: 'X', empty: '', nil: null, undef: undefined, B: 'up' }),
    ).toBe('B=up&a=1&b=2');
    expect(signV2({ ...OFFICIAL, sign: 'whatever', attach: '' }, OFFICIAL_KEY)).toBe(
      '9A0A8659F005D6984697E2CA0A9CF3B7',
    );
  });

  it('signs numbers as their decimal text and raw values without URL encoding', () => {
    expect(canonicalString({ total_fee: 1, body: 'a&b=c 中文' })).toBe('body=a&b=c 中文&total_fee=1');
  });

  it('refuses an empty key', () => {
    expect(() => signV2(OFFICIAL, '')).toThrow(/key is empty/);
  });
});

describe('verifyV2', () => {
  const key = 'mppaySandboxDemoKey0000000000000';

  it('verifies a notify-shaped map with coupon_*_$n fields and HMAC-SHA256 without sign_type', () => {
    const notify: Record<string, string> = {
      appid: 'wx5ad0b0c0de5a4db0',
      bank_type: 'CMC',
      cash_fee: '80',
      coupon_count: '2',
      coupon_fee: '20',
      coupon_fee_0: '15',
      coupon_fee_1: '5',
      coupon_id_0: '10000',
      coupon_id_1: '10001',
      coupon_type_0: 'CASH',
      coupon_type_1: 'NO_CASH',
      fee_type: 'CNY',
      is_subscribe: 'N',
      mch_id: '1900000109',
      nonce_str: 'Jd1h8sQh3sAGb0lT',
      openid: 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o',
      out_trade_no: '1415659990',
      result_code: 'SUCCESS',
      return_code: 'SUCCESS',
      time_end: '20141030133525',
      total_fee: '100',
      trade_type: 'JSAPI',
      transaction_id: '1004400740201409030005092168',
    };
    notify.sign = signV2(notify, key, 'HMAC-SHA256');
    expect(notify.sign).toHaveLength(64);
    expect(signTypeOf(notify)).toBe('HMAC-SHA256');
    expect(verifyV2(notify, key)).toBe(true);

    // Dropping an unmodelled field (what SDKs that map to a fixed struct do) breaks verification.
    const { coupon_id_1: _dropped, ...lossy } = notify;
    expect(verifyV2(lossy, key)).toBe(false);
  });

  it('uses sign_type when present and rejects a contradicting one', () => {
    const params = { ...OFFICIAL, sign_type: 'HMAC-SHA256' };
    const sign = signV2(params, OFFICIAL_KEY, 'HMAC-SHA256');
    expect(verifyV2({ ...params, sign }, OFFICIAL_KEY)).toBe(true);
    expect(verifyV2({ ...params, sign_type: 'MD5', sign }, OFFICIAL_KEY)).toBe(false);
    expect(verifyV2({ ...params, sign_type: 'SHA1', sign }, OFFICIAL_KEY)).toBe(false);
  });

  it('accepts lower-case hex (hex is case-insensitive) and MD5 inferred from length', () => {
    expect(verifyV2({ ...OFFICIAL, sign: '9a0a8659f005d6984697e2ca0a9cf3b7' }, OFFICIAL_KEY)).toBe(true);
  });

  it.each([
    ['missing sign', { ...OFFICIAL }],
    ['empty sign', { ...OFFICIAL, sign: '' }],
    ['wrong sign', { ...OFFICIAL, sign: '9A0A8659F005D6984697E2CA0A9CF3B8' }],
    ['odd-length sign', { ...OFFICIAL, sign: 'ABC' }],
    ['non-hex sign', { ...OFFICIAL, sign: 'Z'.repeat(32) }],
    ['tampered field', { ...OFFICIAL, body: 'test2', sign: '9A0A8659F005D6984697E2CA0A9CF3B7' }],
  ])('returns false, without throwing, for a %s', (_label, params) => {
    expect(verifyV2(params as Record<string, string>, OFFICIAL_KEY)).toBe(false);
  });

  it('fails with the wrong key', () => {
    expect(verifyV2({ ...OFFICIAL, sign: '9A0A8659F005D6984697E2CA0A9CF3B7' }, 'x'.repeat(32))).toBe(false);
    expect(verifyV2({ ...OFFICIAL, sign: '9A0A8659F005D6984697E2CA0A9CF3B7' }, '')).toBe(false);
  });
});

describe('verifyV2: the signature must be hex of the declared length (defect 3a)', () => {
  // Buffer.from(s, 'latin1') keeps the low byte of each UTF-16 unit, so U+4E39 encodes as '9': a signature
  // written in such characters used to compare equal to the real hex one whenever sign_type was present.
  const disguise = (hex: string) =>
    [...hex].map((c) => String.fromCharCode(0x4e00 | c.charCodeAt(0))).join('');

  it.each<['MD5' | 'HMAC-SHA256']>([['MD5'], ['HMAC-SHA256']])(
    'rejects a %s signature written in non-hex characters that encode to the right bytes',
    (signType) => {
      const params = { ...OFFICIAL, sign_type: signType };
      const sign = signV2(params, OFFICIAL_KEY, signType);
      expect(verifyV2({ ...params, sign }, OFFICIAL_KEY)).toBe(true);
      expect(Buffer.from(disguise(sign), 'latin1').toString('latin1')).toBe(sign);
      expect(verifyV2({ ...params, sign: disguise(sign) }, OFFICIAL_KEY)).toBe(false);
    },
  );

  it('accepts only exactly 32 (MD5) or 64 (HMAC-SHA256) hex characters, in either case', () => {
    const md5 = { ...OFFICIAL, sign_type: 'MD5' };
    const sign = signV2(md5, OFFICIAL_KEY, 'MD5');
    expect(verifyV2({ ...md5, sign: sign.toLowerCase() }, OFFICIAL_KEY)).toBe(true);
    expect(verifyV2({ ...md5, sign: ` ${sign}` }, OFFICIAL_KEY)).toBe(false);
    expect(verifyV2({ ...md5, sign: `${sign}\n` }, OFFICIAL_KEY)).toBe(false);
    const hmac = { ...OFFICIAL, sign_type: 'HMAC-SHA256' };
    expect(verifyV2({ ...hmac, sign }, OFFICIAL_KEY)).toBe(false);
  });
});

describe('miniProgramPayParams', () => {
  it('matches the official paySign example', () => {
    const params = miniProgramPayParams({
      appId: 'wxd678efh567hg6787',
      prepayId: 'wx2017033010242291fcfe0db70013231072',
      key: 'qazwsxedcrfvtgbyhnujmikolp111111',
      signType: 'MD5',
      timeStamp: 1490840662,
      nonceStr: '5K8264ILTKCH16CQ2502SI8ZNMTM67VS',
    });
    expect(params).toEqual({
      timeStamp: '1490840662',
      nonceStr: '5K8264ILTKCH16CQ2502SI8ZNMTM67VS',
      package: 'prepay_id=wx2017033010242291fcfe0db70013231072',
      signType: 'MD5',
      paySign: '22D9B4E54AB1950F51E0649E8810ACD6',
    });
    expect(params).not.toHaveProperty('appId');
  });

  it('signs with HMAC-SHA256 when the order used it, with a fresh nonce and a seconds timestamp', () => {
    const before = Math.floor(Date.now() / 1000);
    const params = miniProgramPayParams({
      appId: 'wx1',
      prepayId: 'wx123',
      key: 'k'.repeat(32),
      signType: 'HMAC-SHA256',
    });
    expect(params.paySign).toMatch(/^[0-9A-F]{64}$/);
    expect(Number(params.timeStamp)).toBeGreaterThanOrEqual(before);
    expect(params.nonceStr).toMatch(/^[A-Za-z0-9]{32}$/);
    expect(
      verifyV2(
        {
          appId: 'wx1',
          timeStamp: params.timeStamp,
          nonceStr: params.nonceStr,
          package: params.package,
          signType: params.signType,
          sign: params.paySign,
        },
        'k'.repeat(32),
      ),
    ).toBe(true);
  });

  it('rejects missing inputs and a non-numeric timestamp', () => {
    const base = { appId: 'wx1', prepayId: 'p', key: 'k', signType: 'MD5' as const };
    expect(() => miniProgramPayParams({ ...base, appId: '' })).toThrow(/appId/);
    expect(() => miniProgramPayParams({ ...base, prepayId: '' })).toThrow(/prepayId/);
    expect(() => miniProgramPayParams({ ...base, timeStamp: '1490840662000ms' })).toThrow(/seconds/);
  });
});

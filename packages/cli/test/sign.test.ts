import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { buildXml, parseXml, signV2, type V2Params } from '@mp-pay/shared/v2';
import { signedPaymentNotification } from '@mp-pay/shared/testing';
import { diagnoseSign } from '../src/doctor/sign.ts';
import type { KeyCandidate } from '../src/doctor/v2-variants.ts';
import { runCli } from './helpers.ts';

// WeChat's documented example (reference: pay.weixin.qq.com jsapi.php?chapter=4_3).
const OFFICIAL_KEY = '192006250b4c09247ec02edce69f6a2d';
const OFFICIAL = {
  appid: 'wxd930ea5d5a258f4f',
  mch_id: '10000100',
  device_info: '1000',
  body: 'test',
  nonce_str: 'ibuaiVcKdpRxkhJA',
};
const V2_KEY = 'mppaySandboxDemoKey0000000000000';
const V3_KEY = 'ApiV3KeyOfTheMerchant32bytes0000';
const SECRET = 'mppay0sandbox0demo0app0secret000';
const KEYS: KeyCandidate[] = [
  { label: 'the APIv2 key', flag: '--key', value: V2_KEY },
  { label: 'the APIv3 key', flag: '--apiv3-key', value: V3_KEY },
  { label: 'the AppSecret', flag: '--secret', value: SECRET },
];
const ORDER = {
  appid: 'wx5ad0b0c0de5a4db0',
  mch_id: '1900000109',
  nonce_str: '5K8264ILTKCH16CQ2502SI8ZNMTM67VS',
  body: 'mp-pay demo',
  out_trade_no: 'T20261201000001',
  total_fee: '1',
  spbill_create_ip: '127.0.0.1',
  notify_url: 'https://shop.example.com/wechatpay/notify',
  trade_type: 'JSAPI',
  openid: 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o',
};

/** A naive signer's stringA: every field, empties included, names sorted; the mistakes below are made with it. */
const naiveString = (p: Record<string, string>) =>
  Object.keys(p)
    .sort()
    .map((k) => `${k}=${p[k]}`)
    .join('&');
const md5 = (text: string) => createHash('md5').update(text, 'utf8').digest('hex').toUpperCase();
const ids = (d: { findings: { id: string }[] }) => d.findings.map((f) => f.id);

describe('doctor sign: the documented rule', () => {
  it('matches the official MD5 and HMAC-SHA256 examples and prints the exact signed string', () => {
    const keys = [{ label: 'the APIv2 key', flag: '--key', value: OFFICIAL_KEY }];
    const d = diagnoseSign({ params: { ...OFFICIAL, sign: '9A0A8659F005D6984697E2CA0A9CF3B7' }, keys });
    expect(d.ok).toBe(true);
    expect(d.stringA).toBe(
      'appid=wxd930ea5d5a258f4f&body=test&device_info=1000&mch_id=10000100&nonce_str=ibuaiVcKdpRxkhJA',
    );
    expect(d.signatures).toEqual({
      MD5: '9A0A8659F005D6984697E2CA0A9CF3B7',
      'HMAC-SHA256': '6A9AE1657590FD6257D693A078E1C3E4BB6BA4DC30B23E0EE2496E54170DACD6',
    });
    const hmac = diagnoseSign({
      params: {
        ...OFFICIAL,
        sign_type: 'HMAC-SHA256',
        sign: signV2({ ...OFFICIAL, sign_type: 'HMAC-SHA256' }, OFFICIAL_KEY, 'HMAC-SHA256'),
      },
      keys,
    });
    expect(hmac.ok).toBe(true);
    expect(hmac.match?.signType).toBe('HMAC-SHA256');
  });
});

describe('doctor sign: each mistake, made for real, is named', () => {
  it('wrong key: the APIv3 key used as the v2 key', () => {
    const d = diagnoseSign({ params: { ...ORDER, sign: signV2(ORDER, V3_KEY) }, keys: KEYS });
    expect(d.ok).toBe(false);
    expect(d.match).toMatchObject({ key: 'the APIv3 key', variant: 'rule', signType: 'MD5' });
    expect(ids(d)).toEqual(['wrong-key']);
  });

  it('wrong key: the AppSecret used as the v2 key', () => {
    const d = diagnoseSign({ params: { ...ORDER, sign: signV2(ORDER, SECRET) }, keys: KEYS });
    expect(d.match?.key).toBe('the AppSecret');
    expect(ids(d)).toEqual(['wrong-key']);
  });

  it('a wrong key not given to compare against: no variant reproduces it', () => {
    const d = diagnoseSign({
      params: { ...ORDER, sign: signV2(ORDER, 'SomeOtherKey00000000000000000000') },
      keys: KEYS,
    });
    expect(d.ok).toBe(false);
    expect(d.match).toBeUndefined();
    expect(ids(d)).toEqual(['no-variant']);
  });

  it('HMAC-SHA256 without sign_type', () => {
    const d = diagnoseSign({ params: { ...ORDER, sign: signV2(ORDER, V2_KEY, 'HMAC-SHA256') }, keys: KEYS });
    expect(d.match).toMatchObject({ signType: 'HMAC-SHA256', variant: 'rule' });
    expect(ids(d)).toEqual(['hmac-without-sign-type']);
  });

  it('but a notification signed with HMAC-SHA256 without sign_type is WeChat being WeChat, not a mistake', () => {
    const { map } = signedPaymentNotification({
      appId: ORDER.appid,
      mchId: ORDER.mch_id,
      key: V2_KEY,
      signType: 'HMAC-SHA256',
      omitSignType: true,
      outTradeNo: ORDER.out_trade_no,
      totalFee: 1,
      transactionId: '4200000000202612010000000001',
      openid: ORDER.openid,
      timeEnd: '20261201160000',
    });
    expect(map.sign_type).toBeUndefined();
    const d = diagnoseSign({ params: map, keys: KEYS });
    expect(d.ok).toBe(true);
    expect(d.match?.signType).toBe('HMAC-SHA256');
  });

  it('sign_type added after signing', () => {
    const sign = signV2(ORDER, V2_KEY, 'HMAC-SHA256');
    const d = diagnoseSign({ params: { ...ORDER, sign_type: 'HMAC-SHA256', sign }, keys: KEYS });
    expect(ids(d)).toContain('sign-type-unsigned');
  });

  it('empty values signed', () => {
    const params = { ...ORDER, attach: '', device_info: '' };
    const sign = md5(`${naiveString(params)}&key=${V2_KEY}`);
    const d = diagnoseSign({ params: { ...params, sign }, keys: KEYS });
    expect(d.match?.variant).toBe('empty-values-signed');
    expect(d.match?.stringA).toContain('attach=&');
    expect(ids(d)).toEqual(['empty-values-signed']);
  });

  it('`sign` itself signed (a map re-signed while it still held the previous sign)', () => {
    const first = signV2(ORDER, V2_KEY);
    const stale = { ...ORDER, sign: first };
    const sent = md5(`${naiveString(stale)}&key=${V2_KEY}`);
    const d = diagnoseSign({ params: stale, given: sent, keys: KEYS });
    expect(d.match?.variant).toBe('sign-signed');
    expect(ids(d)).toEqual(['sign-signed']);
  });

  it('URL-encoded values signed', () => {
    const params = { ...ORDER, body: '测试 商品', attach: 'a&b=c' };
    const encoded = Object.fromEntries(Object.entries(params).map(([k, v]) => [k, encodeURIComponent(v)]));
    const d = diagnoseSign({ params: { ...params, sign: signV2(encoded, V2_KEY) }, keys: KEYS });
    expect(ids(d)).toEqual(['url-encoded-signed']);
  });

  it('URL-decoded values signed while encoded ones were sent', () => {
    const params = { ...ORDER, attach: 'id%3D7' };
    const d = diagnoseSign({
      params: { ...params, sign: signV2({ ...params, attach: 'id=7' }, V2_KEY) },
      keys: KEYS,
    });
    expect(ids(d)).toEqual(['url-decoded-signed']);
  });

  it('whitespace: trimmed when signed, sent with spaces (XML pasted with a newline)', () => {
    const xml = buildXml({ ...ORDER, sign: signV2(ORDER, V2_KEY) }).replace(
      '<body>mp-pay demo</body>',
      '<body> mp-pay demo\n</body>',
    );
    const d = diagnoseSign({ params: { ...parseXml(xml) }, keys: KEYS });
    expect(ids(d)).toEqual(['whitespace', 'whitespace-trimmed']);
  });

  it('names re-cased: timestamp for timeStamp, appid for appId, packageValue for package', () => {
    const five = {
      appId: ORDER.appid,
      timeStamp: '1764547200',
      nonceStr: 'n0nce',
      package: 'prepay_id=wx2026',
      signType: 'MD5',
    };
    for (const [from, to] of [
      ['timeStamp', 'timestamp'],
      ['appId', 'appid'],
      ['package', 'packageValue'],
    ] as const) {
      const signed: Record<string, string> = { ...five };
      signed[to] = signed[from] ?? '';
      delete signed[from];
      const d = diagnoseSign({
        params: { ...five, sign: signV2(signed, V2_KEY) },
        keys: KEYS,
        context: 'requestPayment',
      });
      expect(d.match?.variant, from).toBe(`renamed-${from}-${to}`);
    }
  });

  it('prepay_id= missing from package', () => {
    const five = {
      appId: ORDER.appid,
      timeStamp: '1764547200',
      nonceStr: 'n0nce',
      package: 'wx2026',
      signType: 'MD5',
    };
    const sign = signV2({ ...five, package: 'prepay_id=wx2026' }, V2_KEY);
    const d = diagnoseSign({ params: { ...five, sign }, keys: KEYS, context: 'requestPayment' });
    expect(ids(d)).toEqual(['package-without-prepay-id', 'package-prefixed']);
  });

  it('lower-case hex', () => {
    const d = diagnoseSign({ params: { ...ORDER, sign: signV2(ORDER, V2_KEY).toLowerCase() }, keys: KEYS });
    expect(ids(d)).toEqual(['lower-case-hex']);
  });
});

describe('mp-pay doctor sign (child process)', () => {
  it('exit 0 on the official vector as a query string, 1 with --json on the APIv3 key, 2 on a usage error', async () => {
    const ok = await runCli([
      'doctor',
      'sign',
      'appid=wxd930ea5d5a258f4f&mch_id=10000100&device_info=1000&body=test&nonce_str=ibuaiVcKdpRxkhJA&sign=9A0A8659F005D6984697E2CA0A9CF3B7',
      '--key',
      OFFICIAL_KEY,
    ]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('Matches:     MD5 with the APIv2 key');
    expect(ok.stdout).not.toContain(OFFICIAL_KEY);

    const xml = buildXml({ ...ORDER, sign: signV2(ORDER as V2Params, V3_KEY) });
    const bad = await runCli(['doctor', 'sign', '-', '--key', V2_KEY, '--apiv3-key', V3_KEY, '--json'], {
      stdin: xml,
    });
    expect(bad.code).toBe(1);
    const report = JSON.parse(bad.stdout) as { findings: { id: string }[] };
    expect(report.findings.map((f) => f.id)).toEqual(['wrong-key']);

    const usage = await runCli(['doctor', 'sign', '--bogus']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('--help');
  }, 60_000);

  it('--help shows examples and the exit codes', async () => {
    const help = await runCli(['doctor', 'sign', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Examples:');
    expect(help.stdout).toContain('3  the sandbox could not be reached');
  }, 30_000);
});

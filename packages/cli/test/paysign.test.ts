import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { appPayParams, miniProgramPayParams, signV2 } from '@mp-pay/shared/v2';
import { appPayParamsV3, miniProgramPayParamsV3, signV3 } from '@mp-pay/shared/v3';
import { SANDBOX_DEMO, SANDBOX_DEMO_V3 } from '@mp-pay/shared/wechatpay';
import { diagnosePaySign } from '../src/doctor/paysign.ts';
import type { KeyCandidate } from '../src/doctor/v2-variants.ts';
import { runCli } from './helpers.ts';

const KEY = SANDBOX_DEMO.key;
const KEYS: KeyCandidate[] = [
  { label: 'the APIv2 key', flag: '--key', value: KEY },
  { label: 'the APIv3 key', flag: '--apiv3-key', value: 'ApiV3KeyOfTheMerchant32bytes0000' },
];
const APPID = SANDBOX_DEMO.appId;
const PREPAY = 'wx20261201120000a1b2c3d4e5f6a7b8c9d0e1';
const ids = (d: { findings: { id: string }[] }) => d.findings.map((f) => f.id);
const asStrings = (o: object) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, String(v)]));

/** A merchant key pair of our own (not the demo one), so "signed with the demo key" can be told apart. */
const merchant = generateKeyPairSync('rsa', { modulusLength: 2048 });
const MERCHANT_PRIVATE = merchant.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const MERCHANT_PUBLIC = merchant.publicKey.export({ type: 'spki', format: 'pem' }).toString();

describe('doctor paysign: wx.requestPayment, v2', () => {
  it('accepts what miniProgramPayParams produces (MD5 and HMAC-SHA256)', () => {
    for (const signType of ['MD5', 'HMAC-SHA256'] as const) {
      const p = miniProgramPayParams({ appId: APPID, prepayId: PREPAY, key: KEY, signType });
      const d = diagnosePaySign({ params: asStrings(p), appId: APPID, keys: KEYS });
      expect(d.ok, signType).toBe(true);
      expect(d.v2?.stringA).toBe(
        `appId=${APPID}&nonceStr=${p.nonceStr}&package=prepay_id=${PREPAY}&signType=${signType}&timeStamp=${p.timeStamp}`,
      );
    }
  });

  it('timestamp signed in lower case', () => {
    const p = miniProgramPayParams({ appId: APPID, prepayId: PREPAY, key: KEY, signType: 'MD5' });
    const paySign = signV2(
      { appId: APPID, timestamp: p.timeStamp, nonceStr: p.nonceStr, package: p.package, signType: 'MD5' },
      KEY,
    );
    const d = diagnosePaySign({ params: { ...p, paySign }, appId: APPID, keys: KEYS });
    expect(ids(d)).toEqual(['renamed-timeStamp-timestamp']);
  });

  it('appid signed in lower case', () => {
    const p = miniProgramPayParams({ appId: APPID, prepayId: PREPAY, key: KEY, signType: 'MD5' });
    const paySign = signV2(
      { appid: APPID, timeStamp: p.timeStamp, nonceStr: p.nonceStr, package: p.package, signType: 'MD5' },
      KEY,
    );
    const d = diagnosePaySign({ params: { ...p, paySign }, appId: APPID, keys: KEYS });
    expect(ids(d)).toEqual(['renamed-appId-appid']);
  });

  it('the APIv3 key used, and HMAC paySign declared MD5', () => {
    const wrongKey = miniProgramPayParams({
      appId: APPID,
      prepayId: PREPAY,
      key: KEYS[1]?.value ?? '',
      signType: 'MD5',
    });
    expect(ids(diagnosePaySign({ params: asStrings(wrongKey), appId: APPID, keys: KEYS }))).toEqual([
      'wrong-key',
    ]);
    const hmac = miniProgramPayParams({ appId: APPID, prepayId: PREPAY, key: KEY, signType: 'HMAC-SHA256' });
    const declaredMd5 = { ...hmac, signType: 'MD5' };
    const paySign = signV2(
      {
        appId: APPID,
        timeStamp: hmac.timeStamp,
        nonceStr: hmac.nonceStr,
        package: hmac.package,
        signType: 'MD5',
      },
      KEY,
      'HMAC-SHA256',
    );
    expect(ids(diagnosePaySign({ params: { ...declaredMd5, paySign }, appId: APPID, keys: KEYS }))).toEqual([
      'sign-type-mismatch',
    ]);
  });

  it('a `timestamp` field passed to wx.requestPayment is named', () => {
    const p = miniProgramPayParams({ appId: APPID, prepayId: PREPAY, key: KEY, signType: 'MD5' });
    const { timeStamp, ...rest } = p;
    const d = diagnosePaySign({
      params: asStrings({ ...rest, timestamp: timeStamp }),
      appId: APPID,
      keys: KEYS,
    });
    expect(ids(d)).toContain('field-timestamp');
  });
});

describe('doctor paysign: wx.requestPayment, v3 (RSA)', () => {
  it('verifies with the certificate / public key, and re-signs with the private key to compare', () => {
    const p = miniProgramPayParamsV3({ appId: APPID, prepayId: PREPAY, privateKey: MERCHANT_PRIVATE });
    const byKey = diagnosePaySign({
      params: asStrings(p),
      appId: APPID,
      keys: [],
      privateKey: MERCHANT_PRIVATE,
    });
    expect(byKey.ok).toBe(true);
    expect(byKey.expected).toBe(p.paySign);
    expect(byKey.message).toBe(`${APPID}\n${p.timeStamp}\n${p.nonceStr}\nprepay_id=${PREPAY}\n`);
    expect(
      diagnosePaySign({ params: asStrings(p), appId: APPID, keys: [], merchantPublic: MERCHANT_PUBLIC }).ok,
    ).toBe(true);
  });

  it('no trailing newline; the bare prepay_id; signType signed; the demo key', () => {
    const p = miniProgramPayParamsV3({ appId: APPID, prepayId: PREPAY, privateKey: MERCHANT_PRIVATE });
    const lines = [APPID, p.timeStamp, p.nonceStr];
    const cases: [string, string, string][] = [
      [
        'no-trailing-newline',
        signV3(`${lines.join('\n')}\nprepay_id=${PREPAY}`, MERCHANT_PRIVATE),
        'merchant',
      ],
      ['package-bare-prepay-id', signV3(`${lines.join('\n')}\n${PREPAY}\n`, MERCHANT_PRIVATE), 'merchant'],
      [
        'sign-type-signed',
        signV3(`${lines.join('\n')}\nprepay_id=${PREPAY}\nRSA\n`, MERCHANT_PRIVATE),
        'merchant',
      ],
      [
        'demo-key',
        miniProgramPayParamsV3({
          appId: APPID,
          prepayId: PREPAY,
          privateKey: SANDBOX_DEMO_V3.mchPrivateKey,
          timeStamp: p.timeStamp,
          nonceStr: p.nonceStr,
        }).paySign,
        'demo',
      ],
    ];
    for (const [id, paySign] of cases) {
      const d = diagnosePaySign({
        params: { ...p, paySign },
        appId: APPID,
        keys: [],
        merchantPublic: MERCHANT_PUBLIC,
      });
      expect(ids(d), id).toEqual([id]);
    }
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    const foreign = miniProgramPayParamsV3({ appId: APPID, prepayId: PREPAY, privateKey: other });
    expect(
      ids(
        diagnosePaySign({
          params: asStrings(foreign),
          appId: APPID,
          keys: [],
          merchantPublic: MERCHANT_PUBLIC,
        }),
      ),
    ).toEqual(['wrong-key']);
  });
});

describe('doctor paysign: APP', () => {
  it('v2: appPayParams is fine; camelCase names and the wrong sign type are named', () => {
    const p = appPayParams({
      appId: APPID,
      mchId: SANDBOX_DEMO.mchId,
      prepayId: PREPAY,
      key: KEY,
      signType: 'HMAC-SHA256',
    });
    expect(diagnosePaySign({ params: asStrings(p), keys: KEYS, signType: 'HMAC-SHA256' }).ok).toBe(true);
    const md5 = diagnosePaySign({ params: asStrings(p), keys: KEYS, signType: 'MD5' });
    expect(ids(md5)).toEqual(['sign-type-mismatch']);
    const { prepayid, ...rest } = p;
    const camel = diagnosePaySign({
      params: { ...rest, prepayId: prepayid },
      kind: 'app',
      keys: KEYS,
      signType: 'HMAC-SHA256',
    });
    expect(ids(camel)).toContain('app-shape');
  });

  it('v3: appPayParamsV3 verifies; `prepay_id=…` signed as the fourth line is named', () => {
    const p = appPayParamsV3({
      appId: APPID,
      partnerId: SANDBOX_DEMO.mchId,
      prepayId: PREPAY,
      privateKey: MERCHANT_PRIVATE,
    });
    expect(diagnosePaySign({ params: asStrings(p), keys: [], merchantPublic: MERCHANT_PUBLIC }).ok).toBe(
      true,
    );
    const sign = signV3(`${APPID}\n${p.timestamp}\n${p.noncestr}\nprepay_id=${PREPAY}\n`, MERCHANT_PRIVATE);
    expect(
      ids(diagnosePaySign({ params: { ...p, sign }, keys: [], merchantPublic: MERCHANT_PUBLIC })),
    ).toEqual(['prepay-id-prefixed']);
  });
});

describe('mp-pay doctor paysign (child process)', () => {
  it('reads JSON from stdin and names lower-case timestamp with exit 1', async () => {
    const p = miniProgramPayParams({ appId: APPID, prepayId: PREPAY, key: KEY, signType: 'MD5' });
    const paySign = signV2(
      { appId: APPID, timestamp: p.timeStamp, nonceStr: p.nonceStr, package: p.package, signType: 'MD5' },
      KEY,
    );
    const run = await runCli(['doctor', 'paysign', '-', '--appid', APPID, '--key', KEY], {
      stdin: JSON.stringify({ ...p, paySign }),
    });
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('[renamed-timeStamp-timestamp]');
    const ok = await runCli(['doctor', 'paysign', JSON.stringify(p), '--appid', APPID, '--key', KEY]);
    expect(ok.code).toBe(0);
  }, 60_000);
});

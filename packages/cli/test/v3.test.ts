import { describe, expect, it } from 'vitest';
import { encryptV3Resource, signResponseV3 } from '@mp-pay/shared/v3';
import { SANDBOX_DEMO, SANDBOX_DEMO_V3 } from '@mp-pay/shared/wechatpay';
import { diagnoseV3, parseHttpRequest, type V3Input } from '../src/doctor/v3.ts';
import { runCli, scratch } from './helpers.ts';

const D = SANDBOX_DEMO_V3;
const APIV3_KEY = 'ApiV3KeyOfTheMerchant32bytes0000';
const NOW = Date.UTC(2026, 11, 1, 8, 0, 0);
const KEYS = { publicKey: { id: D.platformPublicKeyId, pem: D.platformPublicKey } } as const;

/** A notification built the way WeChat builds one: resource sealed with the APIv3 key, body signed as sent. */
function notification(
  options: { key?: string; serial?: string; timestamp?: number; encode?: (json: string) => string } = {},
) {
  const transaction = {
    mchid: SANDBOX_DEMO.mchId,
    out_trade_no: 'T1',
    trade_state: 'SUCCESS',
    amount: { total: 1 },
  };
  const resource = encryptV3Resource(JSON.stringify(transaction), options.key ?? APIV3_KEY, {
    associatedData: 'transaction',
    originalType: 'transaction',
  });
  const body = (options.encode ?? ((json: string) => json))(
    JSON.stringify({
      id: 'EV-2018022511223320873',
      create_time: '2026-12-01T16:00:00+08:00',
      resource_type: 'encrypt-resource',
      event_type: 'TRANSACTION.SUCCESS',
      summary: '支付成功',
      resource,
    }),
  );
  const headers = signResponseV3(body, {
    privateKey: D.platformPrivateKey,
    serial: options.serial ?? D.platformPublicKeyId,
    timestamp: Math.floor((options.timestamp ?? NOW) / 1000),
  });
  return { headers, body: Buffer.from(body), transaction };
}

const run = (input: Partial<V3Input> & Pick<V3Input, 'headers' | 'body'>) =>
  diagnoseV3({ ...KEYS, apiV3Key: APIV3_KEY, now: NOW, ...input });
const failed = (d: ReturnType<typeof diagnoseV3>) =>
  d.checks.filter((c) => c.status === 'failed').map((c) => c.name);
const ids = (d: ReturnType<typeof diagnoseV3>) => d.findings.map((f) => f.id);

describe('doctor v3', () => {
  it('a genuine notification passes every check and its resource is decrypted', () => {
    const n = notification();
    const d = run(n);
    expect(d.ok).toBe(true);
    expect(d.checks.map((c) => `${c.name}:${c.status}`)).toEqual([
      'headers:ok',
      'probe:ok',
      'time:ok',
      'serial:ok',
      'signature:ok',
      'decrypt:ok',
    ]);
    expect(d.resource).toEqual(n.transaction);
    expect(d.message).toBe(
      `${n.headers['Wechatpay-Timestamp']}\n${n.headers['Wechatpay-Nonce']}\n${n.body.toString()}\n`,
    );
  });

  it('without any key nothing is verified, and that is not reported as fine', () => {
    const d = diagnoseV3({ ...notification(), apiV3Key: APIV3_KEY, now: NOW });
    expect(d.ok).toBe(false);
    expect(ids(d)).toEqual(['not-verified']);
    expect(d.checks.find((c) => c.name === 'decrypt')?.status).toBe('ok');
  });

  it('a WECHATPAY/SIGNTEST/ probe is reported as a probe', () => {
    const n = notification();
    const d = run({ ...n, headers: { ...n.headers, 'Wechatpay-Signature': 'WECHATPAY/SIGNTEST/ABCDEFG==' } });
    expect(ids(d)).toEqual(['signtest-probe']);
    expect(d.checks.find((c) => c.name === 'signature')?.status).toBe('skipped');
  });

  it('a stale timestamp (and --now moving the clock)', () => {
    const n = notification({ timestamp: NOW - 10 * 60_000 });
    const d = run(n);
    expect(ids(d)).toEqual(['stale-timestamp']);
    expect(d.findings[0]?.message).toContain('600 s old');
    expect(run({ ...n, now: NOW - 10 * 60_000 }).ok).toBe(true);
  });

  it('serial unknown: public key mode? (only a platform certificate configured)', () => {
    const d = diagnoseV3({
      ...notification(),
      platformCerts: [D.platformCertificate],
      apiV3Key: APIV3_KEY,
      now: NOW,
    });
    expect(ids(d)).toEqual(['serial-unknown']);
    expect(d.findings[0]?.message).toMatch(/^serial unknown: public key mode\?/);
  });

  it('body was re-serialised: the framework handed over a pretty-printed body', () => {
    const n = notification();
    const pretty = Buffer.from(JSON.stringify(JSON.parse(n.body.toString()), null, 2));
    const d = run({ ...n, body: pretty });
    expect(ids(d)).toEqual(['body-reserialised']);
    expect(d.findings[0]?.message).toContain('JSON.stringify(JSON.parse(body))');
  });

  it('body was re-serialised the other way: WeChat sent \\uXXXX escapes, the verifier got JSON.stringify(JSON.parse())', () => {
    // WeChat's bytes escape the Chinese summary; a framework parses them and hands JSON.stringify's output on.
    const n = notification({ encode: (json) => json.replace('支付成功', '\\u652f\\u4ed8\\u6210\\u529f') });
    expect(n.body.toString()).toContain('"summary":"\\u652f\\u4ed8\\u6210\\u529f"');
    const received = Buffer.from(JSON.stringify(JSON.parse(n.body.toString())));
    expect(received.toString()).toContain('"summary":"支付成功"');
    const d = run({ ...n, body: received });
    expect(ids(d)).toEqual(['body-reserialised']);
    expect(d.findings[0]?.message).toContain('non-ASCII escaped as \\uXXXX');
    // The resource still decrypts: the ciphertext survived the round trip.
    expect(d.checks.find((c) => c.name === 'decrypt')?.status).toBe('ok');
  });

  it('body was re-serialised: Python-style separators and \\/ escapes are put back, together', () => {
    // A field with slashes, so `\/` is in the bytes whatever the random ciphertext holds.
    const python = (json: string) =>
      json
        .replace('"summary"', '"url":"https://api.mch.weixin.qq.com/v3/x","summary"')
        .replaceAll('/', '\\/')
        .replaceAll('","', '", "')
        .replaceAll('":', '": ')
        .replaceAll('},"', '}, "');
    const n = notification({ encode: python });
    expect(n.body.toString()).toMatch(/"summary": "支付成功", "resource": \{/);
    const received = Buffer.from(JSON.stringify(JSON.parse(n.body.toString())));
    const d = run({ ...n, body: received });
    expect(ids(d)).toEqual(['body-reserialised']);
    expect(d.findings[0]?.message).toContain('/ escaped as \\/, a space after each , and :');
  });

  it('a failing signature over a body that is exactly JSON.stringify output gets the "looks re-serialised" hint', () => {
    const n = notification();
    // Signed over bytes no transform reproduces (a tab WeChat never sends), received re-stringified.
    const signedOver = notification({ encode: (json) => json.replace('{', '{\t') });
    const received = Buffer.from(JSON.stringify(JSON.parse(signedOver.body.toString())));
    const d = run({ ...signedOver, body: received });
    expect(ids(d)).toEqual(['signature-mismatch']);
    expect(d.findings[0]?.message).toContain('looks re-serialised');
    expect(d.findings[0]?.message).toContain('capture the raw bytes');
    // A pretty-printed body that fails is not JSON.stringify output: no such hint.
    const pretty = Buffer.from(
      JSON.stringify(JSON.parse(n.body.toString().replace('支付成功', '支付失败')), null, 1),
    );
    expect(run({ ...n, body: pretty }).findings[0]?.message).not.toContain('looks re-serialised');
  });

  it('keys that do not load are findings, not crashes: garbage, a private key as --public-key, a bad --platform-cert', () => {
    const n = notification();
    const garbage = run({ ...n, publicKey: { id: D.platformPublicKeyId, pem: 'not a key at all' } });
    expect(ids(garbage)).toEqual(['key-unreadable', 'not-verified']);
    expect(garbage.findings[0]?.message).toMatch(/^--public-key is not a PEM public key/);
    const privateAsPublic = run({
      ...n,
      publicKey: { id: D.platformPublicKeyId, pem: D.platformPrivateKey },
    });
    expect(privateAsPublic.findings[0]?.message).toContain('--public-key is a private key');
    // A broken certificate next to a good public key: the good key still verifies.
    const mixed = run({
      ...n,
      platformCerts: ['-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n'],
    });
    expect(ids(mixed)).toEqual(['key-unreadable']);
    expect(mixed.checks.find((c) => c.name === 'signature')?.status).toBe('ok');
  });

  it('a tampered body does not verify, and is not mistaken for re-serialisation', () => {
    const n = notification();
    const d = run({ ...n, body: Buffer.from(n.body.toString().replace('支付成功', '支付失败')) });
    expect(ids(d)).toEqual(['signature-mismatch']);
  });

  it('tag mismatch: the APIv3 key is wrong; and the APIv2 key in its place is recognised', () => {
    const n = notification();
    const wrong = run({ ...n, apiV3Key: 'AnotherApiV3Key32bytesLong000000' });
    expect(ids(wrong)).toEqual(['tag-mismatch']);
    expect(wrong.findings[0]?.message).toMatch(/^tag mismatch: the APIv3 key is wrong/);
    // The merchant configured its APIv2 key (32 characters too) as the APIv3 key, and WeChat sealed with the real one.
    const swapped = notification({ key: SANDBOX_DEMO.key });
    const d = run({ ...swapped, apiV3Key: APIV3_KEY, v2Key: SANDBOX_DEMO.key });
    expect(d.findings[0]?.message).toContain('decrypts with the APIv2 key');
    expect(ids(run({ ...n, apiV3Key: 'short' }))).toEqual(['apiv3-key-length']);
    // The APIv2 key configured as the APIv3 key (both are 32 characters, so nothing else catches it).
    const sameKey = run({ ...n, apiV3Key: SANDBOX_DEMO.key, v2Key: SANDBOX_DEMO.key });
    expect(sameKey.findings[0]?.message).toContain('it is the APIv2 key');
  });

  it('parses a saved HTTP request, CRLF and all, keeping the body bytes exact', () => {
    const n = notification();
    const head = [
      'POST /wechatpay/v3/notify HTTP/1.1',
      'Host: shop.example.com',
      'Content-Type: application/json',
      ...Object.entries(n.headers).map(([k, v]) => `${k}: ${v}`),
    ].join('\r\n');
    const parsed = parseHttpRequest(Buffer.concat([Buffer.from(`${head}\r\n\r\n`), n.body]));
    expect(parsed.body.equals(n.body)).toBe(true);
    expect(run(parsed).ok).toBe(true);
    expect(
      failed(run({ ...parsed, headers: { ...parsed.headers, 'wechatpay-nonce': undefined } as never })),
    ).toEqual(['headers']);
  });
});

describe('mp-pay doctor v3 (child process)', () => {
  it('a request file with the wrong APIv3 key: exit 1, tag mismatch; --json', async () => {
    const s = scratch();
    try {
      const n = notification({ timestamp: Date.now() });
      const head = [
        'POST /wechatpay/v3/notify HTTP/1.1',
        ...Object.entries(n.headers).map(([k, v]) => `${k}: ${v}`),
      ].join('\r\n');
      const request = s.file('notify.http', Buffer.concat([Buffer.from(`${head}\r\n\r\n`), n.body]));
      const pub = s.file('pub_key.pem', D.platformPublicKey);
      const base = [
        'doctor',
        'v3',
        '--request',
        request,
        '--public-key',
        pub,
        '--public-key-id',
        D.platformPublicKeyId,
      ];
      const ok = await runCli([...base, '--apiv3-key', APIV3_KEY]);
      expect(ok.stdout).toContain('Verdict: OK');
      expect(ok.code).toBe(0);
      const bad = await runCli([...base, '--apiv3-key', 'AnotherApiV3Key32bytesLong000000', '--json']);
      expect(bad.code).toBe(1);
      expect((JSON.parse(bad.stdout) as { findings: { id: string }[] }).findings.map((f) => f.id)).toEqual([
        'tag-mismatch',
      ]);
      const headers = s.file('headers.json', JSON.stringify(n.headers));
      const body = s.file('body.json', n.body);
      const split = await runCli([
        'doctor',
        'v3',
        '--headers',
        headers,
        '--body',
        body,
        '--public-key',
        pub,
        '--public-key-id',
        D.platformPublicKeyId,
        '--now',
        String(Math.floor(Date.now() / 1000) + 3600),
      ]);
      expect(split.code).toBe(1);
      expect(split.stdout).toContain('[stale-timestamp]');
    } finally {
      s.remove();
    }
  }, 60_000);
});

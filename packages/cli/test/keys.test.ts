import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SANDBOX_DEMO, SANDBOX_DEMO_V3 } from '@mp-pay/shared/wechatpay';
import { diagnoseKeys } from '../src/doctor/keys.ts';
import { loadSettings, type Settings } from '../src/config.ts';
import { makeMerchant, runCli, scratch, type MerchantMaterial, type Scratch } from './helpers.ts';

let s: Scratch;
let good: MerchantMaterial;
let expired: MerchantMaterial;
let other: MerchantMaterial;

beforeAll(() => {
  s = scratch();
  good = makeMerchant(
    s,
    'good',
    '3A5D0C0DE0000000000000000000000000000001',
    '20261101000000Z',
    '20361101000000Z',
  );
  expired = makeMerchant(
    s,
    'expired',
    '3A5D0C0DE0000000000000000000000000000002',
    '20200101000000Z',
    '20210101000000Z',
  );
  other = makeMerchant(
    s,
    'other',
    '3A5D0C0DE0000000000000000000000000000003',
    '20261101000000Z',
    '20361101000000Z',
  );
}, 60_000);
afterAll(() => s.remove());

const NOW = Date.UTC(2026, 11, 1);
const APIV3_KEY = 'ApiV3KeyOfTheMerchant32bytes0000';

function v3(overrides: Record<string, string | undefined> = {}): Settings {
  const flags: Record<string, string | undefined> = {
    'api-version': 'v3',
    appid: SANDBOX_DEMO.appId,
    mchid: SANDBOX_DEMO.mchId,
    'apiv3-key': APIV3_KEY,
    'private-key': good.keyPath,
    cert: good.certPath,
    'cert-serial': good.serial,
    'public-key': s.file('pub_key.pem', SANDBOX_DEMO_V3.platformPublicKey),
    'public-key-id': SANDBOX_DEMO_V3.platformPublicKeyId,
    ...overrides,
  };
  return loadSettings({ flags, cwd: s.dir });
}
const ids = (d: ReturnType<typeof diagnoseKeys>) => d.findings.map((f) => f.id);

describe('doctor keys', () => {
  it('a complete, consistent v3 configuration is fine', () => {
    const d = diagnoseKeys(v3(), NOW);
    expect(d.findings).toEqual([]);
    expect(d.ok).toBe(true);
    expect(d.checks.map((c) => c.name)).toEqual(
      expect.arrayContaining(['key ↔ certificate', 'certificate ↔ serial', 'complete for v3']),
    );
  });

  it('an expired certificate (made expired by openssl, not by moving the clock)', () => {
    const d = diagnoseKeys(
      v3({ 'private-key': expired.keyPath, cert: expired.certPath, 'cert-serial': expired.serial }),
      NOW,
    );
    expect(ids(d)).toEqual(['certificate-expired']);
    expect(d.findings[0]?.message).toContain('2021-01-01');
  });

  it("the private key of another certificate, and a serial that is not the certificate's", () => {
    expect(ids(diagnoseKeys(v3({ 'private-key': other.keyPath }), NOW))).toEqual([
      'key-certificate-mismatch',
    ]);
    expect(ids(diagnoseKeys(v3({ 'cert-serial': other.serial }), NOW))).toEqual(['serial-mismatch']);
    expect(ids(diagnoseKeys(v3({ 'cert-serial': SANDBOX_DEMO_V3.platformPublicKeyId }), NOW))).toContain(
      'serial-is-public-key-id',
    );
  });

  it('the .p12 passphrase: the mch_id opens it, another does not', () => {
    expect(diagnoseKeys(v3({ p12: good.p12Path }), NOW).ok).toBe(true);
    const d = diagnoseKeys(v3({ p12: good.p12Path, 'p12-passphrase': 'not-the-passphrase' }), NOW);
    expect(ids(d)).toEqual(['p12-passphrase']);
  });

  it("APIv3 key length, public key id format, the merchant's own key as WeChat Pay's public key", () => {
    expect(ids(diagnoseKeys(v3({ 'apiv3-key': APIV3_KEY.slice(1) }), NOW))).toEqual(['apiv3-key-length']);
    expect(ids(diagnoseKeys(v3({ 'public-key-id': SANDBOX_DEMO_V3.platformCertSerial }), NOW))).toEqual([
      'public-key-id-format',
    ]);
    expect(
      ids(diagnoseKeys(v3({ 'public-key': good.certPath.replace('apiclient_cert', 'apiclient_key') }), NOW)),
    ).toEqual(['public-key-unreadable']);
  });

  it('completeness depends on the API version', () => {
    const d = diagnoseKeys(
      v3({ 'public-key': undefined, 'public-key-id': undefined, 'apiv3-key': undefined }),
      NOW,
    );
    expect(ids(d)).toEqual(['incomplete']);
    expect(d.findings[0]?.message).toContain('WECHATPAY_APIV3_KEY, WECHATPAY_PUBLIC_KEY');
    const v2 = diagnoseKeys(
      loadSettings({
        flags: { appid: SANDBOX_DEMO.appId, mchid: SANDBOX_DEMO.mchId, key: SANDBOX_DEMO.key },
      }),
      NOW,
    );
    expect(v2.ok).toBe(true);
    expect(v2.checks.find((c) => c.name === 'v2 refunds')?.status).toBe('warning');
  });
});

describe('mp-pay doctor keys (child process): --env-file and --env', () => {
  it('reads an .env file with paths relative to it; the environment only with --env', async () => {
    const env = s.file(
      '.env',
      [
        'WECHATPAY_API_VERSION=v3',
        `WECHAT_APPID=${SANDBOX_DEMO.appId}`,
        `WECHATPAY_MCHID=${SANDBOX_DEMO.mchId}`,
        `WECHATPAY_APIV3_KEY=${APIV3_KEY}`,
        'WECHATPAY_PRIVATE_KEY=expired/apiclient_key.pem',
        'WECHATPAY_CERT=expired/apiclient_cert.pem',
        `WECHATPAY_CERT_SERIAL=${expired.serial}`,
        'WECHATPAY_PLATFORM_CERTS=auto',
      ].join('\n'),
    );
    const fromFile = await runCli(['doctor', 'keys', '--env-file', env]);
    expect(fromFile.code).toBe(1);
    expect(fromFile.stdout).toContain('FAIL  certificate validity: the merchant certificate expired');
    expect(fromFile.stdout).not.toContain(APIV3_KEY);

    const environment = {
      PATH: process.env.PATH ?? '',
      WECHAT_APPID: SANDBOX_DEMO.appId,
      WECHATPAY_MCHID: SANDBOX_DEMO.mchId,
      WECHATPAY_KEY: SANDBOX_DEMO.key,
    };
    const without = await runCli(['doctor', 'keys'], { env: environment });
    expect(without.code).toBe(2);
    const withEnv = await runCli(['doctor', 'keys', '--env', '--json'], { env: environment });
    expect(withEnv.code).toBe(0);
    expect((JSON.parse(withEnv.stdout) as { apiVersion: string }).apiVersion).toBe('v2');
  }, 60_000);
});

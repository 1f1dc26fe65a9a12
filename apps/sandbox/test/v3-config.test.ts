import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SANDBOX_DEMO_V3 } from '@mp-pay/shared/wechatpay';
import { loadSandboxConfig, SandboxConfigError, startSandbox } from '../src/index.ts';

const pem = (bits: number) =>
  generateKeyPairSync('rsa', { modulusLength: bits }).privateKey.export({
    type: 'pkcs8',
    format: 'pem',
  }) as string;

function problem(env: Record<string, string>, baseDir?: string): string {
  try {
    loadSandboxConfig(env, baseDir);
  } catch (err) {
    expect(err).toBeInstanceOf(SandboxConfigError);
    return (err as Error).message;
  }
  throw new Error('expected a configuration error');
}

describe('APIv3 configuration', () => {
  it('defaults to the demo keys, public-key mode', () => {
    expect(loadSandboxConfig({})).toMatchObject({
      apiV3Key: SANDBOX_DEMO_V3.apiV3Key,
      privateKey: SANDBOX_DEMO_V3.mchPrivateKey,
      certSerial: SANDBOX_DEMO_V3.mchCertSerial,
      v3KeyMode: 'public-key',
      v3PublicKeyShare: 0.5,
    });
  });

  it('reads WECHATPAY_PRIVATE_KEY as a path (relative to the repo root) and the other variables', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mp-pay-sandbox-'));
    const key = pem(2048);
    writeFileSync(join(dir, 'apiclient_key.pem'), key);
    const env = {
      WECHATPAY_PRIVATE_KEY: 'apiclient_key.pem',
      WECHATPAY_APIV3_KEY: 'A'.repeat(32),
      WECHATPAY_CERT_SERIAL: 'ab'.repeat(20),
      SANDBOX_V3_KEY_MODE: 'migration',
      SANDBOX_V3_PUBLIC_KEY_SHARE: '0.1',
    };
    expect(loadSandboxConfig(env, dir)).toMatchObject({
      privateKey: key,
      apiV3Key: 'A'.repeat(32),
      certSerial: 'ab'.repeat(20),
      v3KeyMode: 'migration',
      v3PublicKeyShare: 0.1,
    });
    expect(loadSandboxConfig({ WECHATPAY_PRIVATE_KEY: join(dir, 'apiclient_key.pem') }).privateKey).toBe(key);
  });

  it('says which file is missing', () => {
    expect(problem({ WECHATPAY_PRIVATE_KEY: 'certs/nope.pem' }, '/tmp')).toMatch(
      /WECHATPAY_PRIVATE_KEY: no file at \/tmp\/certs\/nope\.pem/,
    );
  });

  it('validates each key with a fix-it message, never echoing secrets', () => {
    const message = problem({ WECHATPAY_APIV3_KEY: 'tooShortKey', WECHATPAY_CERT_SERIAL: 'PUB_KEY_ID_0115' });
    expect(message).toMatch(/apiV3Key \(WECHATPAY_APIV3_KEY\): must be the APIv3 key, exactly 32 bytes/);
    expect(message).toMatch(/certSerial \(WECHATPAY_CERT_SERIAL\): must be the 40-hex-digit serial/);
    expect(message).not.toContain('tooShortKey');
    expect(problem({ SANDBOX_V3_KEY_MODE: 'rsa' })).toMatch(
      /SANDBOX_V3_KEY_MODE: use public-key, certificate/,
    );
  });

  it.each([
    ['a certificate', SANDBOX_DEMO_V3.mchCertificate, /is a certificate \(apiclient_cert\.pem\)/],
    ['a public key', SANDBOX_DEMO_V3.mchPublicKey, /not a readable PEM private key/],
    ['garbage', 'not a key', /not a readable PEM private key/],
    ['a 1024-bit key', pem(1024), /1024-bit RSA key: WeChat Pay requires at least 2048 bits/],
    [
      'an EC key',
      generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }),
      /is a ec key: WeChat Pay APIv3 merchant keys are RSA/,
    ],
  ])('refuses %s as the private key', async (_name, value, message) => {
    await expect(startSandbox({ port: 0, privateKey: String(value) })).rejects.toThrow(message);
    expect(problem({ WECHATPAY_PRIVATE_KEY: String(value).replace(/\n/g, '\\n') })).toMatch(
      value === 'not a key' ? /no file at/ : message,
    );
  });
});

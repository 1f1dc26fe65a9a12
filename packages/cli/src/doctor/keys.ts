import { createPrivateKey, createPublicKey, X509Certificate, type KeyObject } from 'node:crypto';
import { createSecureContext } from 'node:tls';
import { APIV2_KEY_RULE, APPID_RULE, MCH_ID_RULE } from '@mp-pay/shared/core';
import { PUB_KEY_ID_RE } from '@mp-pay/shared/v3';
import { EXIT, escapeControl, UsageError, type CommandResult } from '../io.ts';
import { settingContent, type Setting, type Settings, type SettingVar } from '../config.ts';
import type { Finding } from './sign.ts';

/**
 * doctor keys: the merchant's key material, checked together — the private key against the API certificate,
 * the certificate against WECHATPAY_CERT_SERIAL, its validity, the .p12 and its passphrase, the APIv3 key's
 * length, the public key id's format — and whether the configuration is complete for the API version chosen.
 * Reads the variables the server reads (config.ts); never prints a key.
 */
export interface KeyCheck {
  name: string;
  status: 'ok' | 'failed' | 'warning';
  detail: string;
}

export interface KeysDiagnosis {
  ok: boolean;
  apiVersion: 'v2' | 'v3';
  checks: KeyCheck[];
  findings: Finding[];
}

const DAY_MS = 24 * 3600 * 1000;

export function diagnoseKeys(settings: Settings, now: number = Date.now()): KeysDiagnosis {
  const checks: KeyCheck[] = [];
  const findings: Finding[] = [];
  const versionSetting = settings.WECHATPAY_API_VERSION;
  // The server refuses anything but v2 / v3 (apps/server/src/config.ts): checking "V3" as v2 would pass a
  // configuration the server will not start with.
  if (versionSetting && versionSetting.value !== 'v2' && versionSetting.value !== 'v3')
    throw new UsageError(
      `${versionSetting.source} must be v2 or v3 (lower case), not ${JSON.stringify(versionSetting.value)}`,
    );
  const apiVersion = versionSetting?.value === 'v3' ? 'v3' : 'v2';
  const ok = (name: string, detail: string) => checks.push({ name, status: 'ok', detail });
  const warn = (name: string, detail: string) => checks.push({ name, status: 'warning', detail });
  const fail = (name: string, id: string, detail: string) => {
    checks.push({ name, status: 'failed', detail });
    findings.push({ id, message: detail });
  };
  const value = (name: SettingVar) => settings[name]?.value;
  /**
   * A key setting that could not be loaded. settingContent's own errors already name the source (and never
   * the value); a key pasted without its PEM header gets its own finding id so scripts can tell it apart.
   */
  const unreadable = (name: SettingVar, id: string, setting: Setting, err: unknown, what = '') => {
    const message = (err as Error).message;
    if (setting.looksLikeKey && err instanceof UsageError) fail(name, 'key-material-not-path', message);
    else if (err instanceof UsageError) fail(name, id, message);
    else fail(name, id, `${setting.source}: ${what}${message}`);
  };

  for (const [name, rule] of [
    ['WECHAT_APPID', APPID_RULE],
    ['WECHATPAY_MCHID', MCH_ID_RULE],
    ['WECHATPAY_KEY', APIV2_KEY_RULE],
  ] as const) {
    const v = value(name);
    if (v === undefined) continue;
    if (rule.re.test(v)) ok(name, 'well-formed');
    else fail(name, `${name.toLowerCase()}-format`, `${name} ${rule.message}`);
  }

  const apiV3Key = value('WECHATPAY_APIV3_KEY');
  if (apiV3Key !== undefined) {
    const bytes = Buffer.byteLength(apiV3Key, 'utf8');
    if (bytes !== 32)
      fail(
        'WECHATPAY_APIV3_KEY',
        'apiv3-key-length',
        `WECHATPAY_APIV3_KEY is ${bytes} bytes: the APIv3 key is exactly 32`,
      );
    else if (apiV3Key === value('WECHATPAY_KEY'))
      warn(
        'WECHATPAY_APIV3_KEY',
        'the same as WECHATPAY_KEY: legal, but usually one was pasted for the other',
      );
    else ok('WECHATPAY_APIV3_KEY', '32 bytes');
  }

  let privateKey: KeyObject | undefined;
  const pk = settings.WECHATPAY_PRIVATE_KEY;
  if (pk) {
    try {
      const text = settingContent(pk).toString('utf8');
      if (text.includes('BEGIN CERTIFICATE'))
        throw new TypeError('this is a certificate, not the private key (apiclient_key.pem)');
      const loaded = createPrivateKey(text);
      if (loaded.asymmetricKeyType !== 'rsa')
        throw new TypeError(`a ${loaded.asymmetricKeyType ?? '?'} key: WeChat Pay keys are RSA`);
      privateKey = loaded;
      const bits = loaded.asymmetricKeyDetails?.modulusLength ?? 0;
      if (bits < 2048)
        fail(
          'WECHATPAY_PRIVATE_KEY',
          'private-key-size',
          `the private key is RSA ${bits}: WeChat wants 2048 bits or more`,
        );
      else ok('WECHATPAY_PRIVATE_KEY', `RSA ${bits}, loads`);
    } catch (err) {
      unreadable('WECHATPAY_PRIVATE_KEY', 'private-key-unreadable', pk, err);
    }
  }

  const certSerial = value('WECHATPAY_CERT_SERIAL');
  const certSetting = settings.WECHATPAY_CERT;
  if (certSetting) {
    try {
      const cert = new X509Certificate(settingContent(certSetting));
      ok('WECHATPAY_CERT', `serial ${cert.serialNumber}, ${cert.subject.replaceAll('\n', ', ')}`);
      const notAfter = new Date(cert.validTo).getTime();
      const notBefore = new Date(cert.validFrom).getTime();
      if (notAfter < now)
        fail(
          'certificate validity',
          'certificate-expired',
          `the merchant certificate expired on ${new Date(notAfter).toISOString()}: renew it in the merchant console (API安全 → API证书)`,
        );
      else if (notBefore > now)
        fail(
          'certificate validity',
          'certificate-not-yet-valid',
          `the merchant certificate is valid only from ${new Date(notBefore).toISOString()}`,
        );
      else if (notAfter - now < 30 * DAY_MS)
        warn(
          'certificate validity',
          `expires in ${Math.floor((notAfter - now) / DAY_MS)} days (${new Date(notAfter).toISOString()}): renew it soon`,
        );
      else ok('certificate validity', `until ${new Date(notAfter).toISOString()}`);
      if (privateKey) {
        const a = createPublicKey(privateKey).export({ type: 'spki', format: 'der' });
        const b = cert.publicKey.export({ type: 'spki', format: 'der' });
        if (a.equals(b)) ok('key ↔ certificate', "the private key is the certificate's");
        else
          fail(
            'key ↔ certificate',
            'key-certificate-mismatch',
            'WECHATPAY_PRIVATE_KEY is not the key of WECHATPAY_CERT: WeChat will answer SIGN_ERROR (a key from another certificate application)',
          );
      }
      if (certSerial !== undefined) {
        if (certSerial.toUpperCase() === cert.serialNumber.toUpperCase())
          ok('certificate ↔ serial', "WECHATPAY_CERT_SERIAL is the certificate's serial");
        else
          fail(
            'certificate ↔ serial',
            'serial-mismatch',
            `WECHATPAY_CERT_SERIAL is ${certSerial} but the certificate's serial is ${cert.serialNumber}: requests name the wrong certificate`,
          );
      }
    } catch (err) {
      if (!checks.some((c) => c.name === 'WECHATPAY_CERT')) {
        if (err instanceof UsageError)
          unreadable('WECHATPAY_CERT', 'certificate-unreadable', certSetting, err);
        else
          fail(
            'WECHATPAY_CERT',
            'certificate-unreadable',
            `${certSetting.source}: not a PEM certificate (${(err as Error).message})`,
          );
      }
    }
  }
  if (certSerial !== undefined) {
    if (PUB_KEY_ID_RE.test(certSerial))
      fail(
        'WECHATPAY_CERT_SERIAL',
        'serial-is-public-key-id',
        "WECHATPAY_CERT_SERIAL is a PUB_KEY_ID_…: that is WeChat Pay's public key id (WECHATPAY_PUBLIC_KEY_ID), not your certificate's serial",
      );
    else if (!/^[0-9A-Fa-f]{8,40}$/.test(certSerial))
      fail(
        'WECHATPAY_CERT_SERIAL',
        'serial-format',
        'WECHATPAY_CERT_SERIAL must be the hex serial of the merchant API certificate',
      );
  }

  const p12 = settings.WECHATPAY_CERT_P12;
  if (p12) {
    const passphrase = value('WECHATPAY_CERT_PASSPHRASE') ?? value('WECHATPAY_MCHID');
    try {
      createSecureContext({ pfx: settingContent(p12), ...(passphrase ? { passphrase } : {}) });
      ok(
        'WECHATPAY_CERT_P12',
        `opens with ${settings.WECHATPAY_CERT_PASSPHRASE ? 'WECHATPAY_CERT_PASSPHRASE' : 'the mch_id as passphrase'}`,
      );
    } catch (err) {
      const wrong = /passphrase|mac verify|bad decrypt/i.test((err as Error).message);
      if (err instanceof UsageError) unreadable('WECHATPAY_CERT_P12', 'p12-unreadable', p12, err);
      else
        fail(
          'WECHATPAY_CERT_P12',
          wrong ? 'p12-passphrase' : 'p12-unreadable',
          wrong
            ? `the .p12 does not open with ${settings.WECHATPAY_CERT_PASSPHRASE ? 'WECHATPAY_CERT_PASSPHRASE' : 'the mch_id'}: wrong passphrase (WeChat's is the mch_id unless changed)`
            : `${p12.source}: ${(err as Error).message}`,
        );
    }
  }

  const publicKeyId = value('WECHATPAY_PUBLIC_KEY_ID');
  if (publicKeyId !== undefined) {
    if (PUB_KEY_ID_RE.test(publicKeyId)) ok('WECHATPAY_PUBLIC_KEY_ID', 'PUB_KEY_ID_ followed by digits');
    else if (/^[0-9A-Fa-f]{40}$/.test(publicKeyId))
      fail(
        'WECHATPAY_PUBLIC_KEY_ID',
        'public-key-id-format',
        'WECHATPAY_PUBLIC_KEY_ID looks like a certificate serial: the public key id is PUB_KEY_ID_ followed by digits',
      );
    else
      fail(
        'WECHATPAY_PUBLIC_KEY_ID',
        'public-key-id-format',
        'WECHATPAY_PUBLIC_KEY_ID must be PUB_KEY_ID_ followed by digits (from the merchant console)',
      );
  }
  const publicKey = settings.WECHATPAY_PUBLIC_KEY;
  if (publicKey) {
    try {
      const text = settingContent(publicKey).toString('utf8');
      if (text.includes('PRIVATE KEY'))
        throw new TypeError(
          "this is a private key; WECHATPAY_PUBLIC_KEY is WeChat Pay's public key (pub_key.pem)",
        );
      const key = createPublicKey(text);
      if (
        privateKey &&
        key
          .export({ type: 'spki', format: 'der' })
          .equals(createPublicKey(privateKey).export({ type: 'spki', format: 'der' }))
      ) {
        fail(
          'WECHATPAY_PUBLIC_KEY',
          'public-key-is-merchant-key',
          "WECHATPAY_PUBLIC_KEY is your own merchant public key: it must be WeChat Pay's public key (API安全 → 微信支付公钥)",
        );
      } else {
        ok(
          'WECHATPAY_PUBLIC_KEY',
          `${key.asymmetricKeyType?.toUpperCase() ?? '?'} ${key.asymmetricKeyDetails?.modulusLength ?? '?'}, loads`,
        );
      }
    } catch (err) {
      unreadable('WECHATPAY_PUBLIC_KEY', 'public-key-unreadable', publicKey, err);
    }
  }

  const required: SettingVar[] =
    apiVersion === 'v3'
      ? [
          'WECHAT_APPID',
          'WECHATPAY_MCHID',
          'WECHATPAY_APIV3_KEY',
          'WECHATPAY_PRIVATE_KEY',
          'WECHATPAY_CERT_SERIAL',
        ]
      : ['WECHAT_APPID', 'WECHATPAY_MCHID', 'WECHATPAY_KEY'];
  const missing = required.filter((name) => settings[name] === undefined);
  if (apiVersion === 'v3' && !settings.WECHATPAY_PLATFORM_CERTS && !(publicKey && publicKeyId)) {
    missing.push(publicKey ? 'WECHATPAY_PUBLIC_KEY_ID' : 'WECHATPAY_PUBLIC_KEY');
  }
  if (missing.length > 0) {
    fail(
      `complete for ${apiVersion}`,
      'incomplete',
      `for WECHATPAY_API_VERSION=${apiVersion}, set ${missing.join(', ')}${apiVersion === 'v3' && missing.some((m) => m.startsWith('WECHATPAY_PUBLIC_KEY')) ? ' (or WECHATPAY_PLATFORM_CERTS=auto in certificate mode)' : ''}`,
    );
  } else {
    ok(`complete for ${apiVersion}`, `${required.join(', ')} set`);
  }
  if (apiVersion === 'v2' && !p12 && !(settings.WECHATPAY_CLIENT_CERT && settings.WECHATPAY_CLIENT_KEY)) {
    warn(
      'v2 refunds',
      'no WECHATPAY_CERT_P12 (or WECHATPAY_CLIENT_CERT + WECHATPAY_CLIENT_KEY): v2 refunds need the API client certificate',
    );
  }
  return { ok: findings.length === 0, apiVersion, checks, findings };
}

export function renderKeys(d: KeysDiagnosis): string {
  const lines = [`Configuration for APIv${d.apiVersion.slice(1)}:`];
  for (const c of d.checks)
    lines.push(
      `${c.status === 'ok' ? 'ok  ' : c.status === 'failed' ? 'FAIL' : 'warn'}  ${c.name}: ${c.detail}`,
    );
  lines.push(d.ok ? 'Verdict: OK' : 'Verdict: PROBLEM');
  return lines.map(escapeControl).join('\n');
}

export function keysResult(d: KeysDiagnosis): CommandResult {
  return { exitCode: d.ok ? EXIT.OK : EXIT.PROBLEM, text: renderKeys(d), json: d };
}

import { createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  parseAuthorizationV3,
  signResponseV3,
  V3KeySet,
  verifyV3,
  WechatPayV3Error,
  WechatPayV3SignatureError,
  type V3SignatureReason,
  type V3SignedMessage,
} from '../../src/v3/index.ts';
import { WechatError } from '../../src/core/index.ts';
import { SANDBOX_DEMO_V3 as D } from '../../src/wechatpay/demo-v3.ts';
import { NEXT_PLATFORM } from './test-keys.ts';

const NOW = 1_764_547_200_000; // 2025-12-01T00:00:00Z
const BODY = '{"id":"EV-2018022511223320873","event_type":"TRANSACTION.SUCCESS"}';

function signed(overrides: Partial<V3SignedMessage> = {}, seconds = NOW / 1000): V3SignedMessage {
  const headers = signResponseV3(BODY, {
    privateKey: D.platformPrivateKey,
    serial: D.platformPublicKeyId,
    timestamp: seconds,
  });
  return {
    timestamp: headers['Wechatpay-Timestamp'] as string,
    nonce: headers['Wechatpay-Nonce'] as string,
    signature: headers['Wechatpay-Signature'] as string,
    serial: headers['Wechatpay-Serial'] as string,
    body: BODY,
    ...overrides,
  };
}

const keys = () => new V3KeySet().addPublicKey(D.platformPublicKeyId, D.platformPublicKey);

function reasonOf(fn: () => unknown): V3SignatureReason | undefined {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(WechatPayV3SignatureError);
    expect(err).toBeInstanceOf(WechatPayV3Error);
    expect(err).toBeInstanceOf(WechatError);
    expect((err as WechatPayV3SignatureError).retryable).toBe(false);
    return (err as WechatPayV3SignatureError).reason;
  }
  return undefined;
}

describe('verifyV3', () => {
  it('accepts a genuine message, string or Buffer body', () => {
    expect(verifyV3(signed(), keys(), { now: NOW })).toBe(true);
    expect(verifyV3(signed({ body: Buffer.from(BODY) }), keys(), { now: NOW })).toBe(true);
  });

  it('returns false for a well-formed signature that does not verify', () => {
    expect(verifyV3(signed({ body: BODY.replace('SUCCESS', 'SUCCESs') }), keys(), { now: NOW })).toBe(false);
    expect(verifyV3(signed({ nonce: 'other' }), keys(), { now: NOW })).toBe(false);
    // Signed by another key that claims the same id.
    const forged = signResponseV3(BODY, {
      privateKey: NEXT_PLATFORM.privateKey,
      serial: D.platformPublicKeyId,
      timestamp: NOW / 1000,
    });
    expect(
      verifyV3(
        signed({
          signature: forged['Wechatpay-Signature'] as string,
          nonce: forged['Wechatpay-Nonce'] as string,
        }),
        keys(),
        { now: NOW },
      ),
    ).toBe(false);
    // A signature of the right shape but the wrong length.
    expect(verifyV3(signed({ signature: 'AAAA' }), keys(), { now: NOW })).toBe(false);
  });

  it('refuses a body re-serialised from the parsed object', () => {
    const reserialised = JSON.stringify(JSON.parse(BODY), null, 2);
    expect(verifyV3(signed({ body: reserialised }), keys(), { now: NOW })).toBe(false);
    expect(() => verifyV3(signed({ body: JSON.parse(BODY) as string }), keys(), { now: NOW })).toThrow(
      TypeError,
    );
  });

  it.each([
    ['300 s old is still fine', -300, true],
    ['300 s ahead is still fine', 300, true],
    ['301 s old is stale', -301, false],
    ['301 s ahead is stale', 301, false],
    ['a day old is stale', -86_400, false],
  ])('time window: %s', (_label, offset, ok) => {
    const message = signed({}, NOW / 1000 + offset);
    if (ok) expect(verifyV3(message, keys(), { now: NOW })).toBe(true);
    else expect(reasonOf(() => verifyV3(message, keys(), { now: NOW }))).toBe('STALE_TIMESTAMP');
  });

  it('honours toleranceSeconds', () => {
    const message = signed({}, NOW / 1000 - 100);
    expect(reasonOf(() => verifyV3(message, keys(), { now: NOW, toleranceSeconds: 60 }))).toBe(
      'STALE_TIMESTAMP',
    );
    expect(verifyV3(message, keys(), { now: NOW, toleranceSeconds: 120 })).toBe(true);
  });

  it('UNKNOWN_SERIAL for a key it does not hold, and with an empty key set; never fetches', () => {
    expect(reasonOf(() => verifyV3(signed({ serial: 'PUB_KEY_ID_0000000000' }), keys(), { now: NOW }))).toBe(
      'UNKNOWN_SERIAL',
    );
    expect(reasonOf(() => verifyV3(signed(), new V3KeySet(), { now: NOW }))).toBe('UNKNOWN_SERIAL');
  });

  it("SIGNTEST_PROBE for WeChat's probe signature", () => {
    const probe = 'WECHATPAY/SIGNTEST/' + signed().signature;
    expect(reasonOf(() => verifyV3(signed({ signature: probe }), keys(), { now: NOW }))).toBe(
      'SIGNTEST_PROBE',
    );
  });

  it.each<[string, Partial<V3SignedMessage>]>([
    ['empty signature', { signature: '' }],
    ['non-base64 signature', { signature: 'not base64!' }],
    ['timestamp in ms', { timestamp: String(NOW) + '0' }],
    ['timestamp with letters', { timestamp: '17645x7200' }],
    ['empty nonce', { nonce: '' }],
    ['nonce with a newline', { nonce: 'a\nb' }],
    ['empty serial', { serial: '' }],
  ])('MALFORMED_HEADERS: %s', (_label, overrides) => {
    expect(reasonOf(() => verifyV3(signed(overrides), keys(), { now: NOW }))).toBe('MALFORMED_HEADERS');
  });

  it('EXPIRED_CERTIFICATE once a platform certificate is past notAfter', () => {
    const set = new V3KeySet();
    set.addCertificate(NEXT_PLATFORM.certificate);
    const expiry = new Date(new X509Certificate(NEXT_PLATFORM.certificate).validTo).getTime();
    const at = (now: number) => {
      const h = signResponseV3(BODY, {
        privateKey: NEXT_PLATFORM.privateKey,
        serial: NEXT_PLATFORM.serial,
        timestamp: Math.floor(now / 1000),
      });
      return verifyV3(
        {
          timestamp: h['Wechatpay-Timestamp'] as string,
          nonce: h['Wechatpay-Nonce'] as string,
          signature: h['Wechatpay-Signature'] as string,
          serial: NEXT_PLATFORM.serial,
          body: BODY,
        },
        set,
        { now },
      );
    };
    expect(at(expiry - 1000)).toBe(true);
    expect(reasonOf(() => at(expiry + 1000))).toBe('EXPIRED_CERTIFICATE');
  });
});

describe('V3KeySet', () => {
  it('holds public keys and certificates at once, by id and by serial (case-insensitive hex)', () => {
    const set = new V3KeySet().addPublicKey(D.platformPublicKeyId, D.platformPublicKey);
    expect(set.addCertificate(D.platformCertificate)).toBe(D.platformCertSerial);
    expect(set.serials().sort()).toEqual([D.platformCertSerial, D.platformPublicKeyId].sort());
    expect(set.has(D.platformCertSerial.toLowerCase())).toBe(true);
    expect(set.get(D.platformPublicKeyId)?.kind).toBe('public-key');
    expect(set.get(D.platformCertSerial)).toMatchObject({ kind: 'certificate', id: D.platformCertSerial });
    expect(set.size).toBe(2);
    expect(set.earliestExpiry()).toEqual(new Date(new X509Certificate(D.platformCertificate).validTo));
  });

  it('validates what goes in', () => {
    const set = new V3KeySet();
    for (const id of [
      'PUB_KEY_ID_',
      'PUB_KEY_ID_12ab345678',
      'pub_key_id_0123456789',
      D.platformCertSerial,
    ]) {
      expect(() => set.addPublicKey(id, D.platformPublicKey), id).toThrow(TypeError);
    }
    expect(() => set.addPublicKey('PUB_KEY_ID_0123456789', 'not a pem')).toThrow();
    expect(() =>
      set.addCertificate('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----'),
    ).toThrow();
    expect(set.size).toBe(0);
  });

  it('is per instance: two merchants in one process do not share keys', () => {
    const a = new V3KeySet().addPublicKey(D.platformPublicKeyId, D.platformPublicKey);
    const b = new V3KeySet();
    expect(a.has(D.platformPublicKeyId)).toBe(true);
    expect(b.has(D.platformPublicKeyId)).toBe(false);
  });

  it('pruneExpired drops only expired certificates', () => {
    const set = new V3KeySet().addPublicKey(D.platformPublicKeyId, D.platformPublicKey);
    set.addCertificate(NEXT_PLATFORM.certificate);
    set.addCertificate(D.platformCertificate);
    const after = new Date(new X509Certificate(NEXT_PLATFORM.certificate).validTo).getTime() + 1;
    expect(set.pruneExpired(after)).toEqual([NEXT_PLATFORM.serial]);
    expect(set.serials().sort()).toEqual([D.platformCertSerial, D.platformPublicKeyId].sort());
  });
});

describe('parseAuthorizationV3', () => {
  const sig = signed().signature;
  const items = [
    `mchid="1900000109"`,
    `nonce_str="abc"`,
    `signature="${sig}"`,
    `timestamp="1764547200"`,
    `serial_no="${D.mchCertSerial}"`,
  ];

  it('reads the five items in any order', () => {
    const expected = {
      mchId: '1900000109',
      nonce: 'abc',
      signature: sig,
      timestamp: '1764547200',
      serialNo: D.mchCertSerial,
    };
    expect(parseAuthorizationV3(`WECHATPAY2-SHA256-RSA2048 ${items.join(',')}`)).toEqual(expected);
    expect(parseAuthorizationV3(`WECHATPAY2-SHA256-RSA2048 ${[...items].reverse().join(', ')}`)).toEqual(
      expected,
    );
  });

  it.each([
    ['another scheme', `Bearer ${items.join(',')}`],
    ['a missing item', `WECHATPAY2-SHA256-RSA2048 ${items.slice(1).join(',')}`],
    ['a repeated item', `WECHATPAY2-SHA256-RSA2048 ${[...items, items[0]].join(',')}`],
    ['an unknown item', `WECHATPAY2-SHA256-RSA2048 ${[...items, 'x="1"'].join(',')}`],
    [
      'an unquoted value',
      `WECHATPAY2-SHA256-RSA2048 ${items.join(',').replace('"1900000109"', '1900000109')}`,
    ],
    [
      'a timestamp in ms',
      `WECHATPAY2-SHA256-RSA2048 ${items.join(',').replace('1764547200', '1764547200000000')}`,
    ],
    ['empty', ''],
  ])('throws MALFORMED_AUTHORIZATION for %s', (_label, header) => {
    expect(reasonOf(() => parseAuthorizationV3(header))).toBe('MALFORMED_AUTHORIZATION');
  });
});

describe('SANDBOX_DEMO_V3', () => {
  it('is internally consistent: certificates match their keys and serials; the APIv3 key is 32 bytes', () => {
    const mchCert = new X509Certificate(D.mchCertificate);
    expect(mchCert.serialNumber).toBe(D.mchCertSerial);
    expect(mchCert.checkPrivateKey(createPrivateKey(D.mchPrivateKey))).toBe(true);
    expect(spki(mchCert.publicKey)).toBe(spki(createPublicKey(D.mchPublicKey)));
    const platformCert = new X509Certificate(D.platformCertificate);
    expect(platformCert.serialNumber).toBe(D.platformCertSerial);
    expect(platformCert.checkPrivateKey(createPrivateKey(D.platformPrivateKey))).toBe(true);
    expect(spki(platformCert.publicKey)).toBe(spki(createPublicKey(D.platformPublicKey)));
    expect(D.platformPublicKeyId).toMatch(/^PUB_KEY_ID_\d{34}$/);
    expect(Buffer.byteLength(D.apiV3Key)).toBe(32);
    expect(D.mchCertSerial).toMatch(/^[0-9A-F]{40}$/);
    expect(Object.isFrozen(D)).toBe(true);
  });
});

function spki(key: ReturnType<typeof createPublicKey>): string {
  return key.export({ format: 'der', type: 'spki' }).toString('base64');
}

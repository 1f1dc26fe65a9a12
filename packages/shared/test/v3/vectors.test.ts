import { createPublicKey, X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  buildAuthorizationV3,
  decryptV3Resource,
  encryptV3Resource,
  parseAuthorizationV3,
  requestMessageV3,
  signV3,
  V3KeySet,
  verifySignatureV3,
  verifyV3,
  verifyV3Notification,
  WechatPayV3DecryptError,
} from '../../src/v3/index.ts';
import {
  GO_AUTH_MESSAGES,
  GO_NOTIFICATION,
  GO_SIGNER,
  JAVA_AEAD,
  JAVA_CERTIFICATE_ENTRY,
} from './official-vectors.ts';

/** Every value here comes from WeChat Pay's official SDK tests; see official-vectors.ts for the sources. */
describe('official vectors: SHA256withRSA (wechatpay-go signers test)', () => {
  it('signV3 reproduces the published signature of "source" byte for byte', () => {
    expect(signV3(GO_SIGNER.message, GO_SIGNER.privateKey)).toBe(GO_SIGNER.signature);
  });

  it('verifies it with the published public key, and not for another message', () => {
    expect(verifySignatureV3('source', GO_SIGNER.signature, GO_SIGNER.publicKey)).toBe(true);
    expect(verifySignatureV3('wrong source', GO_SIGNER.signature, GO_SIGNER.publicKey)).toBe(false);
  });
});

describe('official vectors: request message format (wechatpay-go credential test)', () => {
  it.each(['get', 'post'] as const)('%s: the signed message is exactly what the SDK signs', (which) => {
    const v = GO_AUTH_MESSAGES[which];
    expect(
      requestMessageV3({
        method: v.method,
        url: v.url,
        timestamp: GO_AUTH_MESSAGES.timestamp,
        nonce: GO_AUTH_MESSAGES.nonce,
        body: v.body,
      }),
    ).toBe(v.message);
  });

  it("buildAuthorizationV3's signature is over that message, with the published key", () => {
    const v = GO_AUTH_MESSAGES.post;
    const header = buildAuthorizationV3({
      method: v.method,
      url: v.url,
      body: v.body,
      mchId: GO_AUTH_MESSAGES.mchId,
      serialNo: GO_AUTH_MESSAGES.serialNo,
      privateKey: GO_SIGNER.privateKey,
      timestamp: GO_AUTH_MESSAGES.timestamp,
      nonce: GO_AUTH_MESSAGES.nonce,
    });
    const parsed = parseAuthorizationV3(header);
    expect(parsed).toEqual({
      mchId: '1234567890',
      nonce: 'A1B2C3D4E5F6G7',
      timestamp: '1624523846',
      serialNo: '0123456789ABC',
      signature: signV3(v.message, GO_SIGNER.privateKey),
    });
    expect(verifySignatureV3(v.message, parsed.signature, GO_SIGNER.publicKey)).toBe(true);
    // The order of the items is the documented one (docs/protocol.md §7 "Signing requests").
    expect(header).toMatch(
      /^WECHATPAY2-SHA256-RSA2048 mchid="1234567890",nonce_str="A1B2C3D4E5F6G7",signature="[^"]+",timestamp="1624523846",serial_no="0123456789ABC"$/,
    );
  });
});

describe('official vectors: AEAD_AES_256_GCM (wechatpay-java AeadAesCipherTest)', () => {
  const resource = {
    algorithm: 'AEAD_AES_256_GCM',
    ciphertext: JAVA_AEAD.ciphertext,
    nonce: JAVA_AEAD.nonce,
    associated_data: JAVA_AEAD.associatedData,
  };

  it('decrypts the published ciphertext', () => {
    expect(decryptV3Resource(resource, JAVA_AEAD.apiV3Key)).toBe(JAVA_AEAD.plaintext);
  });

  it('encrypts to the published ciphertext', () => {
    const out = encryptV3Resource(JAVA_AEAD.plaintext, JAVA_AEAD.apiV3Key, {
      nonce: JAVA_AEAD.nonce,
      associatedData: JAVA_AEAD.associatedData,
    });
    expect(out).toEqual(resource);
  });

  it('refuses a bad AAD and a bad nonce, as the SDK test does', () => {
    for (const bad of [
      { ...resource, associated_data: 'bad-associatedData' },
      { ...resource, nonce: 'bad-4a9R25RW' },
    ]) {
      expect(() => decryptV3Resource(bad, JAVA_AEAD.apiV3Key)).toThrow(WechatPayV3DecryptError);
    }
  });

  it('decrypts the published /v3/certificates entry to the certificate it lists', () => {
    const pem = decryptV3Resource(JAVA_CERTIFICATE_ENTRY.encrypt_certificate, JAVA_AEAD.apiV3Key);
    const cert = new X509Certificate(pem);
    expect(cert.serialNumber).toBe(JAVA_CERTIFICATE_ENTRY.serial_no);
    expect(cert.subject).toContain('CN=Tenpay.com sign');
    const keys = new V3KeySet();
    expect(keys.addCertificate(pem)).toBe(JAVA_CERTIFICATE_ENTRY.serial_no);
    expect(keys.get(JAVA_CERTIFICATE_ENTRY.serial_no)).toMatchObject({
      kind: 'certificate',
      notAfter: new Date('2028-09-17T15:15:58Z'),
    });
  });
});

describe('official vectors: a signed notification (wechatpay-go notify test)', () => {
  const keys = new V3KeySet();
  keys.addCertificate(GO_NOTIFICATION.certificate);
  const h = GO_NOTIFICATION.headers;
  const message = {
    timestamp: h['Wechatpay-Timestamp'],
    nonce: h['Wechatpay-Nonce'],
    signature: h['Wechatpay-Signature'],
    serial: h['Wechatpay-Serial'],
    body: GO_NOTIFICATION.body,
  };

  it('verifies at the pinned time, with the certificate found by the Wechatpay-Serial header', () => {
    expect(keys.serials()).toEqual(['D7CE59D1F522D701']);
    expect(verifyV3(message, keys, { now: GO_NOTIFICATION.nowMs })).toBe(true);
    expect(
      verifyV3({ ...message, body: Buffer.from(GO_NOTIFICATION.body) }, keys, { now: GO_NOTIFICATION.nowMs }),
    ).toBe(true);
  });

  it('does not verify once the body is parsed and serialised again (same JSON, other bytes)', () => {
    const reserialised = JSON.stringify(JSON.parse(GO_NOTIFICATION.body), null, 1);
    expect(JSON.parse(reserialised)).toEqual(JSON.parse(GO_NOTIFICATION.body));
    expect(verifyV3({ ...message, body: reserialised }, keys, { now: GO_NOTIFICATION.nowMs })).toBe(false);
  });

  it('gets through the signature checks and then refuses its 16-byte key: APIv3 keys are 32 bytes', () => {
    expect(() =>
      verifyV3Notification(GO_NOTIFICATION.body, GO_NOTIFICATION.headers, {
        apiV3Key: GO_NOTIFICATION.apiV3Key16,
        keys,
        now: GO_NOTIFICATION.nowMs,
      }),
    ).toThrow(expect.objectContaining({ name: 'WechatPayV3DecryptError', reason: 'BAD_KEY' }));
  });

  it('its certificate is the same key pair as the signer vector (so the two vectors agree)', () => {
    const fromCert = new X509Certificate(GO_NOTIFICATION.certificate).publicKey.export({
      format: 'der',
      type: 'spki',
    });
    expect(
      fromCert.equals(createPublicKey(GO_SIGNER.publicKey).export({ format: 'der', type: 'spki' })),
    ).toBe(true);
  });
});

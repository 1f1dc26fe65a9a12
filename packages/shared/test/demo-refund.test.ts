import { createPrivateKey, X509Certificate } from 'node:crypto';
import { createSecureContext } from 'node:tls';
import { describe, expect, it } from 'vitest';
import { isSandboxDemoTls, SANDBOX_DEMO, SANDBOX_DEMO_TLS } from '@mp-pay/shared/wechatpay';

describe('SANDBOX_DEMO_TLS', () => {
  const ca = new X509Certificate(SANDBOX_DEMO_TLS.caCert);
  const client = new X509Certificate(SANDBOX_DEMO_TLS.clientCertPem);
  const server = new X509Certificate(SANDBOX_DEMO_TLS.serverCert);

  it('the client and server certificates are issued by the demo CA, the client one to the demo mch_id', () => {
    expect(ca.ca).toBe(true);
    expect(client.verify(ca.publicKey)).toBe(true);
    expect(server.verify(ca.publicKey)).toBe(true);
    expect(client.subject).toContain(`CN=${SANDBOX_DEMO.mchId}`);
    expect(server.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(server.checkHost('localhost')).toBe('localhost');
    expect(client.checkPrivateKey(createPrivateKey(SANDBOX_DEMO_TLS.clientKeyPem))).toBe(true);
  });

  it('the .p12 opens in Node (OpenSSL 3) with the mch_id as passphrase, and not without it', () => {
    expect(SANDBOX_DEMO_TLS.passphrase).toBe(SANDBOX_DEMO.mchId);
    const pfx = Buffer.from(SANDBOX_DEMO_TLS.clientP12Base64, 'base64');
    expect(() => createSecureContext({ pfx, passphrase: SANDBOX_DEMO_TLS.passphrase })).not.toThrow();
    expect(() => createSecureContext({ pfx, passphrase: 'wrong' })).toThrow(/mac verify/i);
  });

  it('is valid for a long time either side of now', () => {
    for (const cert of [ca, client, server]) {
      expect(Date.parse(cert.validFrom)).toBeLessThan(Date.parse('2021-01-01'));
      expect(Date.parse(cert.validTo)).toBeGreaterThan(Date.parse('2100-01-01'));
    }
  });

  it('isSandboxDemoTls recognises every published value, whatever the line breaks', () => {
    expect(isSandboxDemoTls(SANDBOX_DEMO_TLS.clientKeyPem.replaceAll('\n', '\r\n'))).toBe(true);
    expect(isSandboxDemoTls(Buffer.from(SANDBOX_DEMO_TLS.clientP12Base64, 'base64'))).toBe(true);
    expect(isSandboxDemoTls(SANDBOX_DEMO_TLS.caCert)).toBe(true);
    expect(isSandboxDemoTls('-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----')).toBe(false);
    expect(isSandboxDemoTls('')).toBe(false);
  });
});

/**
 * A platform certificate verifies only within its validity period: not after it expired, and not before it
 * starts (a certificate published early, or a clock far behind, must not be trusted ahead of time).
 */
import { describe, expect, it } from 'vitest';
import { signedMessageFromHeadersV3, signResponseV3, V3KeySet, verifyV3 } from '../../src/v3/index.ts';
import { SANDBOX_DEMO_V3 as D } from '../../src/wechatpay/demo-v3.ts';

describe('platform certificate validity', () => {
  const keys = new V3KeySet();
  const serial = keys.addCertificate(D.platformCertificate);
  const key = keys.get(serial);
  if (key?.kind !== 'certificate') throw new Error('the demo certificate did not load');
  const signedAt = (ms: number) => {
    const body = '{"ok":true}';
    const headers = signResponseV3(body, {
      privateKey: D.platformPrivateKey,
      serial,
      timestamp: Math.floor(ms / 1000),
    });
    return signedMessageFromHeadersV3(headers, body);
  };

  it('verifies inside the period', () => {
    const now = key.notBefore.getTime() + 86_400_000;
    expect(verifyV3(signedAt(now), keys, { now })).toBe(true);
  });

  it('refuses before the period starts and after it ends', () => {
    for (const now of [key.notBefore.getTime() - 86_400_000, key.notAfter.getTime() + 86_400_000]) {
      expect(() => verifyV3(signedAt(now), keys, { now })).toThrow(
        expect.objectContaining({ reason: 'EXPIRED_CERTIFICATE' }),
      );
    }
  });
});

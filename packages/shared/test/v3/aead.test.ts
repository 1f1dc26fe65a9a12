import { createDecipheriv } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  decryptV3Resource,
  encryptV3Resource,
  WechatPayV3DecryptError,
  type V3DecryptReason,
} from '../../src/v3/index.ts';
import { SANDBOX_DEMO_V3 as D } from '../../src/wechatpay/demo-v3.ts';

const PAID = JSON.stringify({
  out_trade_no: '20261125140000abcdefghijklmnopqr',
  trade_state: 'SUCCESS',
  amount: { total: 1 },
});

function reasonOf(fn: () => unknown): { reason: V3DecryptReason; message: string } | undefined {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(WechatPayV3DecryptError);
    return { reason: (err as WechatPayV3DecryptError).reason, message: (err as Error).message };
  }
  return undefined;
}

describe('decryptV3Resource', () => {
  it('round-trips with encryptV3Resource, AAD and original_type included', () => {
    const resource = encryptV3Resource(PAID, D.apiV3Key, {
      associatedData: 'transaction',
      originalType: 'transaction',
    });
    expect(resource).toMatchObject({
      algorithm: 'AEAD_AES_256_GCM',
      associated_data: 'transaction',
      original_type: 'transaction',
    });
    expect(resource.nonce).toMatch(/^[A-Za-z0-9]{12}$/);
    expect(decryptV3Resource(resource, D.apiV3Key)).toBe(PAID);
    // associated_data absent on both sides means ''.
    const bare = encryptV3Resource(PAID, D.apiV3Key);
    expect(decryptV3Resource({ ...bare, associated_data: undefined }, D.apiV3Key)).toBe(PAID);
  });

  it('a tampered "SUCCESS" never decrypts to "NOTPAY" (the tag is checked; wechatpay-node-v3 2.2.1 did not)', () => {
    const resource = encryptV3Resource(PAID, D.apiV3Key, {
      nonce: 'abcdefghijkl',
      associatedData: 'transaction',
    });
    const sealed = Buffer.from(resource.ciphertext, 'base64');
    // GCM is a stream cipher underneath: XOR-ing the ciphertext where "SUCCESS" sits rewrites the plaintext.
    const at = PAID.indexOf('"SUCCESS"') + 1;
    const want = Buffer.from('NOTPAY"', 'utf8'); // same length as SUCCESS"
    const have = Buffer.from('SUCCESS', 'utf8');
    for (let i = 0; i < 7; i++)
      sealed[at + i] = (sealed[at + i] as number) ^ (have[i] as number) ^ (want[i] as number);
    const tampered = { ...resource, ciphertext: sealed.toString('base64') };

    // Proof that the forgery is real: decrypting without the tag check yields the attacker's state.
    const naive = createDecipheriv('aes-256-gcm', Buffer.from(D.apiV3Key), Buffer.from('abcdefghijkl'));
    naive.setAAD(Buffer.from('transaction'));
    const forged = naive.update(sealed.subarray(0, sealed.length - 16)).toString('utf8');
    expect(forged).toContain('"trade_state":"NOTPAY""');

    const failure = reasonOf(() => decryptV3Resource(tampered, D.apiV3Key));
    expect(failure?.reason).toBe('TAG_MISMATCH');
    expect(failure?.message).toContain('tag mismatch: check WECHATPAY_APIV3_KEY');
  });

  it('a flipped tag bit, a truncated tag, or changed AAD are all tag mismatches', () => {
    const resource = encryptV3Resource(PAID, D.apiV3Key, { associatedData: 'transaction' });
    const sealed = Buffer.from(resource.ciphertext, 'base64');
    const flipped = Buffer.from(sealed);
    flipped[flipped.length - 1] = (flipped[flipped.length - 1] as number) ^ 1;
    for (const bad of [
      { ...resource, ciphertext: flipped.toString('base64') },
      { ...resource, ciphertext: sealed.subarray(0, sealed.length - 1).toString('base64') },
      { ...resource, associated_data: 'refund' },
    ]) {
      expect(reasonOf(() => decryptV3Resource(bad, D.apiV3Key))?.reason).toBe('TAG_MISMATCH');
    }
  });

  it('the wrong APIv3 key says which setting to check', () => {
    const resource = encryptV3Resource(PAID, D.apiV3Key);
    const failure = reasonOf(() => decryptV3Resource(resource, 'Z'.repeat(32)));
    expect(failure).toMatchObject({ reason: 'TAG_MISMATCH' });
    expect(failure?.message).toContain('tag mismatch: check WECHATPAY_APIV3_KEY');
    expect(failure?.message).not.toContain(D.apiV3Key);
  });

  it.each([
    ['16 bytes', 'testMchAPIv3Key0'],
    ['31 bytes', 'x'.repeat(31)],
    ['33 bytes', 'x'.repeat(33)],
    ['32 characters but 33 bytes', 'é' + 'x'.repeat(31)],
    ['empty', ''],
  ])('refuses a key of %s', (_label, key) => {
    const resource = encryptV3Resource(PAID, D.apiV3Key);
    expect(reasonOf(() => decryptV3Resource(resource, key))?.reason).toBe('BAD_KEY');
    expect(reasonOf(() => encryptV3Resource(PAID, key))?.reason).toBe('BAD_KEY');
  });

  it('refuses other algorithms and malformed resources', () => {
    const resource = encryptV3Resource(PAID, D.apiV3Key);
    expect(
      reasonOf(() => decryptV3Resource({ ...resource, algorithm: 'AEAD_SM4_GCM' }, D.apiV3Key))?.reason,
    ).toBe('UNSUPPORTED_ALGORITHM');
    expect(
      reasonOf(() => decryptV3Resource({ ...resource, algorithm: 'aead_aes_256_gcm' }, D.apiV3Key))?.reason,
    ).toBe('UNSUPPORTED_ALGORITHM');
    for (const bad of [
      { ...resource, nonce: 'short' },
      { ...resource, ciphertext: 'not base64!' },
      { ...resource, ciphertext: Buffer.alloc(8).toString('base64') },
      { ...resource, ciphertext: undefined as unknown as string },
    ]) {
      expect(reasonOf(() => decryptV3Resource(bad, D.apiV3Key))?.reason).toBe('MALFORMED');
    }
  });
});

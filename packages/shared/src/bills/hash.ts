import { createHash, timingSafeEqual } from 'node:crypto';

/** Lower-case hex SHA1 of a bill file, as APIv3 `tradebill` gives it in hash_value (hash_type SHA1). */
export function billSha1(bytes: Uint8Array): string {
  return createHash('sha1').update(bytes).digest('hex');
}

/**
 * Whether downloaded bill bytes (as received, still gzipped if asked so) match the signed hash_value. The file
 * reply itself is not signed (docs/protocol.md §8), so this is what ties it to WeChat.
 */
export function checkBillHash(bytes: Uint8Array, hashValue: string): boolean {
  if (!/^[0-9a-fA-F]{40}$/.test(hashValue)) return false;
  const expected = Buffer.from(hashValue.toLowerCase(), 'hex');
  return timingSafeEqual(Buffer.from(billSha1(bytes), 'hex'), expected);
}

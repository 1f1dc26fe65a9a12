import { randomBytes, randomInt } from 'node:crypto';
import { formatWechatTime } from './time.ts';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** Random [A-Za-z0-9] string from the CSPRNG; 32 characters (WeChat's nonce_str limit) by default. */
export function createNonce(length = 32): string {
  if (!Number.isInteger(length) || length < 1 || length > 32) {
    throw new RangeError('createNonce: length must be an integer from 1 to 32');
  }
  const bytes = randomBytes(length * 2);
  let out = '';
  // Rejection sampling keeps the distribution uniform (62 does not divide 256).
  for (let i = 0; out.length < length; i++) {
    const byte = i < bytes.length ? (bytes[i] as number) : randomInt(248);
    if (byte < 248) out += ALPHABET[byte % 62];
  }
  return out;
}

/** `[0-9A-Za-z_\-|*]{1,32}` is what unifiedorder accepts for out_trade_no (docs/protocol.md §3). */
export const OUT_TRADE_NO_RE = /^[0-9A-Za-z_\-|*]{1,32}$/;

/**
 * A new out_trade_no: Beijing time to the second (sortable, readable in the merchant console) and 18 random
 * characters (~107 bits), 32 characters in all, so two processes minting in the same second do not collide.
 */
export function createOutTradeNo(now: Date = new Date()): string {
  return formatWechatTime(now) + createNonce(18);
}

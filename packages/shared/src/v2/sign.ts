import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/**
 * APIv2 signing (docs/protocol.md §2): every field but `sign`, empty values dropped, names sorted in ASCII order,
 * joined as `k=v&k=v` with raw values, then `&key=API_KEY`; MD5 or HMAC-SHA256(API_KEY) as upper-case hex.
 * https://pay.weixin.qq.com/wiki/doc/api/jsapi.php?chapter=4_3
 */
export type SignType = 'MD5' | 'HMAC-SHA256';
export const SIGN_TYPES: readonly SignType[] = ['MD5', 'HMAC-SHA256'];

export type V2Value = string | number | null | undefined;
export type V2Params = Readonly<Record<string, V2Value>>;

export function isSignType(value: unknown): value is SignType {
  return value === 'MD5' || value === 'HMAC-SHA256';
}

/** stringA of the documentation, without the key. Exported for diagnostics ("which string was signed?"). */
export function canonicalString(params: V2Params): string {
  const parts: string[] = [];
  for (const name of Object.keys(params).sort()) {
    if (name === 'sign') continue;
    const value = params[name];
    if (value === undefined || value === null || value === '') continue;
    parts.push(`${name}=${value}`);
  }
  return parts.join('&');
}

export function signV2(params: V2Params, key: string, signType: SignType = 'MD5'): string {
  if (!key) throw new TypeError('signV2: the merchant API key is empty');
  return signV2Text(canonicalString(params), key, signType);
}

/**
 * The digest step of signV2 over a stringA the caller built: for diagnostics that must reproduce what a
 * mistaken signer computed (empty values kept, `sign` included, names re-cased), never for real requests.
 */
export function signV2Text(stringA: string, key: string, signType: SignType = 'MD5'): string {
  if (!key) throw new TypeError('signV2Text: the merchant API key is empty');
  const text = `${stringA}&key=${key}`;
  const digest =
    signType === 'HMAC-SHA256'
      ? createHmac('sha256', key).update(text, 'utf8').digest('hex')
      : signType === 'MD5'
        ? createHash('md5').update(text, 'utf8').digest('hex')
        : unsupported(signType);
  return digest.toUpperCase();
}

function unsupported(signType: never): never {
  throw new TypeError(`signV2: unsupported sign type ${String(signType)} (use MD5 or HMAC-SHA256)`);
}

/** The exact text of a signature per sign type: upper- or lower-case hex of the digest's length. */
const SIGN_RE: Readonly<Record<SignType, RegExp>> = {
  MD5: /^[0-9A-Fa-f]{32}$/,
  'HMAC-SHA256': /^[0-9A-Fa-f]{64}$/,
};

/**
 * The sign type a received map was signed with: `sign_type` when present, else inferred from the signature
 * length (32 hex = MD5, 64 hex = HMAC-SHA256). Notifications signed with HMAC-SHA256 may omit `sign_type`.
 * Returns undefined when neither says anything coherent.
 */
export function signTypeOf(params: Readonly<Record<string, string | undefined>>): SignType | undefined {
  const sign = params.sign;
  if (typeof sign !== 'string') return undefined;
  const declared = params.sign_type;
  if (declared !== undefined && declared !== '') return isSignType(declared) ? declared : undefined;
  if (SIGN_RE.MD5.test(sign)) return 'MD5';
  if (SIGN_RE['HMAC-SHA256'].test(sign)) return 'HMAC-SHA256';
  return undefined;
}

/**
 * Verifies `sign` over the raw received map: every element but `sign`, including fields this code does not
 * model (coupon_fee_0, promotion_detail, ...). Constant-time. Returns false, never throws, on a bad or
 * missing signature.
 *
 * The received text must be hex of exactly the sign type's length before anything is compared: the bytes are
 * compared as hex-decoded digests, and any other character (one that merely encodes to a hex digit's byte in
 * some charset) must not get that far.
 */
export function verifyV2(params: Readonly<Record<string, string | undefined>>, key: string): boolean {
  const signType = signTypeOf(params);
  const received = params.sign;
  if (!signType || typeof received !== 'string' || !key || !SIGN_RE[signType].test(received)) return false;
  const expected = Buffer.from(signV2(params, key, signType), 'hex');
  const actual = Buffer.from(received, 'hex');
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

/**
 * Whether `received` is the signature of `params` under a sign type the caller already knows (APP pay
 * parameters, the Native mode-1 link: bodies that carry no `sign_type`). Constant-time, hex of the exact
 * length first, never throws.
 */
export function matchesSignV2(params: V2Params, received: unknown, key: string, signType: SignType): boolean {
  if (typeof received !== 'string' || !key || !isSignType(signType) || !SIGN_RE[signType].test(received)) {
    return false;
  }
  const expected = Buffer.from(signV2(params, key, signType), 'hex');
  const actual = Buffer.from(received, 'hex');
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

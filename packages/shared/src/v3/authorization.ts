import type { KeyObject } from 'node:crypto';
import { createNonce } from '../core/nonce.ts';
import { WechatPayV3SignatureError } from './errors.ts';
import { isBase64, requestMessageV3, signV3 } from './sign.ts';

/** The only scheme APIv3 defines for RSA merchants (docs/protocol.md §7 "Signing requests"). */
export const V3_AUTH_SCHEME = 'WECHATPAY2-SHA256-RSA2048';

export interface AuthorizationV3Input {
  method: string;
  /** Path and query as sent (`/v3/pay/transactions/id/42?mchid=1900000109`); a full URL is reduced to them. */
  url: string;
  /** The exact request body text; '' or undefined for GET. */
  body?: string;
  mchId: string;
  /** Serial of the merchant API certificate whose private key signs. */
  serialNo: string;
  privateKey: string | KeyObject;
  /** Seconds; now by default. */
  timestamp?: string | number;
  nonce?: string;
}

export interface AuthorizationV3 {
  mchId: string;
  nonce: string;
  signature: string;
  timestamp: string;
  serialNo: string;
}

/** The `Authorization` header value of one request. */
export function buildAuthorizationV3(input: AuthorizationV3Input): string {
  const timestamp = String(input.timestamp ?? Math.floor(Date.now() / 1000));
  const nonce = input.nonce ?? createNonce();
  if (!input.mchId || !input.serialNo)
    throw new TypeError('buildAuthorizationV3: mchId and serialNo are required');
  const signature = signV3(
    requestMessageV3({ method: input.method, url: pathOf(input.url), timestamp, nonce, body: input.body }),
    input.privateKey,
  );
  return (
    `${V3_AUTH_SCHEME} mchid="${input.mchId}",nonce_str="${nonce}",signature="${signature}",` +
    `timestamp="${timestamp}",serial_no="${input.serialNo}"`
  );
}

const ITEM_RE = /^\s*([a-z_]+)="([^"]*)"\s*$/;
const FIELDS = {
  mchid: 'mchId',
  nonce_str: 'nonce',
  signature: 'signature',
  timestamp: 'timestamp',
  serial_no: 'serialNo',
} as const;

/**
 * Reads a merchant's `Authorization` header (the sandbox checks merchants with it): the five items in any order,
 * each exactly once. Throws WechatPayV3SignatureError MALFORMED_AUTHORIZATION; verifying the signature is the
 * caller's next step (requestMessageV3 + verifySignatureV3 with the merchant certificate).
 */
export function parseAuthorizationV3(header: string): AuthorizationV3 {
  const bad = (why: string) =>
    new WechatPayV3SignatureError('MALFORMED_AUTHORIZATION', `Authorization header ${why}`);
  if (typeof header !== 'string') throw bad('is missing');
  const text = header.trim();
  if (!text.startsWith(V3_AUTH_SCHEME + ' ')) throw bad(`does not start with ${V3_AUTH_SCHEME}`);
  const found: Partial<Record<keyof AuthorizationV3, string>> = {};
  for (const item of text.slice(V3_AUTH_SCHEME.length + 1).split(',')) {
    const m = ITEM_RE.exec(item);
    if (!m) throw bad('has an item that is not name="value"');
    const field = FIELDS[m[1] as keyof typeof FIELDS];
    if (!field) throw bad(`has an unknown item ${m[1]}`);
    if (found[field] !== undefined) throw bad(`repeats ${m[1]}`);
    found[field] = m[2] as string;
  }
  const { mchId, nonce, signature, timestamp, serialNo } = found;
  if (!mchId || !nonce || !signature || !timestamp || !serialNo) throw bad('lacks one of its five items');
  if (!/^\d{1,20}$/.test(mchId)) throw bad('has a non-numeric mchid');
  if (!/^\d{1,12}$/.test(timestamp)) throw bad('has a timestamp that is not seconds');
  if (!isBase64(signature)) throw bad('has a signature that is not base64');
  return { mchId, nonce, signature, timestamp, serialNo };
}

/** What gets signed is the path and query only, never scheme and host (docs/protocol.md §7). */
function pathOf(url: string): string {
  if (url.startsWith('/')) return url;
  const parsed = new URL(url);
  return parsed.pathname + parsed.search;
}

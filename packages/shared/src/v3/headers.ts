import { createSign, type KeyObject } from 'node:crypto';
import { createNonce } from '../core/nonce.ts';
import { WechatPayV3SignatureError } from './errors.ts';
import { responseMessageV3, toPrivateKey } from './sign.ts';
import type { V3SignedMessage } from './verify.ts';

/** Node's IncomingHttpHeaders, a fetch-style record, or our transport's flat one. */
export type V3HeaderBag = Readonly<Record<string, string | readonly string[] | undefined>>;

const NAMES = ['wechatpay-timestamp', 'wechatpay-nonce', 'wechatpay-signature', 'wechatpay-serial'] as const;

/** Whether any of the four signature headers is present (a reply that carries some must carry all). */
export function hasSignatureHeadersV3(headers: V3HeaderBag): boolean {
  return NAMES.some((name) => header(headers, name) !== undefined);
}

/**
 * Picks the four `Wechatpay-*` headers out of any header record, names compared case-insensitively (HTTP says
 * so; Node lower-cases, other stacks keep `Wechatpay-Serial`). A missing one is MISSING_HEADERS; a header sent
 * twice is MALFORMED_HEADERS, since we could not know which copy was signed.
 */
export function signedMessageFromHeadersV3(headers: V3HeaderBag, body: string | Uint8Array): V3SignedMessage {
  const [timestamp, nonce, signature, serial] = NAMES.map((name) => header(headers, name));
  if (timestamp === undefined || nonce === undefined || signature === undefined || serial === undefined) {
    const missing = NAMES.filter((name) => header(headers, name) === undefined);
    throw new WechatPayV3SignatureError('MISSING_HEADERS', `unsigned: no ${missing.join(', ')} header`);
  }
  return { timestamp, nonce, signature, serial, body };
}

function header(headers: V3HeaderBag, wanted: string): string | undefined {
  let found: string | undefined;
  for (const [name, value] of Object.entries(headers)) {
    if (name.toLowerCase() !== wanted || value === undefined) continue;
    const values = typeof value === 'string' ? [value] : [...value];
    if (found !== undefined || values.length !== 1) {
      throw new WechatPayV3SignatureError('MALFORMED_HEADERS', `${wanted} is sent more than once`);
    }
    found = values[0];
  }
  return found;
}

export interface SignResponseV3Options {
  /** The private key behind `serial` (platform certificate or WeChat Pay public key). */
  privateKey: string | KeyObject;
  serial: string;
  /** Seconds; now by default. */
  timestamp?: string | number;
  nonce?: string;
}

/**
 * The headers WeChat puts on a reply or notification, for the sandbox and for tests: signs exactly the bytes
 * that will be sent (docs/protocol.md §7 "Verifying responses and notifications").
 */
export function signResponseV3(
  body: string | Uint8Array,
  options: SignResponseV3Options,
): Record<string, string> {
  const timestamp = String(options.timestamp ?? Math.floor(Date.now() / 1000));
  const nonce = options.nonce ?? createNonce();
  const signature = createSign('sha256')
    .update(responseMessageV3(timestamp, nonce, body))
    .sign(toPrivateKey(options.privateKey), 'base64');
  return {
    'Wechatpay-Timestamp': timestamp,
    'Wechatpay-Nonce': nonce,
    'Wechatpay-Signature': signature,
    'Wechatpay-Serial': options.serial,
    'Wechatpay-Signature-Type': 'WECHATPAY2-SHA256-RSA2048',
  };
}

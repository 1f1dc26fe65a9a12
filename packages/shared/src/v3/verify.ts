import { WechatPayV3SignatureError } from './errors.ts';
import type { V3KeySet } from './keys.ts';
import { isBase64, responseMessageV3, verifySignatureV3 } from './sign.ts';

/** The four signature headers of a reply or notification, by their values. */
export interface V3SignedMessage {
  /** `Wechatpay-Timestamp`, seconds. */
  timestamp: string;
  /** `Wechatpay-Nonce`. */
  nonce: string;
  /** The body exactly as received: never a parsed object serialised again. */
  body: string | Uint8Array;
  /** `Wechatpay-Signature`, base64. */
  signature: string;
  /** `Wechatpay-Serial`: a certificate serial or a `PUB_KEY_ID_…`. */
  serial: string;
}

export interface VerifyV3Options {
  /** Our clock in ms; Date.now() by default. */
  now?: number;
  /** Largest accepted distance between `Wechatpay-Timestamp` and `now`, both directions; 300 s by default. */
  toleranceSeconds?: number;
}

/** WeChat's probe of our verifier: it sends a signature that must fail (docs/protocol.md §7). */
export const SIGNTEST_PREFIX = 'WECHATPAY/SIGNTEST/';

/**
 * Verifies a WeChat Pay reply or notification (docs/protocol.md §7 "Verifying responses and notifications").
 * Returns false only for a well-formed message whose signature does not verify with the named key; everything
 * else that makes the check impossible or meaningless throws WechatPayV3SignatureError with its reason:
 * MALFORMED_HEADERS, STALE_TIMESTAMP (either direction), SIGNTEST_PROBE, UNKNOWN_SERIAL (never fetched here:
 * certificate refresh is PlatformCertificates' job, on its own schedule), EXPIRED_CERTIFICATE.
 */
export function verifyV3(message: V3SignedMessage, keys: V3KeySet, options: VerifyV3Options = {}): boolean {
  const { timestamp, nonce, body, signature, serial } = message;
  const malformed = (why: string) => new WechatPayV3SignatureError('MALFORMED_HEADERS', `Wechatpay-${why}`);
  if (typeof timestamp !== 'string' || !/^\d{1,12}$/.test(timestamp))
    throw malformed('Timestamp is not seconds');
  if (typeof nonce !== 'string' || !nonce || /[\r\n]/.test(nonce))
    throw malformed('Nonce is empty or multi-line');
  if (typeof serial !== 'string' || !serial) throw malformed('Serial is empty');
  if (typeof body !== 'string' && !(body instanceof Uint8Array)) {
    throw new TypeError('verifyV3: body must be the raw string or Buffer received, not a parsed object');
  }
  if (typeof signature === 'string' && signature.startsWith(SIGNTEST_PREFIX)) {
    throw new WechatPayV3SignatureError(
      'SIGNTEST_PROBE',
      'Wechatpay-Signature is a WECHATPAY/SIGNTEST/ probe',
    );
  }
  if (typeof signature !== 'string' || !isBase64(signature)) throw malformed('Signature is not base64');

  const now = options.now ?? Date.now();
  const tolerance = options.toleranceSeconds ?? 300;
  const skew = Number(timestamp) - now / 1000;
  if (!(Math.abs(skew) <= tolerance)) {
    throw new WechatPayV3SignatureError(
      'STALE_TIMESTAMP',
      `Wechatpay-Timestamp is ${Math.round(Math.abs(skew))} s ${skew < 0 ? 'old' : 'in the future'} ` +
        `(tolerance ${tolerance} s): a replay, or a clock to fix`,
    );
  }
  const key = keys.get(serial);
  if (!key) {
    throw new WechatPayV3SignatureError(
      'UNKNOWN_SERIAL',
      `no WeChat Pay key or platform certificate with serial ${serial}: add the public key ` +
        '(PUB_KEY_ID_…) or refresh the platform certificates',
    );
  }
  if (key.kind === 'certificate' && (key.notAfter.getTime() < now || key.notBefore.getTime() > now)) {
    throw new WechatPayV3SignatureError(
      'EXPIRED_CERTIFICATE',
      `platform certificate ${key.id} is valid from ${key.notBefore.toISOString()} to ${key.notAfter.toISOString()}, not now`,
    );
  }
  return verifySignatureV3(responseMessageV3(timestamp, nonce, body), signature, key.key);
}

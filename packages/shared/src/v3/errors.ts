import { WechatError, type WechatErrorOptions } from '../core/errors.ts';

/**
 * Typed errors of the WeChat Pay APIv3 core. Callers branch on the class, `code` or `reason`, never on message
 * text. Every one is a WechatError (core/errors.ts), so httpStatus, rawBody and requestId (the `Request-ID` reply
 * header, which APIv3 sends on every reply: docs/protocol.md §7 "Errors") ride along for the support ticket.
 *
 *   WechatPayV3Error                  base: code, message, detail, httpStatus, requestId, retryable
 *   ├─ WechatPayV3OrderNotExistError  ORDER_NOT_EXIST (404): WeChat does not know the order
 *   ├─ WechatPayV3OrderPaidError      ORDERPAID: the order is already paid; treat it as paid, do not re-order
 *   ├─ WechatPayV3OrderClosedError    ORDER_CLOSED: closed; a new out_trade_no is needed
 *   ├─ WechatPayV3SignatureError      a reply or notification is unsigned, forged, stale, or its key unknown
 *   ├─ WechatPayV3DecryptError        an AEAD_AES_256_GCM resource did not decrypt (wrong APIv3 key, tampering)
 *   ├─ WechatPayV3BadMessageError     a signed reply or notification that is not what the protocol promises
 *   └─ WechatPayV3TransportError      network, timeout or oversized reply (retryable)
 */
export interface WechatPayV3ErrorOptions extends WechatErrorOptions {
  /** WeChat's `detail` object of an error reply (which field was wrong, and why). */
  detail?: unknown;
  /** Overrides the status-based rule of thumb (see isRetryableV3). */
  retryable?: boolean;
}

export class WechatPayV3Error extends WechatError {
  override readonly name: string = 'WechatPayV3Error';
  /** WeChat's `code` (`PARAM_ERROR`, `ORDER_NOT_EXIST`, ...) or a local one (`SIGNATURE`, `DECRYPT`, `TIMEOUT`). */
  declare readonly code: string;
  readonly detail: unknown;
  override readonly retryable: boolean;

  constructor(code: string, message: string, options: WechatPayV3ErrorOptions = {}) {
    const { detail, retryable, ...base } = options;
    super(code, message, base);
    this.detail = detail;
    this.retryable = retryable ?? isRetryableV3(options.httpStatus, code);
  }
}

/**
 * Codes after which the same request, unchanged, may succeed later (docs/protocol.md §7 "Errors": 429 and 5xx).
 * A 4xx is the request's own fault and stays one however often it is sent.
 */
const RETRYABLE_CODES = new Set(['FREQUENCY_LIMITED', 'SYSTEM_ERROR', 'SYSTEMERROR', 'TIMEOUT', 'NETWORK']);

export function isRetryableV3(httpStatus: number | undefined, code: string): boolean {
  if (RETRYABLE_CODES.has(code)) return true;
  if (httpStatus === undefined) return false;
  return httpStatus >= 500 || httpStatus === 429;
}

export class WechatPayV3OrderNotExistError extends WechatPayV3Error {
  override readonly name = 'WechatPayV3OrderNotExistError';
}

export class WechatPayV3OrderPaidError extends WechatPayV3Error {
  override readonly name = 'WechatPayV3OrderPaidError';
}

export class WechatPayV3OrderClosedError extends WechatPayV3Error {
  override readonly name = 'WechatPayV3OrderClosedError';
}

/** Why a signature was refused; `BAD_SIGNATURE` is the only one where the signature was actually checked. */
export type V3SignatureReason =
  | 'MISSING_HEADERS'
  | 'MALFORMED_HEADERS'
  | 'MALFORMED_AUTHORIZATION'
  | 'STALE_TIMESTAMP'
  | 'UNKNOWN_SERIAL'
  | 'EXPIRED_CERTIFICATE'
  | 'SIGNTEST_PROBE'
  | 'BAD_SIGNATURE';

export class WechatPayV3SignatureError extends WechatPayV3Error {
  override readonly name = 'WechatPayV3SignatureError';
  declare readonly code: 'SIGNATURE';
  readonly reason: V3SignatureReason;

  constructor(reason: V3SignatureReason, message: string, options?: WechatPayV3ErrorOptions) {
    super('SIGNATURE', message, { retryable: false, ...options });
    this.reason = reason;
  }
}

export type V3DecryptReason = 'TAG_MISMATCH' | 'BAD_KEY' | 'UNSUPPORTED_ALGORITHM' | 'MALFORMED';

export class WechatPayV3DecryptError extends WechatPayV3Error {
  override readonly name = 'WechatPayV3DecryptError';
  declare readonly code: 'DECRYPT';
  readonly reason: V3DecryptReason;

  constructor(reason: V3DecryptReason, message: string, options?: WechatPayV3ErrorOptions) {
    super('DECRYPT', message, { retryable: false, ...options });
    this.reason = reason;
  }
}

/** Signed (so WeChat sent it) but not what the protocol promises: not JSON, a field missing or mistyped. */
export class WechatPayV3BadMessageError extends WechatPayV3Error {
  override readonly name = 'WechatPayV3BadMessageError';
  constructor(message: string, options?: WechatPayV3ErrorOptions) {
    super('BAD_MESSAGE', message, { retryable: false, ...options });
  }
}

export class WechatPayV3TransportError extends WechatPayV3Error {
  override readonly name = 'WechatPayV3TransportError';
  constructor(code: 'NETWORK' | 'TIMEOUT' | 'TOO_LARGE', message: string, options?: WechatPayV3ErrorOptions) {
    super(code, message, { retryable: true, ...options });
  }
}

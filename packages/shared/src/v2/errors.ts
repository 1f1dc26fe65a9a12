import { WechatError, type WechatErrorOptions } from '../core/errors.ts';

/**
 * Typed errors of the WeChat Pay v2 core. Callers branch on the class (or `code`), never on message text.
 * Every one is a WechatError (core/errors.ts): httpStatus, rawBody (the reply XML) and requestId come along
 * when there was a reply.
 *
 *   WechatPayError                      base: `code`, `message`, `raw` (the reply map when there was one)
 *   ├─ WechatPayXmlError                an XML body failed the hardened parser (hostile, malformed, too large)
 *   ├─ WechatPaySignatureError          a reply or notification is unsigned, forged or names another merchant
 *   ├─ WechatPayOrderPaidError          ORDERPAID: the trade is already paid; treat as paid, do not re-order
 *   ├─ WechatPayOrderClosedError        ORDERCLOSED: the trade is closed; a new out_trade_no is needed
 *   ├─ WechatPayOrderNotExistError      ORDERNOTEXIST: WeChat does not know the out_trade_no
 *   ├─ WechatPayRefundNotExistError     REFUNDNOTEXIST: no refund matches the refundquery reference
 *   ├─ WechatPayNotEnoughFundsError     NOTENOUGH: the merchant balance cannot cover the refund (top it up)
 *   ├─ WechatPayUserAccountError        USER_ACCOUNT_ABNORMAL: the buyer's account cannot receive a refund
 *   ├─ WechatPaySystemError             SYSTEMERROR and friends: retry later with the same parameters
 *   ├─ WechatPayInvalidRequestError     return_code=FAIL or a business error the request itself caused
 *   └─ WechatPayTransportError          network, HTTP status or unreadable reply (retryable)
 *      └─ WechatPayTimeoutError         no reply within timeoutMs (retryable)
 */
export type WechatPayRawMap = Readonly<Record<string, string>>;

export class WechatPayError extends WechatError {
  override readonly name: string = 'WechatPayError';
  /** err_code, return_code or a local code such as `SIGNATURE`, `XML`, `TIMEOUT`. */
  declare readonly code: string;
  /** The parsed reply, when the failure came with one. Never contains the API key. */
  readonly raw: WechatPayRawMap | undefined;

  constructor(code: string, message: string, raw?: WechatPayRawMap, options?: WechatErrorOptions) {
    super(code, message, options);
    this.raw = raw;
  }
}

export class WechatPayXmlError extends WechatPayError {
  override readonly name = 'WechatPayXmlError';
  constructor(message: string) {
    super('XML', message);
  }
}

export class WechatPaySignatureError extends WechatPayError {
  override readonly name = 'WechatPaySignatureError';
  constructor(message: string, raw?: WechatPayRawMap, options?: WechatErrorOptions) {
    super('SIGNATURE', message, raw, options);
  }
}

export class WechatPayOrderPaidError extends WechatPayError {
  override readonly name = 'WechatPayOrderPaidError';
}

export class WechatPayOrderClosedError extends WechatPayError {
  override readonly name = 'WechatPayOrderClosedError';
}

export class WechatPayOrderNotExistError extends WechatPayError {
  override readonly name = 'WechatPayOrderNotExistError';
}

export class WechatPayRefundNotExistError extends WechatPayError {
  override readonly name = 'WechatPayRefundNotExistError';
}

/** Not retryable as such: someone has to fund the merchant account first, then retry the same out_refund_no. */
export class WechatPayNotEnoughFundsError extends WechatPayError {
  override readonly name = 'WechatPayNotEnoughFundsError';
}

/** The buyer's account is frozen or closed: this refund cannot go back the way the money came. */
export class WechatPayUserAccountError extends WechatPayError {
  override readonly name = 'WechatPayUserAccountError';
}

export class WechatPaySystemError extends WechatPayError {
  override readonly name = 'WechatPaySystemError';
  override readonly retryable = true;
}

export class WechatPayInvalidRequestError extends WechatPayError {
  override readonly name = 'WechatPayInvalidRequestError';
}

export class WechatPayTransportError extends WechatPayError {
  override readonly name: string = 'WechatPayTransportError';
  override readonly retryable = true;
}

export class WechatPayTimeoutError extends WechatPayTransportError {
  override readonly name = 'WechatPayTimeoutError';
  constructor(timeoutMs: number, options?: WechatErrorOptions) {
    super('TIMEOUT', `WeChat Pay did not answer within ${timeoutMs} ms`, undefined, options);
  }
}

/**
 * err_codes after which the same request, unchanged, may succeed later (docs/protocol.md §3, §6, §8). For a
 * refund "unchanged" includes the out_refund_no: a new one would be a second refund.
 */
const RETRYABLE_ERR_CODES = new Set([
  'SYSTEMERROR',
  'BANKERROR',
  'FREQUENCY_LIMITED',
  'USERPAYING',
  'BIZERR_NEED_RETRY',
]);

type ResultErrorClass = new (
  code: string,
  message: string,
  raw?: WechatPayRawMap,
  options?: WechatErrorOptions,
) => WechatPayError;

const CLASS_BY_CODE: Readonly<Record<string, ResultErrorClass>> = {
  ORDERPAID: WechatPayOrderPaidError,
  ORDERCLOSED: WechatPayOrderClosedError,
  ORDERNOTEXIST: WechatPayOrderNotExistError,
  REFUNDNOTEXIST: WechatPayRefundNotExistError,
  NOTENOUGH: WechatPayNotEnoughFundsError,
  USER_ACCOUNT_ABNORMAL: WechatPayUserAccountError,
};

/** The one mapping from a business failure (result_code=FAIL) to an error class. */
export function errorFromResult(raw: WechatPayRawMap, options?: WechatErrorOptions): WechatPayError {
  const code = raw.err_code || 'FAIL';
  const message = `WeChat Pay ${code}: ${raw.err_code_des || raw.return_msg || 'no description'}`;
  const cls =
    CLASS_BY_CODE[code] ??
    (RETRYABLE_ERR_CODES.has(code) ? WechatPaySystemError : WechatPayInvalidRequestError);
  return new cls(code, message, raw, options);
}

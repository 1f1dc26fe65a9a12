/**
 * Typed errors of the WeChat Pay v2 core. Callers branch on the class (or `code`), never on message text.
 *
 *   WechatPayError                  base: `code`, `message`, `raw` (the reply map when there was one)
 *   ├─ WechatPayXmlError            an XML body failed the hardened parser (hostile, malformed, too large)
 *   ├─ WechatPaySignatureError      a reply or notification is unsigned, forged or names another merchant
 *   ├─ WechatPayOrderPaidError      ORDERPAID: the trade is already paid; treat as paid, do not re-order
 *   ├─ WechatPayOrderClosedError    ORDERCLOSED: the trade is closed; a new out_trade_no is needed
 *   ├─ WechatPayOrderNotExistError  ORDERNOTEXIST: WeChat does not know the out_trade_no
 *   ├─ WechatPaySystemError         SYSTEMERROR and friends: retry later with the same parameters
 *   ├─ WechatPayInvalidRequestError return_code=FAIL or a business error the request itself caused
 *   └─ WechatPayTransportError      network, HTTP status or unreadable reply (retryable)
 *      └─ WechatPayTimeoutError     no reply within timeoutMs (retryable)
 */
export type WechatPayRawMap = Readonly<Record<string, string>>;

export class WechatPayError extends Error {
  override readonly name: string = 'WechatPayError';
  /** err_code, return_code or a local code such as `SIGNATURE`, `XML`, `TIMEOUT`. */
  readonly code: string;
  /** The parsed reply, when the failure came with one. Never contains the API key. */
  readonly raw: WechatPayRawMap | undefined;
  /** Whether retrying the same call with the same parameters can succeed. */
  readonly retryable: boolean = false;

  constructor(code: string, message: string, raw?: WechatPayRawMap, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
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
  constructor(message: string, raw?: WechatPayRawMap) {
    super('SIGNATURE', message, raw);
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
  constructor(timeoutMs: number, options?: { cause?: unknown }) {
    super('TIMEOUT', `WeChat Pay did not answer within ${timeoutMs} ms`, undefined, options);
  }
}

/** err_codes after which the same request, unchanged, may succeed later (wechatpay.md §3, §6). */
const RETRYABLE_ERR_CODES = new Set(['SYSTEMERROR', 'BANKERROR', 'FREQUENCY_LIMITED', 'USERPAYING']);

/** The one mapping from a business failure (result_code=FAIL) to an error class. */
export function errorFromResult(raw: WechatPayRawMap): WechatPayError {
  const code = raw.err_code || 'FAIL';
  const message = `WeChat Pay ${code}: ${raw.err_code_des || raw.return_msg || 'no description'}`;
  if (code === 'ORDERPAID') return new WechatPayOrderPaidError(code, message, raw);
  if (code === 'ORDERCLOSED') return new WechatPayOrderClosedError(code, message, raw);
  if (code === 'ORDERNOTEXIST') return new WechatPayOrderNotExistError(code, message, raw);
  if (RETRYABLE_ERR_CODES.has(code)) return new WechatPaySystemError(code, message, raw);
  return new WechatPayInvalidRequestError(code, message, raw);
}

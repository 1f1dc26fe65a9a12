/**
 * The one error base of every WeChat protocol family (APIv2 pay, login, and APIv3 later). Callers branch on the
 * class or `code`, never on message text; whatever went over the wire comes along for the log and the support
 * ticket, but never a key or secret.
 *
 *   WechatError                     base: code, message, retryable, httpStatus, rawBody, requestId
 *   ├─ WechatTransportError         the reply never arrived or could not be read: NETWORK, TIMEOUT, TOO_LARGE
 *   ├─ BodyTooLargeError            a body (a reply, or a request we receive) went over its byte limit
 *   ├─ WechatPayError               APIv2 pay (v2/errors.ts)
 *   └─ WechatLoginError             code2Session (login/errors.ts)
 */
export interface WechatErrorOptions {
  cause?: unknown;
  /** HTTP status of the reply, when there was a reply. */
  httpStatus?: number;
  /** The reply text, when there was one. Callers must leave it out when it could hold a key or secret. */
  rawBody?: string;
  /** WeChat's `Request-ID` reply header (APIv3 sends it on every reply; APIv2 only sometimes). */
  requestId?: string;
}

export class WechatError extends Error {
  override readonly name: string = 'WechatError';
  /** WeChat's code (err_code, errcode, v3 `code`) or a local one such as `NETWORK`, `TIMEOUT`, `BAD_REPLY`. */
  readonly code: string | number;
  /** Whether retrying the same call with the same parameters can succeed. */
  readonly retryable: boolean = false;
  readonly httpStatus: number | undefined;
  readonly rawBody: string | undefined;
  readonly requestId: string | undefined;

  constructor(code: string | number, message: string, options: WechatErrorOptions = {}) {
    // Only pass `cause` when there is one, so errors without one keep no own `cause` property.
    super(message, 'cause' in options ? { cause: options.cause } : undefined);
    this.code = code;
    this.httpStatus = options.httpStatus;
    this.rawBody = options.rawBody;
    this.requestId = options.requestId;
  }
}

export type TransportFailure = 'NETWORK' | 'TIMEOUT' | 'TOO_LARGE';

/**
 * The HTTP exchange itself failed. Protocol clients translate it into their own family (WechatPayTransportError,
 * WechatLoginUnavailableError) so their callers keep one hierarchy to branch on.
 */
export class WechatTransportError extends WechatError {
  override readonly name: string = 'WechatTransportError';
  declare readonly code: TransportFailure;
  override readonly retryable = true;

  constructor(code: TransportFailure, message: string, options?: WechatErrorOptions) {
    super(code, message, options);
  }
}

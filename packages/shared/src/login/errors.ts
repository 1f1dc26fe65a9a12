import { WechatError, type WechatErrorOptions } from '../core/errors.ts';

/**
 * Errors of mini-program login (code2Session). Every one is a WechatError (core/errors.ts); none carries the
 * app secret or a session_key, in its message or its rawBody.
 *
 *   WechatLoginError                 base; 40013 (bad appid), 40125 (bad secret) and other configuration errors
 *   ├─ WechatLoginInvalidCodeError   40029
 *   ├─ WechatLoginCodeUsedError      40163
 *   ├─ WechatLoginRateLimitedError   45011
 *   ├─ WechatLoginBlockedError       40226
 *   └─ WechatLoginUnavailableError   -1, network, timeout, HTTP status, unreadable reply (retryable)
 */
export class WechatLoginError extends WechatError {
  override readonly name: string = 'WechatLoginError';
  /** WeChat's errcode, or a local code (`NETWORK`, `TIMEOUT`, `BAD_REPLY`, `HTTP_<status>`). */
  declare readonly code: number | string;
  constructor(code: number | string, message: string, options?: WechatErrorOptions) {
    super(code, message, options);
  }
}
/** 40029: the code is unknown, expired (codes live ~5 minutes) or for another appid. */
export class WechatLoginInvalidCodeError extends WechatLoginError {
  override readonly name = 'WechatLoginInvalidCodeError';
}
/** 40163: the code was already exchanged. Codes are single-use: call wx.login again. */
export class WechatLoginCodeUsedError extends WechatLoginError {
  override readonly name = 'WechatLoginCodeUsedError';
}
/** 45011: more than 100 exchanges a minute for one user. */
export class WechatLoginRateLimitedError extends WechatLoginError {
  override readonly name = 'WechatLoginRateLimitedError';
}
/** 40226: WeChat blocked a high-risk user. */
export class WechatLoginBlockedError extends WechatLoginError {
  override readonly name = 'WechatLoginBlockedError';
}
/** -1 (system busy), network failures and timeouts: try again shortly. */
export class WechatLoginUnavailableError extends WechatLoginError {
  override readonly name = 'WechatLoginUnavailableError';
  override readonly retryable = true;
}

import { readCapped } from './client.ts';

/**
 * Mini-program login: exchanges a wx.login code for {openid, session_key} (wechatpay.md §1).
 * https://developers.weixin.qq.com/miniprogram/dev/OpenApiDoc/user-login/code2Session.html
 *
 * Errors never carry the app secret: the request URL (which holds it) is never put into a message.
 */
export const WECHAT_API_BASE = 'https://api.weixin.qq.com';

export class WechatLoginError extends Error {
  override readonly name: string = 'WechatLoginError';
  /** WeChat's errcode, or a local code (`NETWORK`, `TIMEOUT`, `BAD_REPLY`). */
  readonly code: number | string;
  readonly retryable: boolean = false;
  constructor(code: number | string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
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

export interface Code2SessionOptions {
  appId: string;
  secret: string;
  baseUrl?: string;
  timeoutMs?: number;
}

export interface WechatSession {
  openid: string;
  /** Server-side only: never send it to a client or a log. */
  sessionKey: string;
  unionid: string | undefined;
}

export class Code2SessionClient {
  readonly appId: string;
  readonly baseUrl: string;
  readonly timeoutMs: number;
  readonly #secret: string;

  constructor(options: Code2SessionOptions) {
    if (!options.appId || !options.secret)
      throw new TypeError('Code2SessionClient: appId and secret are required');
    this.appId = options.appId;
    this.#secret = options.secret;
    this.baseUrl = (options.baseUrl ?? WECHAT_API_BASE).replace(/\/+$/, '');
    this.timeoutMs = options.timeoutMs ?? 5_000;
  }

  async code2Session(jsCode: string): Promise<WechatSession> {
    if (typeof jsCode !== 'string' || jsCode.length === 0 || jsCode.length > 128) {
      throw new WechatLoginInvalidCodeError(40029, 'login code is empty or too long');
    }
    const url = new URL(this.baseUrl + '/sns/jscode2session');
    url.search = new URLSearchParams({
      appid: this.appId,
      secret: this.#secret,
      js_code: jsCode,
      grant_type: 'authorization_code',
    }).toString();

    let body: unknown;
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(this.timeoutMs) });
      if (!res.ok) {
        await res.body?.cancel();
        throw new WechatLoginUnavailableError(
          `HTTP_${res.status}`,
          `code2Session answered HTTP ${res.status}`,
        );
      }
      body = JSON.parse(await readCapped(res, 16 * 1024));
    } catch (err) {
      if (err instanceof WechatLoginError) throw err;
      const name = (err as Error | undefined)?.name;
      if (name === 'TimeoutError' || name === 'AbortError') {
        throw new WechatLoginUnavailableError(
          'TIMEOUT',
          `code2Session did not answer within ${this.timeoutMs} ms`,
        );
      }
      if (err instanceof SyntaxError)
        throw new WechatLoginUnavailableError('BAD_REPLY', 'code2Session reply is not JSON');
      // Deliberately no `cause`: undici errors can quote the request URL, and the URL holds the secret.
      throw new WechatLoginUnavailableError('NETWORK', 'could not reach the WeChat login service');
    }

    const reply = (body ?? {}) as Record<string, unknown>;
    const errcode = reply.errcode === undefined ? 0 : Number(reply.errcode);
    if (errcode !== 0) throw this.errorFor(errcode, typeof reply.errmsg === 'string' ? reply.errmsg : '');
    const { openid, session_key: sessionKey, unionid } = reply;
    if (typeof openid !== 'string' || !openid || typeof sessionKey !== 'string' || !sessionKey) {
      throw new WechatLoginUnavailableError('BAD_REPLY', 'code2Session reply lacks openid or session_key');
    }
    return { openid, sessionKey, unionid: typeof unionid === 'string' && unionid ? unionid : undefined };
  }

  private errorFor(errcode: number, errmsg: string): WechatLoginError {
    const detail = `code2Session ${errcode}: ${errmsg.replaceAll(this.#secret, '***') || 'no errmsg'}`;
    switch (errcode) {
      case 40029:
        return new WechatLoginInvalidCodeError(errcode, detail);
      case 40163:
        return new WechatLoginCodeUsedError(errcode, detail);
      case 45011:
        return new WechatLoginRateLimitedError(errcode, detail);
      case 40226:
        return new WechatLoginBlockedError(errcode, detail);
      case -1:
        return new WechatLoginUnavailableError(errcode, detail);
      default:
        // 40013 (bad appid), 40125 (bad secret) and the rest are configuration errors, not the user's.
        return new WechatLoginError(errcode, detail);
    }
  }
}

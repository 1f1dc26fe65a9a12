import { WechatTransportError, type WechatErrorOptions } from '../core/errors.ts';
import { HttpTransport, type HttpReply } from '../core/transport.ts';
import {
  WechatLoginBlockedError,
  WechatLoginCodeUsedError,
  WechatLoginError,
  WechatLoginInvalidCodeError,
  WechatLoginRateLimitedError,
  WechatLoginUnavailableError,
} from './errors.ts';

/**
 * Mini-program login: exchanges a wx.login code for {openid, session_key} (docs/protocol.md §1).
 * https://developers.weixin.qq.com/miniprogram/dev/OpenApiDoc/user-login/code2Session.html
 *
 * Errors never carry the app secret: the request URL (which holds it) is never put into a message, and a reply
 * kept as rawBody has the secret masked (and is left out entirely when it could hold a session_key).
 */
export const WECHAT_API_BASE = 'https://api.weixin.qq.com';

const MAX_REPLY_BYTES = 16 * 1024;

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
  readonly #transport = new HttpTransport();

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

    let res: HttpReply;
    try {
      res = await this.#transport.request({
        method: 'GET',
        url,
        headers: { accept: 'application/json' },
        timeoutMs: this.timeoutMs,
        maxBytes: MAX_REPLY_BYTES,
      });
    } catch (err) {
      if (!(err instanceof WechatTransportError)) throw err;
      const code = err.code;
      if (code === 'TIMEOUT') {
        throw new WechatLoginUnavailableError(
          'TIMEOUT',
          `code2Session did not answer within ${this.timeoutMs} ms`,
        );
      }
      if (code === 'TOO_LARGE')
        throw new WechatLoginUnavailableError('BAD_REPLY', 'code2Session reply is too large');
      // Deliberately no `cause`: a transport error could one day quote the request URL, which holds the secret.
      throw new WechatLoginUnavailableError('NETWORK', 'could not reach the WeChat login service');
    }
    const details: WechatErrorOptions = { httpStatus: res.status, rawBody: this.safeBody(res.text) };
    if (res.status < 200 || res.status > 299) {
      throw new WechatLoginUnavailableError(
        `HTTP_${res.status}`,
        `code2Session answered HTTP ${res.status}`,
        details,
      );
    }
    let body: unknown;
    try {
      body = JSON.parse(res.text);
    } catch {
      throw new WechatLoginUnavailableError('BAD_REPLY', 'code2Session reply is not JSON', details);
    }

    const reply = (body ?? {}) as Record<string, unknown>;
    const errcode = reply.errcode === undefined ? 0 : Number(reply.errcode);
    if (errcode !== 0) {
      throw this.errorFor(errcode, typeof reply.errmsg === 'string' ? reply.errmsg : '', details);
    }
    const { openid, session_key: sessionKey, unionid } = reply;
    if (typeof openid !== 'string' || !openid || typeof sessionKey !== 'string' || !sessionKey) {
      throw new WechatLoginUnavailableError(
        'BAD_REPLY',
        'code2Session reply lacks openid or session_key',
        details,
      );
    }
    return { openid, sessionKey, unionid: typeof unionid === 'string' && unionid ? unionid : undefined };
  }

  private errorFor(errcode: number, errmsg: string, details: WechatErrorOptions): WechatLoginError {
    const detail = `code2Session ${errcode}: ${errmsg.replaceAll(this.#secret, '***') || 'no errmsg'}`;
    switch (errcode) {
      case 40029:
        return new WechatLoginInvalidCodeError(errcode, detail, details);
      case 40163:
        return new WechatLoginCodeUsedError(errcode, detail, details);
      case 45011:
        return new WechatLoginRateLimitedError(errcode, detail, details);
      case 40226:
        return new WechatLoginBlockedError(errcode, detail, details);
      case -1:
        return new WechatLoginUnavailableError(errcode, detail, details);
      default:
        // 40013 (bad appid), 40125 (bad secret) and the rest are configuration errors, not the user's.
        return new WechatLoginError(errcode, detail, details);
    }
  }

  /** The reply text fit for an error's rawBody: secret masked; dropped when it may hold a session_key. */
  private safeBody(text: string): string | undefined {
    if (text.includes('session_key')) return undefined;
    return text.replaceAll(this.#secret, '***');
  }
}

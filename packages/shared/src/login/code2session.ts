import { HttpTransport } from '../core/transport.ts';
import { checkLoginCode, loginApiGet } from './api-get.ts';
import { WechatLoginUnavailableError } from './errors.ts';

/**
 * Mini-program login: exchanges a wx.login code for {openid, session_key} (docs/protocol.md §1).
 * https://developers.weixin.qq.com/miniprogram/dev/OpenApiDoc/user-login/code2Session.html
 * The GET itself, its errors and what they may carry: api-get.ts.
 */
export const WECHAT_API_BASE = 'https://api.weixin.qq.com';

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
    checkLoginCode(jsCode, 'code2Session');
    const { reply, details } = await loginApiGet({
      transport: this.#transport,
      baseUrl: this.baseUrl,
      path: '/sns/jscode2session',
      query: { appid: this.appId, secret: this.#secret, js_code: jsCode, grant_type: 'authorization_code' },
      secret: this.#secret,
      timeoutMs: this.timeoutMs,
      name: 'code2Session',
    });
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
}

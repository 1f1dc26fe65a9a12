import { WechatError, WechatTransportError, type WechatErrorOptions } from '../core/errors.ts';
import { HttpTransport, type HttpReply } from '../core/transport.ts';
import { loginApiGet } from './api-get.ts';
import { WECHAT_API_BASE } from './code2session.ts';
import { WechatLoginUnavailableError } from './errors.ts';

/**
 * Mini-program subscribe messages (docs/protocol.md §9, docs/subscribe-messages.md): the app's access token from
 * GET /cgi-bin/token, and POST /cgi-bin/message/subscribe/send with it. The buyer grants each message with
 * wx.requestSubscribeMessage: one "accept" allows one send of that template to that buyer.
 * https://developers.weixin.qq.com/miniprogram/dev/OpenApiDoc/mp-access-token/getAccessToken.html
 * https://developers.weixin.qq.com/miniprogram/dev/OpenApiDoc/user-message/subscribe-message/sendMessage.html
 *
 * Neither the app secret nor the access token ever reaches an error's message or rawBody.
 */

/**
 * The sandbox's demo "payment succeeded" template (apps/sandbox/README.md, Subscribe messages): its id, as the
 * mini-program's template library would show it, and its keywords in order. The server defaults to it in
 * sandbox mode.
 */
export const SANDBOX_DEMO_SUBSCRIBE_TEMPLATE = Object.freeze({
  id: 'mpPayDemoPaidTpl0x7Qb3VZqv2Lr9sK4HcWm8nJd1Ue',
  title: '支付成功通知',
  /** thing: ≤20 characters; amount: a number with up to 2 decimals (+ 元); character_string: ≤32 [0-9A-Za-z_-]. */
  keywords: Object.freeze(['thing1', 'amount2', 'character_string3', 'time4'] as const),
});

/** The `miniprogram_state` a tapped message opens: the developer, trial or released version. */
export type MiniProgramState = 'developer' | 'trial' | 'formal';

export interface SubscribeMessage {
  /** The buyer's openid under this mini-program. */
  touser: string;
  templateId: string;
  /** The mini-program page the message opens (`pages/x/x?query`); WeChat checks it exists (41030). */
  page?: string;
  /** Keyword → value, e.g. `{thing1: '咖啡 ×2', amount2: '12.00'}`; must be exactly the template's keywords. */
  data: Readonly<Record<string, string>>;
  miniprogramState?: MiniProgramState;
  /** zh_CN by default. */
  lang?: 'zh_CN' | 'en_US' | 'zh_HK' | 'zh_TW';
}

export interface AccessToken {
  accessToken: string;
  /** Seconds (7200 at WeChat). */
  expiresIn: number;
}

/**
 * Errors of subscribe/send. Every one is a WechatError; none carries the access token.
 *
 *   WechatMessageError                 base: the message was refused (43101 no consent, 40037 bad template,
 *   │                                  47003 data does not match the template, 40003 bad openid, 41030 bad page)
 *   ├─ WechatMessageNoConsentError     43101: the user's consent is missing or used up (one send per accept)
 *   ├─ WechatAccessTokenError          40001 / 40014 invalid token, 42001 expired: fetch a new token, send again
 *   └─ WechatMessageUnavailableError   -1, network, timeout, HTTP status, unreadable reply (retryable)
 */
export class WechatMessageError extends WechatError {
  override readonly name: string = 'WechatMessageError';
  declare readonly code: number | string;
}
export class WechatMessageNoConsentError extends WechatMessageError {
  override readonly name = 'WechatMessageNoConsentError';
}
export class WechatAccessTokenError extends WechatMessageError {
  override readonly name = 'WechatAccessTokenError';
}
export class WechatMessageUnavailableError extends WechatMessageError {
  override readonly name = 'WechatMessageUnavailableError';
  override readonly retryable = true;
}

/** errcodes saying the access token itself is bad, not the message. */
export const ACCESS_TOKEN_ERRCODES: readonly number[] = [40001, 40014, 42001];

export interface SubscribeMessageClientOptions {
  appId: string;
  /** The mini-program's AppSecret. Never logged nor put into an error. */
  secret: string;
  baseUrl?: string;
  timeoutMs?: number;
}

const MAX_REPLY_BYTES = 16 * 1024;

export class SubscribeMessageClient {
  readonly appId: string;
  readonly baseUrl: string;
  readonly timeoutMs: number;
  readonly #secret: string;
  readonly #transport = new HttpTransport();

  constructor(options: SubscribeMessageClientOptions) {
    if (!options.appId || !options.secret) {
      throw new TypeError('SubscribeMessageClient: appId and secret are required');
    }
    this.appId = options.appId;
    this.#secret = options.secret;
    this.baseUrl = (options.baseUrl ?? WECHAT_API_BASE).replace(/\/+$/, '');
    this.timeoutMs = options.timeoutMs ?? 5_000;
  }

  /**
   * GET /cgi-bin/token?grant_type=client_credential. A new token replaces the app's previous one (which WeChat
   * keeps accepting for about 5 minutes), so callers share one cached token rather than each fetching their own.
   * Throws WechatLoginError (40013 bad appid, 40125 bad secret, 40002 bad grant_type) or
   * WechatLoginUnavailableError (-1, network, timeout).
   */
  async fetchAccessToken(): Promise<AccessToken> {
    const { reply, details } = await loginApiGet({
      transport: this.#transport,
      baseUrl: this.baseUrl,
      path: '/cgi-bin/token',
      query: { grant_type: 'client_credential', appid: this.appId, secret: this.#secret },
      secret: this.#secret,
      timeoutMs: this.timeoutMs,
      name: 'cgi-bin/token',
    });
    const { access_token: accessToken, expires_in: expiresIn } = reply;
    if (typeof accessToken !== 'string' || !accessToken) {
      throw new WechatLoginUnavailableError('BAD_REPLY', 'cgi-bin/token reply lacks access_token', details);
    }
    if (typeof expiresIn !== 'number' || !Number.isSafeInteger(expiresIn) || expiresIn <= 0) {
      throw new WechatLoginUnavailableError('BAD_REPLY', 'cgi-bin/token reply lacks expires_in', details);
    }
    return { accessToken, expiresIn };
  }

  /** POST /cgi-bin/message/subscribe/send. Resolves with WeChat's msgid; every refusal is a WechatMessageError. */
  async send(accessToken: string, message: SubscribeMessage): Promise<{ msgid: string | undefined }> {
    if (!accessToken) throw new TypeError('send: an access token is required');
    const url = new URL(`${this.baseUrl}/cgi-bin/message/subscribe/send`);
    url.search = new URLSearchParams({ access_token: accessToken }).toString();
    const body = JSON.stringify({
      touser: message.touser,
      template_id: message.templateId,
      ...(message.page === undefined ? {} : { page: message.page }),
      data: Object.fromEntries(Object.entries(message.data).map(([key, value]) => [key, { value }])),
      miniprogram_state: message.miniprogramState ?? 'formal',
      lang: message.lang ?? 'zh_CN',
    });
    const mask = (text: string) => text.replaceAll(accessToken, '***');
    let res: HttpReply;
    try {
      res = await this.#transport.request({
        method: 'POST',
        url,
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body,
        timeoutMs: this.timeoutMs,
        maxBytes: MAX_REPLY_BYTES,
      });
    } catch (err) {
      if (!(err instanceof WechatTransportError)) throw err;
      // No `cause`: the transport error could quote the URL, which holds the token.
      const why =
        err.code === 'TIMEOUT'
          ? `subscribe/send did not answer within ${this.timeoutMs} ms`
          : err.code === 'TOO_LARGE'
            ? 'subscribe/send reply is too large'
            : 'could not reach WeChat for subscribe/send';
      throw new WechatMessageUnavailableError(err.code === 'TOO_LARGE' ? 'BAD_REPLY' : err.code, why);
    }
    const details: WechatErrorOptions = { httpStatus: res.status, rawBody: mask(res.text) };
    if (res.status < 200 || res.status > 299) {
      throw new WechatMessageUnavailableError(
        `HTTP_${res.status}`,
        `subscribe/send answered HTTP ${res.status}`,
        details,
      );
    }
    let reply: unknown;
    try {
      reply = JSON.parse(res.text);
    } catch {
      throw new WechatMessageUnavailableError('BAD_REPLY', 'subscribe/send reply is not JSON', details);
    }
    if (typeof reply !== 'object' || reply === null || Array.isArray(reply)) {
      throw new WechatMessageUnavailableError(
        'BAD_REPLY',
        'subscribe/send reply is not a JSON object',
        details,
      );
    }
    const { errcode, errmsg, msgid } = reply as Record<string, unknown>;
    const code = errcode === undefined ? 0 : Number(errcode);
    if (code !== 0) {
      const detail = `subscribe/send ${code}: ${typeof errmsg === 'string' && errmsg ? mask(errmsg) : 'no errmsg'}`;
      if (ACCESS_TOKEN_ERRCODES.includes(code)) throw new WechatAccessTokenError(code, detail, details);
      if (code === -1) throw new WechatMessageUnavailableError(code, detail, details);
      if (code === 43101) throw new WechatMessageNoConsentError(code, detail, details);
      throw new WechatMessageError(code, detail, details);
    }
    return {
      msgid: typeof msgid === 'number' || typeof msgid === 'string' ? String(msgid) : undefined,
    };
  }

  /** Closes pooled connections. */
  close(): void {
    this.#transport.close();
  }
}

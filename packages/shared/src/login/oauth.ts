import { HttpTransport } from '../core/transport.ts';
import { checkLoginCode, loginApiGet } from './api-get.ts';
import { WECHAT_API_BASE } from './code2session.ts';
import { WechatLoginUnavailableError } from './errors.ts';

/**
 * Official-account web-page authorization, OAuth2 (docs/protocol.md §9 "Official-account pages"): the buyer is
 * sent to WeChat's authorize page, comes back with a one-time `code`, and the server exchanges it for the
 * buyer's openid under the official account. Errors and their classes are code2Session's (api-get.ts).
 * https://developers.weixin.qq.com/doc/offiaccount/OA_Web_Apps/Wechat_webpage_authorization.html
 */
export const WECHAT_OAUTH_BASE = 'https://open.weixin.qq.com';

export type OAuthScope = 'snsapi_base' | 'snsapi_userinfo';

export interface OAuthAuthorizeInput {
  /** WeChat's authorize host; the sandbox's in sandbox mode. Defaults to WECHAT_OAUTH_BASE. */
  base?: string;
  /** The official account's AppID. */
  appId: string;
  /** Where WeChat sends the buyer back with `?code&state`; its domain must be the account's authorised one. */
  redirectUri: string;
  /** Ties the callback to this browser (login CSRF): 1–128 characters of [A-Za-z0-9], as WeChat allows. */
  state: string;
  /** snsapi_base (silent, openid only) by default. */
  scope?: OAuthScope;
}

const STATE_RE = /^[A-Za-z0-9]{1,128}$/;

/**
 * `<base>/connect/oauth2/authorize?appid=…&redirect_uri=<encoded>&response_type=code&scope=…&state=…#wechat_redirect`.
 * The parameters go in this documented order and the fragment must be there: WeChat's page is known to refuse
 * links that differ.
 */
export function oauthAuthorizeUrl(input: OAuthAuthorizeInput): string {
  const bad = (why: string) => new TypeError(`oauthAuthorizeUrl: ${why}`);
  const base = (input.base ?? WECHAT_OAUTH_BASE).replace(/\/+$/, '');
  if (!/^https?:\/\/[^/?#\s]+$/.test(base)) throw bad('base must be an http(s) origin');
  if (!input.appId) throw bad('appId is required');
  if (!/^https?:\/\/[^\s#]+$/.test(input.redirectUri))
    throw bad('redirectUri must be an http(s) URL without a fragment');
  if (!STATE_RE.test(input.state)) throw bad('state must be 1-128 characters of [A-Za-z0-9]');
  const scope = input.scope ?? 'snsapi_base';
  if (scope !== 'snsapi_base' && scope !== 'snsapi_userinfo')
    throw bad('scope must be snsapi_base or snsapi_userinfo');
  return (
    `${base}/connect/oauth2/authorize?appid=${encodeURIComponent(input.appId)}` +
    `&redirect_uri=${encodeURIComponent(input.redirectUri)}&response_type=code` +
    `&scope=${scope}&state=${input.state}#wechat_redirect`
  );
}

export interface OAuthClientOptions {
  /** The official account's AppID. */
  appId: string;
  /** Its AppSecret. Never logged nor put into an error. */
  secret: string;
  /** `https://api.weixin.qq.com` by default; the sandbox for local runs. */
  baseUrl?: string;
  timeoutMs?: number;
}

export interface OAuthToken {
  /** The buyer's openid under the official account. */
  openid: string;
  /** Server-side only, like a session_key: never to a client or a log. Unused for snsapi_base. */
  accessToken: string;
  /** Seconds (7200 at WeChat). */
  expiresIn: number;
  /** Server-side only. */
  refreshToken: string;
  /** The scope the buyer granted, e.g. `snsapi_base`. */
  scope: string;
  unionid?: string;
}

export class OAuthClient {
  readonly appId: string;
  readonly baseUrl: string;
  readonly timeoutMs: number;
  readonly #secret: string;
  readonly #transport = new HttpTransport();

  constructor(options: OAuthClientOptions) {
    if (!options.appId || !options.secret) throw new TypeError('OAuthClient: appId and secret are required');
    this.appId = options.appId;
    this.#secret = options.secret;
    this.baseUrl = (options.baseUrl ?? WECHAT_API_BASE).replace(/\/+$/, '');
    this.timeoutMs = options.timeoutMs ?? 5_000;
  }

  /**
   * GET /sns/oauth2/access_token?appid&secret&code&grant_type=authorization_code. Throws WechatLoginError and
   * its subclasses: 40029 invalid code, 40163 code used, 45011 rate limited, -1 / network / timeout unavailable,
   * 40013 / 40125 (bad appid / secret) as the base class.
   */
  async exchangeCode(code: string): Promise<OAuthToken> {
    checkLoginCode(code, 'oauth2 access_token');
    const { reply, details } = await loginApiGet({
      transport: this.#transport,
      baseUrl: this.baseUrl,
      path: '/sns/oauth2/access_token',
      query: { appid: this.appId, secret: this.#secret, code, grant_type: 'authorization_code' },
      secret: this.#secret,
      timeoutMs: this.timeoutMs,
      name: 'oauth2 access_token',
    });
    const { openid, access_token: accessToken, expires_in: expiresIn, refresh_token, scope, unionid } = reply;
    if (typeof openid !== 'string' || !openid || typeof accessToken !== 'string' || !accessToken) {
      throw new WechatLoginUnavailableError(
        'BAD_REPLY',
        'oauth2 access_token reply lacks openid or access_token',
        details,
      );
    }
    if (typeof expiresIn !== 'number' || !Number.isSafeInteger(expiresIn) || expiresIn < 0) {
      throw new WechatLoginUnavailableError(
        'BAD_REPLY',
        'oauth2 access_token reply lacks expires_in',
        details,
      );
    }
    return {
      openid,
      accessToken,
      expiresIn,
      refreshToken: typeof refresh_token === 'string' ? refresh_token : '',
      scope: typeof scope === 'string' ? scope : '',
      ...(typeof unionid === 'string' && unionid ? { unionid } : {}),
    };
  }

  /** Closes pooled connections; only needed by a process that wants to exit before idle sockets time out. */
  close(): void {
    this.#transport.close();
  }
}

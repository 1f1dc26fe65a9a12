/**
 * Official-account sign-in, OAuth2 snsapi_base (docs/channels.md "Who pays"). /web/oauth/start remembers a random
 * `state` and where to return in a short-lived HttpOnly cookie and sends the browser to WeChat; /web/oauth/callback
 * checks the state against the cookie (login CSRF: nobody can sign a victim in as themselves), exchanges the code
 * for the openid under the official account, and returns the buyer to the page with the session token in the URL
 * fragment, which never reaches a server log or a Referer. Failures come back as `#error=<ErrorId>`.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { ErrorId } from '@mp-pay/shared/api';
import { API_ROUTES } from '@mp-pay/shared/api';
import { oauthAuthorizeUrl } from '@mp-pay/shared/login';
import type { AppContext } from '../context.ts';
import { AppError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { loginError, signInIdentity } from './sessions.ts';

/** The web checkout's pages: the only places a sign-in returns to. */
export const WEB_CHECKOUT_PREFIX = '/shop/';
export const OAUTH_COOKIE = 'mp_oauth';
/** How long the buyer has to come back from WeChat's authorize page. */
export const OAUTH_COOKIE_MAX_AGE_S = 600;

const STATE_RE = /^[0-9a-f]{32}$/;

/**
 * `next` as a path of the web checkout (with its query), or /shop/ for anything else: another origin, a
 * scheme-relative `//host`, backslashes, control characters, a path that only normalises into /shop/.
 */
export function safeNext(next: unknown): string {
  if (typeof next !== 'string' || next.length > 512 || !next.startsWith(WEB_CHECKOUT_PREFIX)) {
    return WEB_CHECKOUT_PREFIX;
  }
  // eslint-disable-next-line no-control-regex
  if (/[\\\u0000-\u001f\u007f]/.test(next)) return WEB_CHECKOUT_PREFIX;
  let url: URL;
  try {
    url = new URL(next, 'http://checkout.invalid');
  } catch {
    return WEB_CHECKOUT_PREFIX;
  }
  if (url.origin !== 'http://checkout.invalid' || !url.pathname.startsWith(WEB_CHECKOUT_PREFIX)) {
    return WEB_CHECKOUT_PREFIX;
  }
  // Normalised (no `..`), without a fragment: ours goes there.
  if (url.pathname + url.search !== next.split('#')[0]) return WEB_CHECKOUT_PREFIX;
  return url.pathname + url.search;
}

export interface OAuthStart {
  /** Where to send the browser: WeChat's authorize page, or straight back to `next` with an error. */
  location: string;
  /** The cookie value to set (state and next), when the browser goes to WeChat. */
  cookie?: string;
}

export function startOAuth(ctx: AppContext, nextParam: unknown): OAuthStart {
  const next = safeNext(nextParam);
  const oa = ctx.config.channels.officialAccount;
  if (oa === undefined) return { location: withError(next, 'channel_not_available') };
  const state = randomBytes(16).toString('hex');
  const location = oauthAuthorizeUrl({
    base: ctx.config.channels.oauthBase,
    appId: oa.appId,
    redirectUri: ctx.publicBaseUrl() + API_ROUTES.oauthCallback,
    state,
    scope: 'snsapi_base',
  });
  return { location, cookie: `${state}.${Buffer.from(next).toString('base64url')}` };
}

/** The cookie's state and next, or undefined when missing or not ours. */
function readCookie(value: string | undefined): { state: string; next: string } | undefined {
  if (value === undefined) return undefined;
  const dot = value.indexOf('.');
  const state = value.slice(0, dot);
  if (dot < 0 || !STATE_RE.test(state)) return undefined;
  return { state, next: safeNext(Buffer.from(value.slice(dot + 1), 'base64url').toString('utf8')) };
}

/**
 * The callback: where to send the browser now. Every outcome is a redirect to a checkout page, the token or the
 * error id in the fragment.
 */
export async function finishOAuth(
  ctx: AppContext,
  input: { code: unknown; state: unknown; cookie: string | undefined },
  log: Logger,
): Promise<string> {
  const saved = readCookie(input.cookie);
  const next = saved?.next ?? WEB_CHECKOUT_PREFIX;
  const oa = ctx.config.channels.officialAccount;
  if (oa === undefined || ctx.oauth === undefined) return withError(next, 'channel_not_available');
  if (
    saved === undefined ||
    typeof input.state !== 'string' ||
    input.state.length !== saved.state.length ||
    !timingSafeEqual(Buffer.from(input.state), Buffer.from(saved.state))
  ) {
    log.warn(
      { security: 'oauth_state_mismatch', cookie: saved !== undefined },
      'OAuth callback without a matching state',
    );
    return withError(next, 'invalid_request');
  }
  if (typeof input.code !== 'string' || input.code === '' || input.code.length > 128) {
    return withError(next, 'invalid_request');
  }
  let openid: string;
  try {
    ({ openid } = await ctx.oauth.exchangeCode(input.code));
  } catch (err) {
    const mapped = loginError(
      ctx,
      err,
      'oauth2 access_token refused our official account: check WECHAT_OA_APPID/WECHAT_OA_SECRET',
    );
    if (mapped instanceof AppError) return withError(next, mapped.id);
    log.error({ err }, 'OAuth code exchange failed');
    return withError(next, 'internal_error');
  }
  const session = await signInIdentity(ctx, { appId: oa.appId, openid });
  return `${next}#session=${session.token}&expiresIn=${session.expiresIn}`;
}

function withError(next: string, id: ErrorId): string {
  return `${next}#error=${id}`;
}

// @ts-check
/**
 * Who the buyer is (docs/channels.md "Who pays: sessions").
 * - Official account (WeChat's browser): OAuth snsapi_base through `/web/oauth/start`; the server sends the
 *   buyer back with `#session=<token>&expiresIn=<s>` (or `#error=<ErrorId>`) in the fragment, which never reaches
 *   a server log or a Referer. The token lives in sessionStorage: it belongs to this tab's WeChat identity.
 * - H5 and Native: one guest session (`POST /api/session/guest`), kept in localStorage.
 */
import { API_PATHS, ApiError, callJson } from './api.js';

/** @typedef {import('@mp-pay/shared/api').SessionResponse} SessionResponse */
/** @typedef {import('./channel.js').WebChannel} WebChannel */

const OA_KEY = 'mp-pay:oa-session';
const GUEST_KEY = 'mp-pay:guest-session';

/**
 * Reads `#session=…` / `#error=…` left by the OAuth callback, stores the token and removes the fragment from
 * the address bar (and so from history, bookmarks and shares).
 * @returns {ApiError | undefined} the OAuth failure, if the server reported one
 */
export function consumeOAuthFragment() {
  if (!location.hash) return undefined;
  const params = new URLSearchParams(location.hash.slice(1));
  const token = params.get('session');
  const error = params.get('error');
  if (!token && !error) return undefined;
  history.replaceState(history.state, '', location.pathname + location.search);
  if (token) {
    sessionStorage.setItem(OA_KEY, token);
    return undefined;
  }
  return new ApiError(401, error ?? 'unauthorized', oauthMessage(error ?? ''));
}

/** @param {string} error */
function oauthMessage(error) {
  if (error === 'wechat_unavailable')
    return '微信授权暂时不可用，请稍后再试 / WeChat sign-in is unavailable, try again later';
  return `微信授权失败（${error}），请重试 / WeChat sign-in failed (${error}), please retry`;
}

/**
 * Sends the browser to WeChat's authorisation; it comes back to this very page.
 * @returns {Promise<never>}
 */
export function startOAuth() {
  const next = location.pathname + location.search;
  location.assign(`${API_PATHS.oauthStart}?next=${encodeURIComponent(next)}`);
  // The page is going away: never resolve, so callers do not go on as if signed in.
  return new Promise(() => {});
}

/**
 * The session token for this channel, starting OAuth or asking for a guest session when there is none.
 * @param {WebChannel} channel
 * @returns {Promise<string>}
 */
export async function ensureSession(channel) {
  if (channel === 'official_account') {
    const token = sessionStorage.getItem(OA_KEY);
    return token ?? startOAuth();
  }
  const stored = localStorage.getItem(GUEST_KEY);
  if (stored) return stored;
  const session = /** @type {SessionResponse} */ (
    await callJson(API_PATHS.guestSession, { method: 'POST', body: {} })
  );
  localStorage.setItem(GUEST_KEY, session.token);
  return session.token;
}

/**
 * Forgets an expired or refused token, so the next `ensureSession` gets a new one.
 * @param {WebChannel} channel
 */
export function dropSession(channel) {
  if (channel === 'official_account') sessionStorage.removeItem(OA_KEY);
  else localStorage.removeItem(GUEST_KEY);
}

/**
 * Runs `call` with the session; when the server says the session is gone, gets a new one and tries once more.
 * @template T
 * @param {WebChannel} channel
 * @param {(token: string) => Promise<T>} call
 * @returns {Promise<T>}
 */
export async function withSession(channel, call) {
  const token = await ensureSession(channel);
  try {
    return await call(token);
  } catch (err) {
    if (!(err instanceof ApiError) || !err.isAuth) throw err;
    dropSession(channel);
    return call(await ensureSession(channel));
  }
}

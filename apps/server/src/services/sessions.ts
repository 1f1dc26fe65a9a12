/**
 * Sign-in: a wx.login code is exchanged for {openid, session_key} through code2Session; the client gets only a
 * random 256-bit token. The session lives server-side under the token's SHA-256, with a sliding TTL.
 * session_key and the app secret never leave the server (docs/protocol.md §1).
 */
import { createHash, randomBytes } from 'node:crypto';
import type { SessionResponse } from '@mp-pay/shared/api';
import {
  WechatLoginBlockedError,
  WechatLoginCodeUsedError,
  WechatLoginError,
  WechatLoginInvalidCodeError,
  WechatLoginRateLimitedError,
  WechatLoginUnavailableError,
} from '@mp-pay/shared/login';
import type { AppContext } from '../context.ts';
import { AppError } from '../errors.ts';
import type { SessionData } from '../store/index.ts';

/**
 * Who is asking: the user, and the identity (AppID, openid) they signed in with. A guest (a browser outside
 * WeChat) has no identity: both are undefined, and only channels that need no openid serve them.
 */
export interface Session {
  userId: string;
  appId: string | undefined;
  openid: string | undefined;
}

/** A guest: a session with no WeChat identity (POST /api/session/guest). Decided without the store. */
export const isGuest = (session: Session): boolean => session.openid === undefined;

const TOKEN_RE = /^[A-Za-z0-9_-]{43}$/;

const sessionId = (token: string) => createHash('sha256').update(token).digest('hex');

export async function signIn(ctx: AppContext, code: string): Promise<SessionResponse> {
  let wechat;
  try {
    wechat = await ctx.login.code2Session(code);
  } catch (err) {
    throw loginError(ctx, err);
  }
  const appId = ctx.config.wechat.appId;
  const now = ctx.now();
  const identity = { appId, openid: wechat.openid };
  // Minted into the identity's shard: the identity and its user are written by one script (src/store/shards.ts).
  const user = await ctx.store.users.resolveIdentity(identity, {
    userId: ctx.store.ids.userId(identity),
    createdAt: now,
  });
  return newSession(ctx, {
    userId: user.userId,
    appId,
    openid: wechat.openid,
    sessionKey: wechat.sessionKey,
    createdAt: now,
  });
}

/**
 * POST /api/session/guest: a session for a buyer outside WeChat (H5, Native, APP). A fresh user with no WeChat
 * identity; it can pay only through channels that need no openid (docs/channels.md "Who pays").
 * GUEST_SESSIONS_PER_IP_PER_HOUR=0 turns guests off; otherwise the route counts them per client address first
 * (src/http/rate-limit.ts).
 */
export async function signInGuest(ctx: AppContext): Promise<SessionResponse> {
  if (ctx.config.guests.sessionsPerIpPerHour === 0) {
    throw new AppError('channel_not_available', 'Buyers outside WeChat cannot sign in on this shop.');
  }
  return newSession(ctx, { userId: ctx.store.ids.userId(), createdAt: ctx.now() });
}

/**
 * A session for an (AppID, openid) identity WeChat vouched for by some other way than code2Session (the
 * official account's OAuth code exchange): the identity resolves to its user as a mini-program sign-in does.
 */
export async function signInIdentity(
  ctx: AppContext,
  identity: { appId: string; openid: string },
): Promise<SessionResponse> {
  const now = ctx.now();
  const user = await ctx.store.users.resolveIdentity(identity, {
    userId: ctx.store.ids.userId(identity),
    createdAt: now,
  });
  return newSession(ctx, { userId: user.userId, ...identity, createdAt: now });
}

async function newSession(ctx: AppContext, data: SessionData): Promise<SessionResponse> {
  const token = randomBytes(32).toString('base64url');
  const ttl = ctx.config.sessions.ttlSeconds;
  await ctx.store.sessions.createSession(sessionId(token), data, ttl);
  return { token, expiresIn: ttl };
}

/** The session for a bearer token, its TTL restarted; session_expired when unknown or expired. */
export async function authenticate(ctx: AppContext, token: string): Promise<Session> {
  if (!TOKEN_RE.test(token)) throw new AppError('session_expired');
  const data = await ctx.store.sessions.touchSession(sessionId(token), ctx.config.sessions.ttlSeconds);
  if (!data) throw new AppError('session_expired');
  // Sessions written before guests existed always carry both; a guest's carry neither.
  return { userId: data.userId, appId: data.appId, openid: data.openid };
}

/** A login failure (code2Session or the OAuth code exchange) as the buyer's error; `who` names our credentials. */
export function loginError(
  ctx: AppContext,
  err: unknown,
  who = 'code2Session refused our app credentials: check WECHAT_APPID/WECHAT_SECRET',
): AppError | unknown {
  if (err instanceof WechatLoginInvalidCodeError)
    return new AppError('login_code_invalid', undefined, { cause: err });
  if (err instanceof WechatLoginCodeUsedError)
    return new AppError('login_code_used', undefined, { cause: err });
  if (err instanceof WechatLoginRateLimitedError)
    return new AppError('login_rate_limited', undefined, { cause: err });
  if (err instanceof WechatLoginBlockedError) return new AppError('login_blocked', undefined, { cause: err });
  if (err instanceof WechatLoginUnavailableError)
    return new AppError('wechat_unavailable', undefined, { cause: err });
  if (err instanceof WechatLoginError) {
    // 40013 (bad appid), 40125 (bad secret): our configuration, not the buyer's fault. Loud in the log, masked
    // as internal_error for the client.
    ctx.log.error({ code: err.code, err: err.message }, who);
  }
  return err;
}

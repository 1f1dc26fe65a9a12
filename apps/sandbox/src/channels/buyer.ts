import { randomBytes } from 'node:crypto';
import type { Context } from 'koa';
import type { SandboxContext } from '../context.ts';
import { DEFAULT_USER, openidFor } from '../login/codes.ts';

/**
 * Who the buyer is in a browser: one sandbox user per browser, named by the `sandbox_wx_user` cookie (created on
 * the first visit), as one WeChat account is logged in on one phone. Its openid under an AppID is stable
 * (login/codes.ts openidFor), and every openid handed out is registered, so JSAPI orders accept it.
 */
export const BUYER_COOKIE = 'sandbox_wx_user';
const USER_RE = /^[A-Za-z0-9_-]{1,64}$/;

export function browserUser(ctx: Context): string {
  const existing = ctx.cookies.get(BUYER_COOKIE);
  if (existing && USER_RE.test(existing)) return existing;
  const user = `u${randomBytes(8).toString('hex')}`;
  ctx.cookies.set(BUYER_COOKIE, user, {
    httpOnly: true,
    sameSite: 'lax',
    maxAge: 365 * 24 * 3600_000,
    overwrite: true,
  });
  return user;
}

/** The cookie's user when there is one, else the default sandbox user (API calls from tests and demos). */
export function knownUser(ctx: Context): string {
  const existing = ctx.cookies.get(BUYER_COOKIE);
  return existing && USER_RE.test(existing) ? existing : DEFAULT_USER;
}

/** The user's openid under `appId`, registered as issued. */
export function buyerOpenid(sandbox: SandboxContext, appId: string, user: string): string {
  const openid = openidFor(appId, user);
  const issued = `${appId}:${openid}`;
  sandbox.state.openids.delete(issued);
  sandbox.state.openids.set(issued, user);
  return openid;
}

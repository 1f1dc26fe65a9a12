import { randomBytes } from 'node:crypto';
import type { Context } from 'koa';
import type { SandboxContext } from '../context.ts';
import { unionidFor } from './codes.ts';
import type { LoginRateLimiter } from './rate-limit.ts';

/** WeChat appends a request id to every errmsg; merchants sometimes log it for support tickets. */
function errmsg(text: string): string {
  return `${text}, rid: ${randomBytes(4).toString('hex')}-${randomBytes(4).toString('hex')}`;
}

function fail(ctx: Context, errcode: number, text: string): void {
  ctx.status = 200; // WeChat answers errors with HTTP 200 and an errcode
  ctx.body = { errcode, errmsg: errmsg(text) };
}

/**
 * GET /sns/jscode2session: checks in WeChat's order (appid, secret, grant_type, code), then the per-user rate
 * limit, then consumes the code. A reused code is 40163 only while the sandbox remembers it; after that 40029.
 */
export function jscode2session(sandbox: SandboxContext, limiter: LoginRateLimiter) {
  return (ctx: Context): void => {
    const q = ctx.query;
    const param = (name: string) => (typeof q[name] === 'string' ? q[name] : undefined);
    const appid = param('appid');
    const app = sandbox.accounts.app(appid);
    if (!app) return fail(ctx, 40013, 'invalid appid');
    if (param('secret') !== app.secret) return fail(ctx, 40125, 'invalid appsecret');
    if (param('grant_type') !== 'authorization_code') return fail(ctx, 40002, 'invalid grant_type');
    const jsCode = param('js_code');
    if (!jsCode) return fail(ctx, 41008, 'missing code');

    const now = sandbox.clock.now();
    const code = sandbox.state.codes.get(jsCode);
    if (!code || code.appId !== app.appId) return fail(ctx, 40029, 'invalid code');
    if (now >= code.expiresAt) {
      sandbox.state.codes.delete(jsCode);
      return fail(ctx, 40029, 'invalid code');
    }
    if (!limiter.allow(`${code.appId}:${code.openid}`, now)) {
      return fail(ctx, 45011, 'api minute-quota reach limit  mustslower  retry next minute');
    }
    if (code.usedAt !== undefined) return fail(ctx, 40163, 'code been used');
    code.usedAt = now;

    ctx.status = 200;
    ctx.body = {
      session_key: randomBytes(16).toString('base64'),
      openid: code.openid,
      ...(sandbox.config.unionId ? { unionid: unionidFor(code.user) } : {}),
    };
  };
}

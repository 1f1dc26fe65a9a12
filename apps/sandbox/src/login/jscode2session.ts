import { randomBytes } from 'node:crypto';
import type { Context } from 'koa';
import type { SandboxContext } from '../context.ts';
import { unionidFor } from './codes.ts';
import type { LoginRateLimiter } from './rate-limit.ts';

/** WeChat appends a request id to every errmsg; merchants sometimes log it for support tickets. */
export function errmsg(text: string): string {
  return `${text}, rid: ${randomBytes(4).toString('hex')}-${randomBytes(4).toString('hex')}`;
}

type Reply = Record<string, string | number>;

const fail = (errcode: number, text: string): Reply => ({ errcode, errmsg: errmsg(text) });

/**
 * GET /sns/jscode2session: checks in WeChat's order (appid, secret, grant_type, code), then the per-user rate
 * limit, then consumes the code. A reused code is 40163 only while the sandbox remembers it; after that 40029.
 * Errors are HTTP 200 with an errcode, as WeChat sends them. Login faults (per appid) add -1 and slow replies.
 */
export function jscode2session(sandbox: SandboxContext, limiter: LoginRateLimiter) {
  return async (ctx: Context): Promise<void> => {
    const param = (name: string) =>
      typeof ctx.query[name] === 'string' ? (ctx.query[name] as string) : undefined;
    const appid = param('appid');
    const faults = appid === undefined ? {} : sandbox.faults.forLogin(appid);
    ctx.status = 200;
    ctx.body = answer(sandbox, limiter, param, faults.systemErrorRate ?? 0);
    if (faults.slowReplyMs) await sandbox.timers.sleep(faults.slowReplyMs);
  };
}

function answer(
  sandbox: SandboxContext,
  limiter: LoginRateLimiter,
  param: (name: string) => string | undefined,
  systemErrorRate: number,
): Reply {
  const app = sandbox.accounts.app(param('appid'));
  if (!app) return fail(40013, 'invalid appid');
  if (param('secret') !== app.secret) return fail(40125, 'invalid appsecret');
  if (param('grant_type') !== 'authorization_code') return fail(40002, 'invalid grant_type');
  const jsCode = param('js_code');
  if (!jsCode) return fail(41008, 'missing code');
  // System busy: nothing happened, the same code can be exchanged again.
  if (systemErrorRate > 0 && Math.random() < systemErrorRate) return fail(-1, 'system error');

  const now = sandbox.clock.now();
  const code = sandbox.state.codes.get(jsCode);
  if (!code || code.appId !== app.appId) return fail(40029, 'invalid code');
  if (now >= code.expiresAt) {
    sandbox.state.codes.delete(jsCode);
    return fail(40029, 'invalid code');
  }
  if (!limiter.allow(`${code.appId}:${code.openid}`, now)) {
    return fail(45011, 'api minute-quota reach limit  mustslower  retry next minute');
  }
  if (code.usedAt !== undefined) return fail(40163, 'code been used');
  code.usedAt = now;
  if (code.blocked) return fail(40226, 'risky user, login blocked');

  return {
    session_key: randomBytes(16).toString('base64'),
    openid: code.openid,
    ...(sandbox.config.unionId ? { unionid: unionidFor(code.user) } : {}),
  };
}

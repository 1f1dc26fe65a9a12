import { createHash } from 'node:crypto';
import { createNonce } from '@mp-pay/shared/wechatpay';
import type { SandboxContext } from '../context.ts';
import type { LoginCode } from '../state.ts';

/** WeChat login codes live about 5 minutes (scaled by the time scale) and can be exchanged once. */
export const CODE_TTL_MS = 5 * 60_000;
export const DEFAULT_USER = 'sandbox-user';

function digest28(text: string): string {
  return 'o' + createHash('sha256').update(text).digest('base64url').slice(0, 27);
}

/** A stable openid per (app, user name): 28 characters like a real one, different for each AppID. */
export function openidFor(appId: string, user: string): string {
  return digest28(`openid\n${appId}\n${user}`);
}

/** The same user has one unionid across apps, as under one Open Platform account. */
export function unionidFor(user: string): string {
  return digest28(`unionid\n${user}`);
}

/** What wx.login yields: a fresh single-use code for the user of this mini-program. */
export function issueCode(sandbox: SandboxContext, appId: string, user: string, blocked = false): LoginCode {
  const openid = openidFor(appId, user);
  const code: LoginCode = {
    code: createNonce(32),
    appId,
    openid,
    user,
    expiresAt: sandbox.clock.now() + sandbox.clock.scaled(CODE_TTL_MS),
    ...(blocked ? { blocked } : {}),
  };
  sandbox.state.codes.set(code.code, code);
  // Re-inserted so an active user is the newest entry and the last to be evicted.
  const issued = `${appId}:${openid}`;
  sandbox.state.openids.delete(issued);
  sandbox.state.openids.set(issued, user);
  return code;
}

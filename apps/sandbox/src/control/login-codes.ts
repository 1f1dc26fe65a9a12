import type { Context } from 'koa';
import { z } from 'zod';
import type { SandboxContext } from '../context.ts';
import { NOT_A_JSON_OBJECT, readJsonObject } from '../http/body.ts';
import { sendJsonError } from '../http/json.ts';
import { DEFAULT_USER, issueCode } from '../login/codes.ts';

const schema = z
  .object({
    appid: z.string().min(1),
    /** Any name; the same name always gets the same openid for an app. */
    user: z
      .string()
      .regex(/^[\w.@-]{1,64}$/, 'user: 1-64 letters, digits, _ . @ -')
      .optional(),
    /** Simulate WeChat's risk control: exchanging this code answers 40226. */
    blocked: z.boolean().optional(),
  })
  .strict();

/** POST /sandbox/login-codes {appid, user?, blocked?} → {code, openid}: what wx.login yields for a named buyer. */
export function loginCodesRoute(sandbox: SandboxContext) {
  return async (ctx: Context): Promise<void> => {
    const body = await readJsonObject(ctx);
    if (body === undefined) return sendJsonError(ctx, 400, 'BAD_REQUEST', NOT_A_JSON_OBJECT);
    const parsed = schema.safeParse(body);
    if (!parsed.success) return sendJsonError(ctx, 400, 'BAD_REQUEST', z.prettifyError(parsed.error));
    if (!sandbox.accounts.app(parsed.data.appid)) {
      return sendJsonError(ctx, 404, 'UNKNOWN_APPID', `the sandbox has no mini-program ${parsed.data.appid}`);
    }
    const code = issueCode(sandbox, parsed.data.appid, parsed.data.user ?? DEFAULT_USER, parsed.data.blocked);
    ctx.status = 201;
    ctx.body = {
      code: code.code,
      openid: code.openid,
      expires_in: Math.round((code.expiresAt - sandbox.clock.now()) / 1000),
    };
  };
}

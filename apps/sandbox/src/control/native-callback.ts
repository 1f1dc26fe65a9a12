import type { Context } from 'koa';
import { z } from 'zod';
import type { SandboxContext } from '../context.ts';
import { NOT_A_JSON_OBJECT, readJsonObject } from '../http/body.ts';
import { sendJsonError } from '../http/json.ts';

const schema = z
  .object({
    url: z.url({ protocol: /^https?$/, error: 'url must be an absolute http(s) URL' }),
  })
  .strict();

/**
 * GET / POST /sandbox/native-callback {url}: the merchant's Native mode-1 scan callback, as set in the merchant
 * platform (SANDBOX_NATIVE_CALLBACK_URL at start). Changing it at run time serves stacks whose server listens on
 * a port chosen after the sandbox started (tests on port 0).
 */
export function nativeCallbackRoutes(sandbox: SandboxContext) {
  const show = (ctx: Context) => {
    ctx.body = { url: sandbox.config.nativeCallbackUrl };
  };
  return {
    show,
    async set(ctx: Context): Promise<void> {
      const body = await readJsonObject(ctx);
      if (body === undefined) return sendJsonError(ctx, 400, 'BAD_REQUEST', NOT_A_JSON_OBJECT);
      const parsed = schema.safeParse(body);
      if (!parsed.success) return sendJsonError(ctx, 400, 'BAD_REQUEST', z.prettifyError(parsed.error));
      sandbox.config.nativeCallbackUrl = parsed.data.url;
      show(ctx);
    },
  };
}

import type { Context } from 'koa';
import { z } from 'zod';
import { formatWechatTime } from '@mp-pay/shared/wechatpay';
import type { SandboxContext } from '../context.ts';
import { NOT_A_JSON_OBJECT, readJsonObject } from '../http/body.ts';
import { sendJsonError } from '../http/json.ts';

const schema = z
  .object({
    advance_ms: z
      .number()
      .int()
      .min(0)
      .max(366 * 24 * 3600_000),
  })
  .strict();

/**
 * POST /sandbox/clock {advance_ms} moves the sandbox's clock forward (expiry of codes, prepay_ids and orders,
 * closeorder's minimum age, time_end); GET /sandbox/clock shows it. There is no way back, as in real life.
 */
export function clockRoutes(sandbox: SandboxContext) {
  const show = (ctx: Context) => {
    const now = sandbox.clock.now();
    ctx.body = {
      now: new Date(now).toISOString(),
      beijing: formatWechatTime(new Date(now)),
      offset_ms: sandbox.clock.offsetMs,
    };
  };
  return {
    show,
    async advance(ctx: Context): Promise<void> {
      const body = await readJsonObject(ctx);
      if (body === undefined) return sendJsonError(ctx, 400, 'BAD_REQUEST', NOT_A_JSON_OBJECT);
      const parsed = schema.safeParse(body);
      if (!parsed.success) return sendJsonError(ctx, 400, 'BAD_REQUEST', z.prettifyError(parsed.error));
      sandbox.clock.advance(parsed.data.advance_ms);
      show(ctx);
    },
  };
}

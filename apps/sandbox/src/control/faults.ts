import type { Context } from 'koa';
import { z } from 'zod';
import type { SandboxContext } from '../context.ts';
import { faultRequestSchema } from '../faults.ts';
import { readJsonObject } from '../http/body.ts';
import { sendJsonError } from '../http/json.ts';

/**
 * /sandbox/faults:
 *   POST {mch_id | out_trade_no, faults: {...}}  replace the settings of that merchant or order
 *   GET                                          list everything that is set
 *   DELETE [?mch_id=&out_trade_no=]              clear one target, or everything
 */
export function faultRoutes(sandbox: SandboxContext) {
  return {
    async set(ctx: Context): Promise<void> {
      const parsed = faultRequestSchema.safeParse(await readJsonObject(ctx));
      if (!parsed.success) return sendJsonError(ctx, 400, 'BAD_REQUEST', z.prettifyError(parsed.error));
      const { faults, ...target } = parsed.data;
      sandbox.faults.set(target, faults);
      ctx.status = 200;
      ctx.body = { ...target, faults };
    },
    list(ctx: Context): void {
      ctx.body = sandbox.faults.list();
    },
    clear(ctx: Context): void {
      const one = (name: string) =>
        typeof ctx.query[name] === 'string' ? (ctx.query[name] as string) : undefined;
      const mchId = one('mch_id');
      const outTradeNo = one('out_trade_no');
      sandbox.faults.clear({
        ...(mchId ? { mch_id: mchId } : {}),
        ...(outTradeNo ? { out_trade_no: outTradeNo } : {}),
      });
      ctx.status = 204;
    },
  };
}

import type { Context } from 'koa';
import { z } from 'zod';
import type { SandboxContext } from '../context.ts';
import { faultRequestSchema } from '../faults.ts';
import { NOT_A_JSON_OBJECT, readJsonObject } from '../http/body.ts';
import { sendJsonError } from '../http/json.ts';

/**
 * /sandbox/faults:
 *   POST {mch_id | out_trade_no | appid, faults}  replace the settings of that merchant, order or app
 *   GET                                           list everything that is set
 *   DELETE [?mch_id=&out_trade_no=&appid=]        clear one target, or everything
 */
export function faultRoutes(sandbox: SandboxContext) {
  return {
    async set(ctx: Context): Promise<void> {
      const body = await readJsonObject(ctx);
      if (body === undefined) return sendJsonError(ctx, 400, 'BAD_REQUEST', NOT_A_JSON_OBJECT);
      const parsed = faultRequestSchema.safeParse(body);
      if (!parsed.success) return sendJsonError(ctx, 400, 'BAD_REQUEST', z.prettifyError(parsed.error));
      const request = parsed.data;
      if ('appid' in request) sandbox.faults.setLogin(request.appid, request.faults);
      else if ('mch_id' in request) sandbox.faults.set({ mch_id: request.mch_id }, request.faults);
      else sandbox.faults.set({ out_trade_no: request.out_trade_no }, request.faults);
      ctx.status = 200;
      ctx.body = request;
    },
    list(ctx: Context): void {
      ctx.body = sandbox.faults.list();
    },
    clear(ctx: Context): void {
      const one = (name: string) =>
        typeof ctx.query[name] === 'string' ? (ctx.query[name] as string) : undefined;
      const mchId = one('mch_id');
      const outTradeNo = one('out_trade_no');
      const appid = one('appid');
      sandbox.faults.clear({
        ...(mchId ? { mch_id: mchId } : {}),
        ...(outTradeNo ? { out_trade_no: outTradeNo } : {}),
        ...(appid ? { appid } : {}),
      });
      ctx.status = 204;
    },
  };
}

import { randomBytes } from 'node:crypto';
import type { Context } from 'koa';
import { z } from 'zod';
import type { SandboxContext } from '../context.ts';
import { NOT_A_JSON_OBJECT, readJsonObject } from '../http/body.ts';
import { sendJsonError } from '../http/json.ts';
import { findOrder } from '../pay/orders.ts';
import type { Refunds } from '../refunds/core.ts';
import { V3_REFUND_STATUS } from '../refunds/status.ts';

/**
 * What the merchant's staff do in WeChat's merchant console, behind the shop's back (docs/protocol.md §8, for
 * the T+1 reconciliation to find):
 *   POST /sandbox/console/refunds {mch_id?, out_trade_no, refund_fee, out_refund_no?}
 *     a refund under the same rules as the API's (paid, within a year, fits, 1 minute apart); it shows in
 *     refundquery, the v3 refund query and the bill; NO refund notification is sent.
 *   POST /sandbox/console/bill-tamper {mch_id?, out_trade_no, total_fee}
 *     the bill prints total_fee as that payment's 订单金额 (and 应结订单金额 less any 免充值 coupon); the order
 *     itself, its query and notification keep the real amount.
 *   POST /sandbox/console/bill-tamper {mch_id?, corrupt_next_download: true}
 *     the merchant's next v3 bill file download serves bytes that do not match the signed hash_value.
 * A lost notification is the existing fault `dropNotifications` (POST /sandbox/faults).
 */
const outTradeNo = z.string().regex(/^[0-9A-Za-z_\-|*]{1,32}$/);
const mchId = z
  .string()
  .regex(/^\d{1,32}$/)
  .optional();

const refundSchema = z
  .object({
    mch_id: mchId,
    out_trade_no: outTradeNo,
    refund_fee: z.number().int().positive(),
    out_refund_no: z
      .string()
      .regex(/^[0-9A-Za-z_\-|*@]{1,64}$/)
      .optional(),
  })
  .strict();

const tamperSchema = z.union([
  z.object({ mch_id: mchId, out_trade_no: outTradeNo, total_fee: z.number().int().min(0) }).strict(),
  z.object({ mch_id: mchId, corrupt_next_download: z.literal(true) }).strict(),
]);

export function consoleRoutes(sandbox: SandboxContext, refunds: Refunds) {
  return {
    async refund(ctx: Context): Promise<void> {
      const body = await readJsonObject(ctx);
      if (body === undefined) return sendJsonError(ctx, 400, 'BAD_REQUEST', NOT_A_JSON_OBJECT);
      const parsed = refundSchema.safeParse(body);
      if (!parsed.success) return sendJsonError(ctx, 400, 'BAD_REQUEST', z.prettifyError(parsed.error));
      const input = parsed.data;
      const merchant = input.mch_id ?? sandbox.config.mchId;
      const order = findOrder(sandbox, merchant, input.out_trade_no);
      if (!order) {
        return sendJsonError(
          ctx,
          404,
          'ORDERNOTEXIST',
          `no order ${input.out_trade_no} for merchant ${merchant}`,
        );
      }
      const outcome = refunds.request({
        api: order.api,
        appId: order.appId,
        mchId: merchant,
        order,
        outRefundNo: input.out_refund_no ?? `CONSOLE${randomBytes(8).toString('hex').toUpperCase()}`,
        totalFee: order.totalFee,
        refundFee: input.refund_fee,
        reason: '商户平台退款',
        notifyUrl: undefined,
        console: true,
      });
      if ('problem' in outcome) {
        return sendJsonError(
          ctx,
          409,
          'REFUND_REFUSED',
          `the console refuses this refund: ${JSON.stringify(outcome.problem)}`,
        );
      }
      const { refund } = outcome;
      ctx.status = outcome.existing ? 200 : 201;
      ctx.body = {
        out_trade_no: refund.outTradeNo,
        out_refund_no: refund.outRefundNo,
        refund_id: refund.refundId,
        refund_fee: refund.refundFee,
        status: V3_REFUND_STATUS[refund.status],
        request_source: refund.requestSource,
        notified: false,
      };
    },

    async tamper(ctx: Context): Promise<void> {
      const body = await readJsonObject(ctx);
      if (body === undefined) return sendJsonError(ctx, 400, 'BAD_REQUEST', NOT_A_JSON_OBJECT);
      const parsed = tamperSchema.safeParse(body);
      if (!parsed.success) return sendJsonError(ctx, 400, 'BAD_REQUEST', z.prettifyError(parsed.error));
      const input = parsed.data;
      const merchant = input.mch_id ?? sandbox.config.mchId;
      if ('corrupt_next_download' in input) {
        sandbox.bills.corruptNextDownload(merchant);
        ctx.body = { mch_id: merchant, corrupt_next_download: true };
        return;
      }
      if (!findOrder(sandbox, merchant, input.out_trade_no)) {
        return sendJsonError(
          ctx,
          404,
          'ORDERNOTEXIST',
          `no order ${input.out_trade_no} for merchant ${merchant}`,
        );
      }
      sandbox.bills.tamper(merchant, input.out_trade_no, input.total_fee);
      ctx.body = { mch_id: merchant, out_trade_no: input.out_trade_no, bill_total_fee: input.total_fee };
    },
  };
}

/**
 * Buyers ask for refunds; the shop decides (docs: apps/server/README.md, Refunds). REFUND_POLICY=auto refunds
 * in full at once while the payment is younger than REFUND_WINDOW_DAYS; otherwise (and always with `review`)
 * the request waits for staff to approve or reject it through /admin. An approval refunds whatever remains of the
 * payment: should a crash separate the refund from the recorded decision, approving again finds nothing left to
 * refund, so the money can never go out twice.
 */
import type { Order } from '@mp-pay/shared/api';
import type { AppContext } from '../context.ts';
import { AppError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { getOwnOrder, toApiOrder } from './orders.ts';
import { staffRefund, toRefundSummary } from './refunds.ts';
import type { Session } from './sessions.ts';

/** The order with its refunds, as the buyer sees it after asking. */
export async function orderWithRefunds(ctx: AppContext, orderId: string): Promise<Order> {
  const order = await ctx.store.orders.getOrder(orderId);
  if (!order) throw new AppError('order_not_found');
  const refunds = await ctx.store.refunds.listRefunds(orderId);
  return { ...toApiOrder(order), refunds: refunds.map(toRefundSummary) };
}

export async function askForRefund(
  ctx: AppContext,
  session: Session,
  input: { orderId: string; reason: string },
  log: Logger,
): Promise<Order> {
  const order = await getOwnOrder(ctx, session.userId, input.orderId);
  const now = ctx.now();
  const asked = await ctx.store.orders.askRefund(order.id, { reason: input.reason, at: now });
  if (asked.kind === 'not_paid') throw new AppError('refund_not_allowed');
  if (asked.kind === 'not_found') throw new AppError('order_not_found');
  if (asked.kind === 'asked') {
    log.info({ orderId: order.id, policy: ctx.config.refunds.policy }, 'buyer asked for a refund');
    const young = order.paidAt !== undefined && now - order.paidAt <= ctx.config.refunds.windowMs;
    if (ctx.config.refunds.policy === 'auto' && young) {
      await decideRefundRequest(ctx, { orderId: order.id, approve: true, by: 'policy:auto' }, log);
    }
  }
  // An open request asked again is answered with the order as it stands: asking twice changes nothing.
  return orderWithRefunds(ctx, order.id);
}

/** Staff (or the auto policy) decide an open request. */
export async function decideRefundRequest(
  ctx: AppContext,
  input: { orderId: string; approve: boolean; by: string },
  log: Logger,
): Promise<Order> {
  const order = await ctx.store.orders.getOrder(input.orderId);
  if (!order) throw new AppError('order_not_found');
  if (order.refundRequest?.state !== 'REQUESTED') {
    throw new AppError('refund_not_allowed', 'There is no open refund request on this order.');
  }
  let refund: string | undefined;
  if (input.approve) {
    const made = await staffRefund(
      ctx,
      {
        orderId: order.id,
        refundFen: undefined,
        reason: order.refundRequest.reason || 'buyer request',
        by: input.by,
      },
      log,
    );
    refund = made[0]?.outRefundNo;
  }
  const decided = await ctx.store.orders.decideRefund(order.id, {
    approve: input.approve,
    at: ctx.now(),
    by: input.by,
    refund,
  });
  if (decided.kind === 'decided') {
    log.info(
      { orderId: order.id, approve: input.approve, by: input.by, outRefundNo: refund },
      'refund request decided',
    );
  }
  return orderWithRefunds(ctx, order.id);
}

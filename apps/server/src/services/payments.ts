/**
 * What WeChat says about a trade, applied to our order. The notification, orderquery (background worker and
 * GET /api/orders/:id) and closeorder(ORDERPAID) all end in the same two atomic transitions, so whichever path
 * learns of a payment first wins and the others become no-ops.
 */
import {
  WechatPayOrderClosedError,
  WechatPayOrderNotExistError,
  WechatPayOrderPaidError,
  parseWechatTime,
} from '@mp-pay/shared/wechatpay';
import type { AppContext } from '../context.ts';
import type { Logger } from '../logger.ts';
import type { MarkPaidResult, OrderRecord, PaymentFacts } from '../store/index.ts';

export type PaymentReport = Omit<PaymentFacts, 'paidAt'>;

/** Records a payment WeChat vouched for (signed notification or signed query reply). */
export async function applyPayment(
  ctx: AppContext,
  orderId: string,
  report: PaymentReport,
  log: Logger = ctx.log,
) {
  const paidAt = parseWechatTime(report.timeEnd)?.getTime() ?? ctx.now();
  const result: MarkPaidResult = await ctx.store.orders.markPaid(orderId, { ...report, paidAt });
  const where = { orderId, transactionId: report.transactionId, source: report.source };
  switch (result.kind) {
    case 'paid':
      if (result.previous === 'CLOSED') {
        log.warn(
          { ...where, security: 'paid_after_close' },
          'WeChat reports a payment for a CLOSED order: recorded as PAID, needs fulfilment or refund',
        );
      } else {
        log.info({ ...where, totalFen: report.totalFee }, 'order paid');
      }
      break;
    case 'duplicate':
      if (!result.sameTransaction) {
        log.warn(
          { ...where, security: 'second_transaction' },
          'order already PAID by another transaction_id: check for a double charge',
        );
      }
      break;
    case 'amount_mismatch':
      log.error(
        {
          ...where,
          security: 'amount_mismatch',
          reportedFen: report.totalFee,
          expectedFen: result.expectedFen,
        },
        'payment amount differs from the order total: NOT marked paid',
      );
      break;
    case 'not_found':
      log.warn({ ...where, security: 'unknown_order' }, 'payment for an order this server does not know');
      break;
  }
  return result;
}

export type ReconcileOutcome = 'paid' | 'closed' | 'pending' | 'unknown_at_wechat' | 'rejected';

/**
 * Asks WeChat (orderquery) about an order and applies the answer. Transport errors propagate: the caller decides
 * whether to retry later (worker) or to answer with what it has (GET /api/orders/:id). `source` records what
 * led to the query: `close` when closeorder answered ORDERPAID, so paidVia and the event say so.
 */
export async function reconcile(
  ctx: AppContext,
  order: OrderRecord,
  log: Logger = ctx.log,
  source: 'query' | 'close' = 'query',
): Promise<ReconcileOutcome> {
  let reply;
  try {
    reply = await ctx.pay.orderQuery({ outTradeNo: order.outTradeNo });
  } catch (err) {
    if (err instanceof WechatPayOrderNotExistError) return 'unknown_at_wechat';
    throw err;
  }
  switch (reply.tradeState) {
    case 'SUCCESS':
    case 'REFUND': {
      // REFUND: it was paid (and later refunded, at least in part): the payment happened.
      const result = await applyPayment(
        ctx,
        order.id,
        {
          transactionId: reply.transactionId ?? '',
          totalFee: reply.totalFee ?? -1,
          timeEnd: reply.timeEnd ?? '',
          source,
        },
        log,
      );
      return result.kind === 'paid' || result.kind === 'duplicate' ? 'paid' : 'rejected';
    }
    case 'CLOSED':
    case 'REVOKED': {
      const closed = await ctx.store.orders.markClosed(order.id, {
        closedAt: ctx.now(),
        reason: 'wechat_closed',
      });
      return closed.kind === 'already_paid' ? 'paid' : 'closed';
    }
    default:
      // NOTPAY, USERPAYING, PAYERROR: the buyer can still pay.
      return 'pending';
  }
}

export type CloseOutcome = 'closed' | 'paid' | 'rejected';

/**
 * closeorder at WeChat first, then CLOSED here: never the other way round, or a buyer could pay an order we
 * already consider closed. ORDERPAID means the buyer paid after all: query and record the payment.
 */
export async function closeAtWechat(
  ctx: AppContext,
  order: OrderRecord,
  reason: string,
  log: Logger = ctx.log,
): Promise<CloseOutcome> {
  try {
    await ctx.pay.closeOrder({ outTradeNo: order.outTradeNo });
  } catch (err) {
    if (err instanceof WechatPayOrderPaidError) {
      const outcome = await reconcile(ctx, order, log, 'close');
      return outcome === 'paid' ? 'paid' : 'rejected';
    }
    // Already closed at WeChat, or WeChat never saw it (unifiedorder never got through): nobody can pay it.
    if (!(err instanceof WechatPayOrderClosedError) && !(err instanceof WechatPayOrderNotExistError))
      throw err;
  }
  const closed = await ctx.store.orders.markClosed(order.id, { closedAt: ctx.now(), reason });
  if (closed.kind === 'closed') log.info({ orderId: order.id, reason }, 'order closed');
  return closed.kind === 'already_paid' ? 'paid' : 'closed';
}

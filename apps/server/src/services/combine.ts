/**
 * Combine (合单) payments, the business side (docs/combine.md): an order of several merchants' goods is paid at
 * once through one combine attempt whose sub-orders, one per merchant, are trades of their own at WeChat. What
 * WeChat reports about them (notification, combine query, closeorder's ORDERPAID) ends in one atomic transition
 * (mark-combine.lua), so whichever path learns first wins and the others change nothing.
 */
import type { AppContext } from '../context.ts';
import type { CombineSubOrder, PrepareRequest, SubOrderStatus, TradeRef } from '../gateway/index.ts';
import type { Logger } from '../logger.ts';
import type { AttemptRecord, MarkCombineResult, SubOrderReport } from '../store/index.ts';

/** WeChat's trade states in the terms of mark-combine.lua: paid, can no longer be paid, or still payable. */
const OUTCOMES: Record<SubOrderStatus['state'], SubOrderReport['outcome']> = {
  paid: 'paid',
  failed: 'failed',
  closed: 'failed',
  not_paid: 'open',
  paying: 'open',
  // A sub-order WeChat does not know (the combine was never placed) is payable once it is.
  unknown: 'open',
};

/** Records every sub-order's state as WeChat reported it, and logs what it meant for the order. */
export async function applyCombine(
  ctx: AppContext,
  combineNo: string,
  subOrders: readonly SubOrderStatus[],
  source: 'notify' | 'query' | 'close',
  log: Logger = ctx.log,
): Promise<MarkCombineResult> {
  const reports: SubOrderReport[] = subOrders.map((sub) => {
    const report: SubOrderReport = {
      outTradeNo: sub.outTradeNo,
      mchid: sub.mchid,
      outcome: OUTCOMES[sub.state],
    };
    if (sub.payment !== undefined) {
      report.transactionId = sub.payment.transactionId;
      report.totalFen = sub.payment.totalFen;
      report.paidAt = sub.payment.paidAt;
    }
    return report;
  });
  const result = await ctx.store.attempts.markCombine(combineNo, {
    subOrders: reports,
    source,
    now: ctx.now(),
  });
  const where = { outTradeNo: combineNo, source };
  switch (result.kind) {
    case 'paid':
      if (result.previous === 'CLOSED') {
        log.warn(
          { ...where, security: 'paid_after_close' },
          'WeChat reports a combine payment for a CLOSED order: recorded as PAID, needs fulfilment or refund',
        );
      } else {
        log.info(where, 'order paid (combine)');
      }
      break;
    case 'partial':
      log.warn(
        { ...where, refunds: result.refunds },
        'combine paid only in part: the paid sub-orders are refunded in full',
      );
      break;
    case 'second_payment':
      log.warn(
        { ...where, paidAttempt: result.paidAttempt, refunds: result.refunds, security: 'double_payment' },
        'the buyer paid an order twice (combine): the second payment is recorded and refunded in full',
      );
      break;
    case 'failed':
      log.info(where, 'combine payment failed at WeChat; attempt ended');
      break;
    case 'amount_mismatch':
      log.error(
        {
          ...where,
          subOrder: result.outTradeNo,
          expectedFen: result.expectedFen,
          security: 'amount_mismatch',
        },
        'combine sub-order amount differs from the order: NOT marked paid',
      );
      break;
    case 'other_transaction':
      log.warn(
        { ...where, subOrder: result.outTradeNo, security: 'second_transaction' },
        'combine sub-order already paid by another transaction_id: check for a double charge',
      );
      break;
    case 'other_merchant':
      log.error(
        { ...where, subOrder: result.outTradeNo, security: 'merchant_mismatch' },
        'combine report names another merchant than the sub-order’s: NOT recorded',
      );
      break;
    case 'not_found':
      log.warn(
        { ...where, security: 'unknown_order' },
        'combine payment for an order this server does not know',
      );
      break;
    default:
      break;
  }
  return result;
}

/** The sub-orders a combine attempt was placed with, as the gateway sends them. */
export function subOrdersOf(attempt: AttemptRecord): CombineSubOrder[] | undefined {
  return attempt.combine?.subOrders.map((sub) => ({
    outTradeNo: sub.outTradeNo,
    mchid: sub.mchid,
    totalFen: sub.totalFen,
    description: sub.description,
  }));
}

/** How the gateway names an attempt's trade: its AppID, and its merchant when it is not the shop's own. */
export function tradeRefOf(attempt: AttemptRecord): TradeRef {
  return {
    outTradeNo: attempt.outTradeNo,
    appId: attempt.appId,
    ...(attempt.mchid === undefined ? {} : { mchid: attempt.mchid }),
  };
}

/** The combine part of a prepare request (undefined for a single trade). */
export function combinePart(attempt: AttemptRecord): Pick<PrepareRequest, 'subOrders'> {
  const subOrders = subOrdersOf(attempt);
  return subOrders === undefined ? {} : { subOrders };
}

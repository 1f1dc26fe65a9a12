/**
 * Refunds (docs/architecture.md): a refund is recorded and queued by the store under WeChat's rules, sent by
 * the refund queue with the out_refund_no minted once (so a retry after a timeout or SYSTEMERROR can never refund
 * twice), and settled by WeChat's answer: a refund notification or a refund query, whichever comes first.
 */
import type { Refund, RefundSummary } from '@mp-pay/shared/api';
import type { AppContext } from '../context.ts';
import { tradeRefOf } from './combine.ts';
import { MAX_REFUNDS_PER_PAYMENT } from '../domain/ids.ts';
import { AppError } from '../errors.ts';
import { GatewayError, type RefundStatus } from '../gateway/index.ts';
import type { Logger } from '../logger.ts';
import type { RefundRecord, RefundRules, RequestRefundResult, SettleRefundResult } from '../store/index.ts';

/**
 * WeChat's limits (docs/protocol.md §8): 50 refunds per payment, a minute apart, within a year. The spacing has a
 * few seconds to spare: a refund goes out up to one worker poll after its due time, and one sent a hair under a
 * minute after the previous would come back FREQUENCY_LIMITED.
 */
export const REFUND_RULES: RefundRules = {
  minSpacingMs: 65_000,
  maxCount: MAX_REFUNDS_PER_PAYMENT,
  maxAgeMs: 365 * 86_400_000,
};

export interface RefundIntent {
  /** The payment (attempt) to refund. */
  outTradeNo: string;
  refundFen: number;
  reason: string;
  requestedBy: string;
}

export async function requestRefund(
  ctx: AppContext,
  intent: RefundIntent,
  log: Logger,
): Promise<RequestRefundResult> {
  if (!Number.isSafeInteger(intent.refundFen) || intent.refundFen <= 0) {
    throw new RangeError('a refund is a positive whole number of fen');
  }
  const result = await ctx.store.refunds.requestRefund({ ...intent, createdAt: ctx.now() }, REFUND_RULES);
  if (result.kind === 'requested') {
    log.info(
      {
        outRefundNo: result.refund.outRefundNo,
        refundFen: intent.refundFen,
        requestedBy: intent.requestedBy,
        dueAt: result.refund.dueAt,
      },
      'refund requested',
    );
  }
  return result;
}

/** What the gateway says about a refund, applied once (the store ignores repeats). */
export async function applyRefundStatus(
  ctx: AppContext,
  status: RefundStatus,
  source: string,
  log: Logger,
): Promise<SettleRefundResult | undefined> {
  const final =
    status.state === 'succeeded'
      ? 'SUCCESS'
      : status.state === 'closed'
        ? 'CLOSED'
        : status.state === 'abnormal'
          ? 'ABNORMAL'
          : undefined;
  if (final === undefined) return undefined;
  const result = await ctx.store.refunds.settleRefund(status.outRefundNo, {
    state: final,
    refundId: status.refundId,
    at: status.succeededAt ?? ctx.now(),
    source,
    ownMchid: ctx.config.wechatpay.mchId,
    ...(status.mchid === undefined ? {} : { mchid: status.mchid }),
  });
  if (result.kind === 'settled') {
    const where = { outRefundNo: status.outRefundNo, refundId: status.refundId, source };
    if (final === 'ABNORMAL') {
      log.warn(
        { ...where, security: 'refund_abnormal' },
        'refund ABNORMAL: the buyer could not receive it; act in the merchant console',
      );
    } else {
      log.info({ ...where, state: final, orderStatus: result.orderStatus }, 'refund settled');
    }
  }
  return result;
}

export type SendOutcome = 'sent' | 'retry' | 'refused' | 'settled';

/**
 * Sends a PENDING refund to WeChat with its own out_refund_no. WeChat treats a repeat of the same out_refund_no
 * as the same refund, which is what makes retrying after a timeout safe.
 */
export async function sendRefund(ctx: AppContext, refund: RefundRecord, log: Logger): Promise<SendOutcome> {
  const attempt = await ctx.store.attempts.getAttempt(refund.outTradeNo);
  if (!attempt) return 'refused';
  let status: RefundStatus;
  try {
    status = await ctx.pay.refund({
      ...tradeRefOf(attempt),
      outRefundNo: refund.outRefundNo,
      totalFen: refund.totalFen,
      refundFen: refund.refundFen,
      reason: refund.reason,
      notifyUrl: ctx.refundNotifyUrl(),
    });
  } catch (err) {
    if (err instanceof GatewayError && err.retryable) {
      log.warn(
        { outRefundNo: refund.outRefundNo, code: err.wechatCode, err: err.message },
        'refund not sent yet; will retry',
      );
      return 'retry';
    }
    if (err instanceof GatewayError) {
      log.error(
        { outRefundNo: refund.outRefundNo, code: err.wechatCode, err },
        'WeChat Pay refused the refund',
      );
      return 'refused';
    }
    throw err;
  }
  const now = ctx.now();
  await ctx.store.refunds.markRefundSent(refund.outRefundNo, {
    refundId: status.refundId,
    sentAt: now,
    queryDueAt: now + ctx.config.worker.queryDelayMs,
  });
  log.info({ outRefundNo: refund.outRefundNo, refundId: status.refundId }, 'refund accepted by WeChat');
  return (await applyRefundStatus(ctx, status, 'refund', log))?.kind === 'settled' ? 'settled' : 'sent';
}

/** Asks WeChat about a PROCESSING refund; true once it is settled. */
export async function reconcileRefund(ctx: AppContext, refund: RefundRecord, log: Logger): Promise<boolean> {
  const attempt = await ctx.store.attempts.getAttempt(refund.outTradeNo);
  if (!attempt) return false;
  const status = await ctx.pay.queryRefund({ ...tradeRefOf(attempt), outRefundNo: refund.outRefundNo });
  const result = await applyRefundStatus(ctx, status, 'query', log);
  return result !== undefined;
}

/** GET /admin/orders/:id/refunds: every refund of the order, oldest first (404 for an unknown order). */
export async function refundsOfOrder(ctx: AppContext, orderId: string): Promise<Refund[]> {
  if (!(await ctx.store.orders.getOrder(orderId))) throw new AppError('order_not_found');
  return (await ctx.store.refunds.listRefunds(orderId)).map(toApiRefund);
}

/** GET /admin/refunds/:outRefundNo (404 not_found). */
export async function readRefund(ctx: AppContext, outRefundNo: string): Promise<Refund> {
  const refund = await ctx.store.refunds.getRefund(outRefundNo);
  if (!refund) throw new AppError('not_found');
  return toApiRefund(refund);
}

/** What a buyer sees of a refund. */
export function toRefundSummary(refund: RefundRecord): RefundSummary {
  const out: RefundSummary = {
    outRefundNo: refund.outRefundNo,
    refundFen: refund.refundFen,
    state: refund.state,
    createdAt: new Date(refund.createdAt).toISOString(),
  };
  if (refund.settledAt !== undefined) out.settledAt = new Date(refund.settledAt).toISOString();
  return out;
}

/** The staff's view of a refund. */
export function toApiRefund(refund: RefundRecord): Refund {
  const out: Refund = {
    outRefundNo: refund.outRefundNo,
    orderId: refund.orderId,
    outTradeNo: refund.outTradeNo,
    refundFen: refund.refundFen,
    reason: refund.reason,
    requestedBy: refund.requestedBy,
    state: refund.state,
    createdAt: new Date(refund.createdAt).toISOString(),
    dueAt: new Date(refund.dueAt).toISOString(),
  };
  if (refund.settledAt !== undefined) out.settledAt = new Date(refund.settledAt).toISOString();
  if (refund.refundId !== undefined) out.refundId = refund.refundId;
  return out;
}

/**
 * Staff refund an order's payment, in full (what remains of it) or in part. The refund is queued under WeChat's
 * rules and sent by the worker; the reply says when it goes out. A combine's payments are its sub-orders, each
 * refunded on its own (docs/combine.md): `outTradeNo` names one; without it the whole remainder of every paid
 * sub-order is refunded (a partial amount must name its sub-order). The first refund made is returned, then all.
 */
export async function staffRefund(
  ctx: AppContext,
  input: { orderId: string; refundFen: number | undefined; reason: string; by: string; outTradeNo?: string },
  log: Logger,
): Promise<Refund[]> {
  const order = await ctx.store.orders.getOrder(input.orderId);
  if (!order || order.paidAttempt === undefined) {
    throw new AppError(order ? 'refund_not_allowed' : 'order_not_found');
  }
  const paid = await ctx.store.attempts.getAttempt(order.paidAttempt);
  let payments: { outTradeNo: string; totalFen: number }[] = [
    { outTradeNo: order.paidAttempt, totalFen: order.totalFen },
  ];
  if (paid?.subs !== undefined) {
    // The combine's paid sub-orders, in the combine's order.
    const byNo = new Map((await ctx.store.attempts.listAttempts(order.id)).map((a) => [a.outTradeNo, a]));
    payments = paid.subs.flatMap((no) => {
      const sub = byNo.get(no);
      return sub?.state === 'PAID' ? [sub] : [];
    });
  }
  let targets = payments;
  if (input.outTradeNo !== undefined) {
    targets = payments.filter((p) => p.outTradeNo === input.outTradeNo);
    if (targets.length === 0) {
      throw new AppError('refund_not_allowed', `${input.outTradeNo} is not a paid payment of this order.`);
    }
  } else if (payments.length > 1 && input.refundFen !== undefined) {
    throw new AppError(
      'invalid_request',
      'This order was paid by a combine payment: name the sub-order (outTradeNo) a partial refund is of.',
    );
  }
  const refunds = await ctx.store.refunds.listRefunds(order.id);
  const made: Refund[] = [];
  for (const payment of targets) {
    let refundFen = input.refundFen;
    if (refundFen === undefined) {
      const reserved = refunds
        .filter((r) => r.outTradeNo === payment.outTradeNo && r.state !== 'CLOSED')
        .reduce((sum, r) => sum + r.refundFen, 0);
      refundFen = payment.totalFen - reserved;
      if (refundFen <= 0) {
        if (targets.length > 1) continue;
        throw new AppError('refund_too_much', 'Nothing remains to refund.');
      }
    }
    const result = await requestRefund(
      ctx,
      { outTradeNo: payment.outTradeNo, refundFen, reason: input.reason, requestedBy: input.by },
      log,
    );
    switch (result.kind) {
      case 'requested':
        made.push(toApiRefund(result.refund));
        break;
      case 'too_much':
        throw new AppError('refund_too_much', `At most ${result.remainingFen} fen remain.`);
      case 'not_found':
        throw new AppError('order_not_found');
      default:
        throw new AppError('refund_not_allowed');
    }
  }
  if (made.length === 0) throw new AppError('refund_too_much', 'Nothing remains to refund.');
  return made;
}

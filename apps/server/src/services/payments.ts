/**
 * What WeChat says about a payment attempt, applied to our order. The notification, orderquery (background
 * worker and GET /api/orders/:id) and closeorder(ORDERPAID) all end in the same atomic transitions, so whichever
 * path learns of a payment first wins and the others become no-ops. WeChat is reached only through the gateway.
 */
import type { AppContext } from '../context.ts';
import { GatewayError, isPlaced, type PaymentFact } from '../gateway/index.ts';
import type { Logger } from '../logger.ts';
import type { AttemptRecord, MarkPaidResult, OrderRecord } from '../store/index.ts';
import { applyCombine, subOrdersOf, tradeRefOf } from './combine.ts';

/** WeChat refuses to close a trade younger than this (docs/protocol.md §6); ended trades wait for it. */
export const CLOSE_MIN_AGE_MS = 5 * 60_000;

/** Records a payment WeChat vouched for (signed notification or signed query reply). */
export async function applyPayment(
  ctx: AppContext,
  fact: PaymentFact,
  source: 'notify' | 'query' | 'close',
  log: Logger = ctx.log,
): Promise<MarkPaidResult> {
  const result = await ctx.store.attempts.markPaid(fact.outTradeNo, {
    transactionId: fact.transactionId,
    totalFen: fact.totalFen,
    paidAt: fact.paidAt,
    source,
    ...(fact.mchid === undefined ? {} : { mchid: fact.mchid }),
  });
  const where = { outTradeNo: fact.outTradeNo, transactionId: fact.transactionId, source };
  switch (result.kind) {
    case 'paid':
      if (result.previous === 'CLOSED') {
        log.warn(
          { ...where, security: 'paid_after_close' },
          'WeChat reports a payment for a CLOSED order: recorded as PAID, needs fulfilment or refund',
        );
      } else {
        log.info({ ...where, totalFen: fact.totalFen }, 'order paid');
      }
      break;
    case 'second_payment':
      log.warn(
        { ...where, paidAttempt: result.paidAttempt, outRefundNo: result.refund, security: 'double_payment' },
        'the buyer paid an order twice: the second payment is recorded and its full refund requested',
      );
      break;
    case 'duplicate':
      if (!result.sameTransaction) {
        log.warn(
          { ...where, security: 'second_transaction' },
          'attempt already paid by another transaction_id: check for a double charge',
        );
      }
      break;
    case 'amount_mismatch':
      log.error(
        {
          ...where,
          security: 'amount_mismatch',
          reportedFen: fact.totalFen,
          expectedFen: result.expectedFen,
        },
        'payment amount differs from the order total: NOT marked paid',
      );
      break;
    case 'other_merchant':
      log.error(
        { ...where, mchid: fact.mchid ?? 'own', security: 'merchant_mismatch' },
        'payment reported by another merchant than the trade’s: NOT marked paid',
      );
      break;
    case 'not_found':
      log.warn({ ...where, security: 'unknown_order' }, 'payment for an order this server does not know');
      break;
  }
  return result;
}

export type AttemptOutcome = 'paid' | 'failed' | 'closed' | 'pending' | 'unknown_at_wechat' | 'rejected';

/**
 * Asks WeChat (orderquery) about one attempt and applies the answer. A failed payment (PAYERROR) ends the attempt
 * so that paying again gets a new trade. A trade closed at WeChat is reported as `closed`: the caller decides
 * what that means for the order. Transport errors propagate: the caller retries later or answers with what it has.
 */
export async function reconcileAttempt(
  ctx: AppContext,
  attempt: AttemptRecord,
  log: Logger = ctx.log,
  source: 'query' | 'close' = 'query',
): Promise<AttemptOutcome> {
  if (attempt.combine !== undefined) return reconcileCombine(ctx, attempt, log, source);
  const status = await ctx.pay.query(tradeRefOf(attempt));
  switch (status.state) {
    case 'paid': {
      const result = await applyPayment(ctx, status.payment as PaymentFact, source, log);
      return result.kind === 'amount_mismatch' || result.kind === 'not_found' ? 'rejected' : 'paid';
    }
    case 'failed': {
      const ended = await ctx.store.attempts.endAttempt(attempt.outTradeNo, {
        reason: 'failed',
        tradeState: 'failed',
        closeDueAt: Math.max(ctx.now(), attempt.createdAt + CLOSE_MIN_AGE_MS),
        at: ctx.now(),
      });
      if (ended.kind === 'ended')
        log.info({ outTradeNo: attempt.outTradeNo }, 'payment failed at WeChat; attempt ended');
      return 'failed';
    }
    case 'closed':
      return 'closed';
    case 'unknown':
      return 'unknown_at_wechat';
    case 'not_paid':
    case 'paying':
      return 'pending';
  }
}

/**
 * How long after a combine's time_expire a sub-order still unpaid counts as failed: WeChat stops taking payments
 * at time_expire, and the margin covers a payment completing at the last second and clock skew.
 */
export const COMBINE_EXPIRY_GRACE_MS = 5 * 60_000;

/**
 * The combine query applied like a notification (mark-combine.lua), in the terms of reconcileAttempt. A combine
 * with some sub-orders paid and others still payable is `pending`: it is asked about again, and once its
 * time_expire is past (with a margin) the unpaid ones can no longer be paid, so they count as failed and the
 * combine becomes a partial payment, refunded (docs/combine.md).
 */
async function reconcileCombine(
  ctx: AppContext,
  attempt: AttemptRecord,
  log: Logger,
  source: 'query' | 'close',
): Promise<AttemptOutcome> {
  const status = await ctx.pay.queryCombine(tradeRefOf(attempt));
  if (status.state === 'unknown') return 'unknown_at_wechat';
  const over = ctx.now() >= attempt.expiresAt + COMBINE_EXPIRY_GRACE_MS;
  const subOrders = over
    ? status.subOrders.map((sub) => (sub.state === 'paid' ? sub : { ...sub, state: 'closed' as const }))
    : status.subOrders;
  const result = await applyCombine(ctx, attempt.outTradeNo, subOrders, source, log);
  switch (result.kind) {
    case 'paid':
    case 'partial':
    case 'second_payment':
      return 'paid';
    case 'failed':
      return 'failed';
    case 'amount_mismatch':
    case 'other_transaction':
    case 'other_merchant':
    case 'not_found':
      return 'rejected';
    case 'duplicate':
    case 'progress': {
      // Nothing decided by this report: the stored combine says where it stands.
      const stored = await ctx.store.attempts.getAttempt(attempt.outTradeNo);
      if (stored?.state === 'PAID') return 'paid';
      if (stored?.state === 'ENDED' && stored.endReason === 'failed') return 'failed';
      if (subOrders.every((sub) => sub.state === 'closed')) return 'closed';
      return 'pending';
    }
  }
}

export type RefreshOutcome = AttemptOutcome | 'settled';

/**
 * A PENDING order's open attempt checked with WeChat; a trade closed at WeChat (merchant console, expiry there)
 * closes the order. Shared by GET /api/orders/:id and the query queue.
 */
export async function refreshOrder(
  ctx: AppContext,
  order: OrderRecord,
  log: Logger = ctx.log,
): Promise<RefreshOutcome> {
  if (order.status !== 'PENDING') return 'settled';
  const attempt = await ctx.store.attempts.getAttempt(order.currentAttempt);
  if (!attempt || attempt.state !== 'OPEN') return 'settled';
  const outcome = await reconcileAttempt(ctx, attempt, log);
  if (outcome === 'closed') {
    const closed = await ctx.store.orders.markClosed(order.id, {
      closedAt: ctx.now(),
      reason: 'wechat_closed',
      closedAttempt: attempt.outTradeNo,
    });
    if (closed.kind === 'already_paid') return 'paid';
  }
  return outcome;
}

export type CloseOutcome =
  | { kind: 'closed' }
  | { kind: 'paid' }
  | { kind: 'rejected' }
  /** WeChat does not know the trade yet, but a placing still in flight may create it: ask again at `at`. */
  | { kind: 'recheck'; at: number };

/**
 * How long after an attempt stopped being OPEN a placing of it can still be in flight: the unified order of a
 * request that read the attempt as OPEN just before, with the gateway's timeout, twice for a margin.
 */
function inFlightWindowMs(ctx: AppContext): number {
  return 2 * ctx.config.wechatpay.timeoutMs;
}

/**
 * closeorder for one attempt at WeChat first, then CLOSED here: never the other way round, or a buyer could pay a
 * trade we already consider closed. ORDERPAID means the buyer paid after all: query and record the payment.
 * WeChat not knowing the trade proves nothing while a placing may still be in flight: such an attempt is
 * checked again once no placing can be. GatewayError (too_early, unavailable, refused) propagates.
 */
export async function closeAttemptAtWechat(
  ctx: AppContext,
  attempt: AttemptRecord,
  log: Logger = ctx.log,
): Promise<CloseOutcome> {
  const subOrders = subOrdersOf(attempt);
  const result =
    subOrders === undefined
      ? await ctx.pay.close(tradeRefOf(attempt))
      : await ctx.pay.closeCombine(tradeRefOf(attempt), subOrders);
  if (result === 'already_paid') {
    const outcome = await reconcileAttempt(ctx, attempt, log, 'close');
    return { kind: outcome === 'paid' ? 'paid' : 'rejected' };
  }
  // A mode-1 attempt holding only its long link counts as unplaced: a scan may be placing it right now.
  if (result === 'unknown' && !isPlaced(attempt.prepared)) {
    const settled = (attempt.endedAt ?? ctx.now()) + inFlightWindowMs(ctx);
    if (ctx.now() < settled) return { kind: 'recheck', at: settled };
  }
  // Closed now, already closed, or never seen by WeChat with nothing in flight: nobody can pay it.
  const closed = await ctx.store.attempts.markAttemptClosed(attempt.outTradeNo, ctx.now());
  return { kind: closed.kind === 'paid' ? 'paid' : 'closed' };
}

/**
 * The buyer cancels an order whose trade WeChat will not close yet (closeorder refuses trades younger than 5
 * minutes, docs/protocol.md §6). Waiting would leave the buyer looking at a payable order they cancelled, so the
 * open attempt ends here now, due in the close queue when WeChat allows it (CLOSE_MIN_AGE_MS after it was
 * placed), and the order is CLOSED at once. The launch parameters are never offered again; a payment the buyer
 * still makes in between (a cashier already open) is reported by WeChat and makes the order PAID (mark-paid.lua),
 * and the close queue's closeorder then answers ORDERPAID, recorded the same way.
 */
export async function closeOrderLater(
  ctx: AppContext,
  orderId: string,
  reason: string,
  log: Logger = ctx.log,
): Promise<CloseOutcome> {
  for (let round = 0; round < 3; round++) {
    const current = await closingOrder(ctx, orderId);
    if ('outcome' in current) return current.outcome;
    const { attempt } = current;
    if (attempt && attempt.state === 'OPEN') {
      const now = ctx.now();
      const ended = await ctx.store.attempts.endAttempt(attempt.outTradeNo, {
        reason: 'cancelled',
        tradeState: 'unknown',
        closeDueAt: Math.max(now, attempt.createdAt + CLOSE_MIN_AGE_MS),
        at: now,
      });
      if (ended.kind !== 'ended') continue;
    }
    const outcome = await markClosedHere(ctx, orderId, reason, undefined, log, { closeAtWechat: 'later' });
    if (outcome) return outcome;
  }
  throw new GatewayError('unavailable', `order ${orderId} kept opening attempts while being cancelled`);
}

/**
 * Closes an order: its open attempt at WeChat, then the order here. Used by the buyer's close and by expiry.
 * An open attempt not placed at WeChat yet (no prepay_id, or only a mode-1 long link) is first ended, atomically:
 * a request or a scan placing it right now then cannot record (set-prepared / set-scan-prepay refuse an attempt
 * that is not OPEN) nor hand out a launch for a trade this close is about to declare unpayable.
 */
export async function closeOrderAtWechat(
  ctx: AppContext,
  orderId: string,
  reason: string,
  log: Logger = ctx.log,
): Promise<CloseOutcome> {
  // A few rounds at most: a new attempt opened while the first was being closed is closed in the next.
  for (let round = 0; round < 3; round++) {
    const current = await closingOrder(ctx, orderId);
    if ('outcome' in current) return current.outcome;
    let { attempt } = current;
    let closedAttempt: string | undefined;
    let recheck: CloseOutcome | undefined;
    if (attempt && attempt.state === 'OPEN' && !isPlaced(attempt.prepared)) {
      const now = ctx.now();
      const ended = await ctx.store.attempts.endAttempt(attempt.outTradeNo, {
        reason: 'closing',
        tradeState: 'unknown',
        closeDueAt: now,
        at: now,
      });
      if (ended.kind !== 'ended') continue;
      attempt = { ...attempt, state: 'ENDED', endReason: 'closing', endedAt: now };
    }
    if (attempt && (attempt.state === 'OPEN' || attempt.endReason === 'closing')) {
      const outcome = await closeAttemptAtWechat(ctx, attempt, log);
      if (outcome.kind === 'paid' || outcome.kind === 'rejected') return outcome;
      if (outcome.kind === 'closed') closedAttempt = attempt.outTradeNo;
      else recheck = outcome;
    }
    const outcome = await markClosedHere(ctx, orderId, reason, closedAttempt, log);
    if (outcome) return outcome.kind === 'closed' ? (recheck ?? outcome) : outcome;
  }
  throw new GatewayError('unavailable', `order ${orderId} kept opening attempts while being closed`);
}

/**
 * One round of closing an order: its current attempt, or the outcome when it is closed or paid already (both
 * close loops start each round here: a round may find what another process did meanwhile).
 */
async function closingOrder(
  ctx: AppContext,
  orderId: string,
): Promise<{ outcome: CloseOutcome } | { attempt: AttemptRecord | undefined }> {
  const order = await ctx.store.orders.getOrder(orderId);
  if (!order || order.status === 'CLOSED') return { outcome: { kind: 'closed' } };
  if (order.status === 'PAID') return { outcome: { kind: 'paid' } };
  return { attempt: await ctx.store.attempts.getAttempt(order.currentAttempt) };
}

/** The order CLOSED here (mark-closed.lua); undefined when an attempt opened meanwhile (close it first). */
async function markClosedHere(
  ctx: AppContext,
  orderId: string,
  reason: string,
  closedAttempt: string | undefined,
  log: Logger,
  note: Record<string, string> = {},
): Promise<CloseOutcome | undefined> {
  const closed = await ctx.store.orders.markClosed(orderId, { closedAt: ctx.now(), reason, closedAttempt });
  switch (closed.kind) {
    case 'closed':
      log.info({ orderId, reason, ...note }, 'order closed');
      return { kind: 'closed' };
    case 'already_closed':
    case 'not_found':
      return { kind: 'closed' };
    case 'already_paid':
      return { kind: 'paid' };
    case 'attempt_open':
      return undefined;
  }
}

import { randomInt } from 'node:crypto';
import { formatWechatTime, parseWechatTime } from '@mp-pay/shared/wechatpay';
import type { SandboxContext } from '../context.ts';
import type { Notifier } from '../notifier.ts';
import { findOrder } from '../pay/orders.ts';
import type { OrderRecord, RefundRecord } from '../state.ts';
import { refundNotificationPlan } from './notification.ts';
import { committedFee } from './status.ts';

/**
 * Refunds, whichever API asks (docs/protocol.md §6, §8): one set of rules, answered in v2 words by v2.ts and in
 * v3 words by v3.ts. A refund is accepted as PROCESSING; after `refundDelayMs` (scaled) it ends SUCCESS, CHANGE
 * or REFUNDCLOSE as the `refundOutcome` fault says, and its notification goes out on the payment schedule.
 *
 * Everything from the checks to the insertion is synchronous, so concurrent requests cannot together refund
 * more than was paid: Node runs one handler at a time.
 */

/** At most 50 (partial) refunds per payment. */
export const MAX_REFUNDS_PER_ORDER = 50;
/** WeChat: refunds are possible for one year after payment. */
const REFUND_WINDOW_MS = 365 * 24 * 3600_000;

export interface RefundInput {
  api: 'v2' | 'v3';
  appId: string;
  mchId: string;
  order: OrderRecord;
  outRefundNo: string;
  totalFee: number;
  refundFee: number;
  reason: string | undefined;
  notifyUrl: string | undefined;
  /**
   * Made by staff in the merchant console, not through the API: no notification goes to the shop, and
   * refund_request_source reads VENDOR_PLATFORM. It still shows in refundquery and the bill.
   */
  console?: boolean;
}

/** Why a refund is refused; v2.ts and v3.ts word each one as their API does. */
export type RefundProblem =
  | { kind: 'mismatch' }
  | { kind: 'not-paid' }
  | { kind: 'overdue' }
  | { kind: 'total-mismatch' }
  | { kind: 'fully-refunded' }
  | { kind: 'over-refund'; refundable: number }
  | { kind: 'too-many' }
  | { kind: 'too-frequent'; waitMs: number }
  | { kind: 'not-enough' };

export type RefundOutcome = { refund: RefundRecord; existing: boolean } | { problem: RefundProblem };

function fingerprint(input: RefundInput): string {
  return JSON.stringify([input.order.key, input.totalFee, input.refundFee]);
}

/** 29 digits like WeChat's refund ids: 503 + 7 digits + yyyyMMdd + 11 digits. */
function newRefundId(now: number): string {
  const digits = (n: number) => Array.from({ length: n }, () => randomInt(10)).join('');
  return `503${digits(7)}${formatWechatTime(new Date(now)).slice(0, 8)}${digits(11)}`;
}

export class Refunds {
  constructor(
    private readonly sandbox: SandboxContext,
    private readonly notifier: Notifier,
  ) {}

  /**
   * The rules, in this order: a known out_refund_no is answered first (same order and amounts: the same refund
   * again, whatever its state; anything else: mismatch); then the order must be paid, within a year, for the
   * total it was paid; the refund must fit in what is left; at most 50 per order, 1 minute apart; and the
   * merchant's balance must cover it (refundNotEnough fault).
   */
  request(input: RefundInput): RefundOutcome {
    const { sandbox } = this;
    const now = sandbox.clock.now();
    const known = this.find(input.mchId, input.outRefundNo);
    if (known) {
      this.settle(known);
      return known.fingerprint === fingerprint(input)
        ? { refund: known, existing: true }
        : { problem: { kind: 'mismatch' } };
    }
    const { order } = input;
    if (order.state !== 'SUCCESS' || !order.transactionId) return { problem: { kind: 'not-paid' } };
    const paidAt = order.timeEnd === undefined ? undefined : parseWechatTime(order.timeEnd)?.getTime();
    if (paidAt !== undefined && now - paidAt > REFUND_WINDOW_MS) {
      return { problem: { kind: 'overdue' } };
    }
    if (input.totalFee !== order.totalFee) return { problem: { kind: 'total-mismatch' } };
    for (const refund of order.refunds) this.settle(refund);
    const refundable = order.totalFee - committedFee(order);
    if (refundable <= 0) return { problem: { kind: 'fully-refunded' } };
    if (input.refundFee > refundable) return { problem: { kind: 'over-refund', refundable } };
    if (order.refunds.length >= MAX_REFUNDS_PER_ORDER) return { problem: { kind: 'too-many' } };
    const last = order.refunds.at(-1);
    const interval = sandbox.config.refundMinIntervalMs;
    if (last && now - last.createdAt < interval) {
      return { problem: { kind: 'too-frequent', waitMs: interval - (now - last.createdAt) } };
    }
    if (sandbox.faults.for(input.mchId, order.outTradeNo).refundNotEnough) {
      return { problem: { kind: 'not-enough' } };
    }

    const settlementTotal = Number(order.paidExtras.settlement_total_fee ?? order.totalFee);
    const cashFee = order.cashFee ?? order.totalFee;
    const delay = sandbox.clock.scaled(sandbox.config.refundDelayMs);
    const refund: RefundRecord = {
      key: `${input.mchId}:${input.outRefundNo}`,
      api: input.api,
      orderKey: order.key,
      appId: input.appId,
      mchId: input.mchId,
      outTradeNo: order.outTradeNo,
      transactionId: order.transactionId,
      outRefundNo: input.outRefundNo,
      refundId: newRefundId(now),
      fingerprint: fingerprint(input),
      totalFee: order.totalFee,
      refundFee: input.refundFee,
      // A 免充值 coupon is the merchant's money: the settled refund shrinks in proportion, as the cash part does.
      settlementRefundFee: Math.floor((input.refundFee * settlementTotal) / order.totalFee),
      cashRefundFee: Math.floor((input.refundFee * cashFee) / order.totalFee),
      feeType: order.feeType,
      reason: input.reason,
      notifyUrl: input.console ? undefined : (input.notifyUrl ?? sandbox.config.refundNotifyUrl),
      status: 'PROCESSING',
      createdAt: now,
      dueAt: now + delay,
      recvAccount: '支付用户零钱',
      refundAccount: 'REFUND_SOURCE_UNSETTLED_FUNDS',
      requestSource: input.console ? 'VENDOR_PLATFORM' : 'API',
      notifications: [],
    };
    order.refunds.push(refund);
    sandbox.state.refunds.set(refund.key, refund);
    sandbox.state.refundIds.set(refund.refundId, refund.key);
    sandbox.timers.after(delay, () => this.settle(refund, true));
    return { refund, existing: false };
  }

  find(mchId: string, outRefundNo: string): RefundRecord | undefined {
    return this.sandbox.state.refunds.get(`${mchId}:${outRefundNo}`);
  }

  findById(mchId: string, refundId: string): RefundRecord | undefined {
    const key = this.sandbox.state.refundIds.get(refundId);
    return key?.startsWith(`${mchId}:`) ? this.sandbox.state.refunds.get(key) : undefined;
  }

  /** The order a refund belongs to (refunds are dropped with their order, so it is there). */
  orderOf(refund: RefundRecord): OrderRecord | undefined {
    return findOrder(this.sandbox, refund.mchId, refund.outTradeNo);
  }

  /** Brings every refund of the order up to date with the sandbox clock (which POST /sandbox/clock moves). */
  settleOrder(order: OrderRecord): void {
    for (const refund of order.refunds) this.settle(refund);
  }

  /**
   * Ends the refund's processing when its time has come (the timer, or a read after the clock was moved):
   * the outcome is the order's `refundOutcome` fault at that moment. Then its notification starts.
   */
  settle(refund: RefundRecord, due = false): void {
    const now = this.sandbox.clock.now();
    if (refund.status !== 'PROCESSING' || (!due && now < refund.dueAt)) return;
    const outcome = this.sandbox.faults.for(refund.mchId, refund.outTradeNo).refundOutcome ?? 'success';
    refund.status = outcome === 'success' ? 'SUCCESS' : outcome === 'abnormal' ? 'CHANGE' : 'REFUNDCLOSE';
    if (refund.status === 'SUCCESS') refund.successAt = now;
    const plan = refundNotificationPlan(this.sandbox, refund);
    if (plan) this.notifier.begin(refund, plan);
  }
}

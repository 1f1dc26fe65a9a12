import { formatWechatTime } from '@mp-pay/shared/wechatpay';
import type { SandboxContext } from '../context.ts';
import type { Notifier } from '../notifier.ts';
import type { OrderRecord, PaymentAttempt, PrepayRecord } from '../state.ts';
import { applyExpiry, newTransactionId } from './orders.ts';

/**
 * The buyer's side of every channel once its own checks passed (wx.requestPayment, WeixinJSBridge, the H5
 * cashier, the scanner, the APP payer): is the order still payable, then the buyer's outcome. One place, so
 * every channel pays, records and notifies alike.
 */
export const OUTCOMES = ['success', 'cancel', 'fail', 'payerror'] as const;
export type Outcome = (typeof OUTCOMES)[number];

export type Settled =
  { ok: true; outcome: Outcome } | { ok: false; status: number; reason: string; hint?: string };

const MAX_RECORDED_PAYMENTS = 100;

/** Keeps an attempt on an order, or on a combine (which records the attempts made with its prepay_id). */
export function recordAttempt(record: { payments: PaymentAttempt[] }, attempt: PaymentAttempt): void {
  record.payments.push(attempt);
  if (record.payments.length > MAX_RECORDED_PAYMENTS) record.payments.shift();
}

/** A refused attempt as recorded, so inspection shows why the buyer could not pay. */
export function refusedAttempt(now: number, errMsg: string, hint?: string): PaymentAttempt {
  return { at: new Date(now).toISOString(), outcome: 'refused', errMsg, ...(hint ? { hint } : {}) };
}

/**
 * Pays (or not, per `outcome`) the order of `prepay` for the buyer `payerOpenid` (JSAPI orders already name
 * theirs). Refusals (paid, closed, PAYERROR, expired prepay_id) are recorded on the order.
 */
export function settlePayment(
  sandbox: SandboxContext,
  notifier: Notifier,
  order: OrderRecord,
  prepay: PrepayRecord,
  outcome: Outcome,
  payerOpenid?: string,
): Settled {
  const now = sandbox.clock.now();
  const refuse = (status: number, reason: string, hint?: string): Settled => {
    recordAttempt(order, refusedAttempt(now, reason, hint));
    return { ok: false, status, reason, ...(hint ? { hint } : {}) };
  };
  applyExpiry(order, now);
  if (order.state === 'SUCCESS') return refuse(409, '该订单已支付');
  if (order.state === 'CLOSED') return refuse(409, '订单已关闭');
  if (order.state === 'PAYERROR') return refuse(409, '支付失败，请重新下单支付');
  if (now >= prepay.expiresAt) {
    return refuse(409, 'prepay_id已过期', 'prepay_id lives 2 hours: place the order again');
  }
  recordAttempt(order, { at: new Date(now).toISOString(), outcome });
  if (outcome === 'payerror') order.state = 'PAYERROR';
  if (outcome === 'success') {
    if (payerOpenid && !order.openid) order.openid = payerOpenid;
    markPaid(sandbox, order, now);
    applyCoupon(sandbox, order);
    notifier.start(order);
  }
  return { ok: true, outcome };
}

/**
 * What every paid order records, a single order or a combine's sub-order: its own transaction_id (by which it
 * can be queried) and the time it was paid, the whole total paid in cash.
 */
export function markPaid(sandbox: SandboxContext, order: OrderRecord, now: number): void {
  order.state = 'SUCCESS';
  order.transactionId = newTransactionId(now);
  order.timeEnd = formatWechatTime(new Date(now));
  order.bankType = 'OTHERS';
  order.cashFee = order.totalFee;
  sandbox.state.transactions.set(order.transactionId, order.key);
}

/** A coupon fault on a single order (POST /sandbox/faults {coupon}): the buyer pays part of the total with it. */
function applyCoupon(sandbox: SandboxContext, order: OrderRecord): void {
  const coupon = sandbox.faults.for(order.mchId, order.outTradeNo).coupon;
  const couponFee = coupon ? Math.min(coupon.fee, order.totalFee - 1) : 0;
  if (coupon && couponFee > 0) {
    order.cashFee = order.totalFee - couponFee;
    order.paidExtras = {
      coupon_fee: String(couponFee),
      coupon_count: '1',
      coupon_type_0: coupon.type,
      coupon_id_0: coupon.id,
      coupon_fee_0: String(couponFee),
      // 免充值 (NO_CASH) coupons are funded by the merchant: it settles less than the order total.
      ...(coupon.type === 'NO_CASH' ? { settlement_total_fee: String(order.totalFee - couponFee) } : {}),
    };
  }
}

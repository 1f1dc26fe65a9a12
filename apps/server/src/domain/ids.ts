/**
 * Identifiers of the payment core (docs/architecture.md). An order id is 30 characters: Beijing time to the second
 * (sortable, readable in the merchant console) and 16 random characters (~95 bits). Each payment attempt of the
 * order is a WeChat trade whose out_trade_no is the order id followed by the attempt's two-digit number, so a
 * notification names its order without a lookup, and every key of an order shares the order's hash tag.
 */
import { createNonce, formatWechatTime } from '@mp-pay/shared/wechatpay';

export const ORDER_ID_RE = /^\d{14}[0-9A-Za-z]{16}$/;
/** An attempt (`<order id><nn>`) or a combine payment's sub-order (`<order id><seq><a-j>`, below). */
const OUT_TRADE_NO_RE = /^(\d{14}[0-9A-Za-z]{16})(\d{2}|[0-9A-Za-z][a-j])$/;
/** Attempts per order: two digits in the out_trade_no. Far more than any buyer needs; a bound on abuse. */
export const MAX_ATTEMPTS_PER_ORDER = 99;

export function newOrderId(now: number): string {
  return formatWechatTime(new Date(now)) + createNonce(16);
}

export function attemptOutTradeNo(orderId: string, seq: number): string {
  if (!Number.isInteger(seq) || seq < 1 || seq > MAX_ATTEMPTS_PER_ORDER) {
    throw new RangeError(`attempt number ${seq} is outside 1..${MAX_ATTEMPTS_PER_ORDER}`);
  }
  return orderId + String(seq).padStart(2, '0');
}

/**
 * A combine (合单) payment is an attempt like any other (its out_trade_no is the combine_out_trade_no), and each
 * of its sub-orders, one per merchant, is a trade of its own at WeChat that needs its own out_trade_no (at most 32
 * characters, unique per merchant). Still the order id and two characters, so a sub-order names its order as an
 * attempt does: the attempt number as one base-62 character, then the sub-order's letter a–j (at most 10
 * sub-orders, WeChat's limit for direct merchants). A letter in the last place never collides with an attempt's
 * two digits. Combine orders therefore take at most 61 attempts.
 */
export const MAX_COMBINE_ATTEMPTS = 61;
export const MAX_SUB_ORDERS = 10;
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

export function subOrderOutTradeNo(orderId: string, seq: number, index: number): string {
  if (!Number.isInteger(seq) || seq < 1 || seq > MAX_COMBINE_ATTEMPTS) {
    throw new RangeError(`combine attempt number ${seq} is outside 1..${MAX_COMBINE_ATTEMPTS}`);
  }
  if (!Number.isInteger(index) || index < 0 || index >= MAX_SUB_ORDERS) {
    throw new RangeError(`sub-order ${index} is outside 0..${MAX_SUB_ORDERS - 1}`);
  }
  return orderId + BASE62.charAt(seq) + 'abcdefghij'.charAt(index);
}

/** The order an out_trade_no belongs to; undefined for one this server did not mint. */
export function orderIdOf(outTradeNo: string): string | undefined {
  return OUT_TRADE_NO_RE.exec(outTradeNo)?.[1];
}

export function newUserId(): string {
  return 'u' + createNonce(23);
}
export const USER_ID_RE = /^u[0-9A-Za-z]{23}$/;

/**
 * A refund of attempt `outTradeNo` is `out_refund_no = <out_trade_no>R<nn>` (two digits, 01–50: WeChat allows at
 * most 50 refunds per payment). Minted once, in the store, when the refund is requested, and reused on every
 * retry of that refund, so WeChat never sees two numbers for one intent.
 */
export const MAX_REFUNDS_PER_PAYMENT = 50;
const OUT_REFUND_NO_RE = /^(\d{14}[0-9A-Za-z]{16})(?:\d{2}|[0-9A-Za-z][a-j])R\d{2}$/;

/** The order an out_refund_no belongs to; undefined for one this server did not mint. */
export function orderIdOfRefund(outRefundNo: string): string | undefined {
  return OUT_REFUND_NO_RE.exec(outRefundNo)?.[1];
}

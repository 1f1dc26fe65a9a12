/**
 * Identifiers of the payment core (docs/architecture.md). An order id is 30 characters: Beijing time to the second
 * (sortable, readable in the merchant console) and 16 random characters (~95 bits). Each payment attempt of the
 * order is a WeChat trade whose out_trade_no is the order id followed by the attempt's two-digit number, so a
 * notification names its order without a lookup, and every key of an order shares the order's hash tag.
 */
import { createNonce, formatWechatTime } from '@mp-pay/shared/wechatpay';

export const ORDER_ID_RE = /^\d{14}[0-9A-Za-z]{16}$/;
const OUT_TRADE_NO_RE = /^(\d{14}[0-9A-Za-z]{16})(\d{2})$/;
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
const OUT_REFUND_NO_RE = /^(\d{14}[0-9A-Za-z]{16})\d{2}R\d{2}$/;

/** The order an out_refund_no belongs to; undefined for one this server did not mint. */
export function orderIdOfRefund(outRefundNo: string): string | undefined {
  return OUT_REFUND_NO_RE.exec(outRefundNo)?.[1];
}

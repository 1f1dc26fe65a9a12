/**
 * Records <-> flat string maps (the Redis hash layouts of docs/architecture.md), and the opaque pagination cursor.
 * Immutable parts travel as one JSON document; fields that transitions change are hash fields of their own, so
 * the Lua scripts never decode JSON.
 */
import type { OrderLine, OrderStatus } from '@mp-pay/shared/api';
import { ORDER_ID_RE, orderIdOfRefund } from '../domain/ids.ts';
import type { Prepared, TradeState } from '../gateway/types.ts';
import type {
  AttemptEndReason,
  AttemptRecord,
  AttemptState,
  ListPosition as CursorPosition,
  NewAttempt,
  NewOrder,
  NewRefund,
  OrderRecord,
  PaidMessageRecord,
  PaidMessageState,
  RefundRecord,
  RefundRecordState,
  RefundRequestRecord,
  RefundRequestState,
} from './types.ts';

interface OrderDoc {
  description: string;
  items: OrderLine[];
}

export function orderDoc(order: NewOrder): string {
  const doc: OrderDoc = { description: order.description, items: order.items };
  return JSON.stringify(doc);
}

export function orderFromHash(hash: Record<string, string>): OrderRecord | undefined {
  if (!hash.id || !hash.status || !hash.doc) return undefined;
  const doc = JSON.parse(hash.doc) as OrderDoc;
  const order: OrderRecord = {
    id: hash.id,
    userId: hash.userId ?? '',
    status: hash.status as OrderStatus,
    description: doc.description,
    items: doc.items,
    totalFen: Number(hash.totalFen),
    createdAt: Number(hash.createdAt),
    expiresAt: Number(hash.expiresAt),
    currentAttempt: hash.current ?? '',
    attemptCount: Number(hash.attemptCount ?? 0),
  };
  if (hash.paidAttempt) order.paidAttempt = hash.paidAttempt;
  if (hash.paidFen) order.paidFen = Number(hash.paidFen);
  if (hash.paidAt) order.paidAt = Number(hash.paidAt);
  if (hash.transactionId) order.transactionId = hash.transactionId;
  if (hash.paidVia) order.paidVia = hash.paidVia;
  if (hash.closedAt) order.closedAt = Number(hash.closedAt);
  if (hash.closeReason) order.closeReason = hash.closeReason;
  if (hash['rr.state']) {
    const request: RefundRequestRecord = {
      state: hash['rr.state'] as RefundRequestState,
      reason: hash['rr.reason'] ?? '',
      requestedAt: Number(hash['rr.at']),
    };
    if (hash['rr.decidedAt']) request.decidedAt = Number(hash['rr.decidedAt']);
    if (hash['rr.decidedBy']) request.decidedBy = hash['rr.decidedBy'];
    if (hash['rr.refund']) request.refund = hash['rr.refund'];
    order.refundRequest = request;
  }
  if (hash['pm.state']) {
    const message: PaidMessageRecord = {
      state: hash['pm.state'] as PaidMessageState,
      templateId: hash['pm.template'] ?? '',
      answer: hash['pm.answer'] ?? '',
      answeredAt: Number(hash['pm.at']),
      appId: hash['pm.appid'] ?? '',
      openid: hash['pm.openid'] ?? '',
    };
    if (hash['pm.sentAt']) message.sentAt = Number(hash['pm.sentAt']);
    if (hash['pm.reason']) message.reason = hash['pm.reason'];
    if (hash['pm.msgid']) message.msgid = hash['pm.msgid'];
    order.paidMessage = message;
  }
  return order;
}

/** The immutable part of an attempt, stored under the field `<out_trade_no>`. */
export function attemptDoc(attempt: NewAttempt): string {
  return JSON.stringify(attempt);
}

/**
 * Who an attempt pays, written with it by create-order / open-attempt (lib/transition.lua write_parts): its
 * merchant when not the shop's own, then a combine's sub-orders as attempt entries of their own (each with its
 * merchant, amount and the combine it belongs to): the count, then out_trade_no, doc, amount, merchant.
 */
export function subOrderArgs(attempt: NewAttempt): (string | number)[] {
  const subs = subOrderAttempts(attempt);
  const out: (string | number)[] = [attempt.mchid ?? '', subs.length];
  for (const sub of subs) out.push(sub.outTradeNo, attemptDoc(sub), sub.totalFen, sub.mchid ?? '');
  return out;
}

export function subOrderAttempts(attempt: NewAttempt): NewAttempt[] {
  return (attempt.combine?.subOrders ?? []).map((sub) => {
    const { combine: _combine, ...rest } = attempt;
    return {
      ...rest,
      outTradeNo: sub.outTradeNo,
      totalFen: sub.totalFen,
      description: sub.description,
      combineOf: attempt.outTradeNo,
      mchid: sub.mchid,
    };
  });
}

/** Every attempt in an order's attempts hash, oldest first. */
export function attemptsFromHash(hash: Record<string, string>): AttemptRecord[] {
  const out: AttemptRecord[] = [];
  for (const [name, value] of Object.entries(hash)) {
    if (name.includes('.')) continue;
    const attempt = attemptFromHash(hash, name, value);
    if (attempt) out.push(attempt);
  }
  return out.sort((a, b) => a.seq - b.seq);
}

export function attemptFromHash(
  hash: Record<string, string | undefined>,
  outTradeNo: string,
  doc = hash[outTradeNo],
): AttemptRecord | undefined {
  if (doc === undefined) return undefined;
  const f = (field: string) => hash[`${outTradeNo}.${field}`];
  const attempt: AttemptRecord = {
    ...(JSON.parse(doc) as NewAttempt),
    state: (f('state') ?? 'OPEN') as AttemptState,
  };
  const trade = f('trade');
  if (trade) attempt.tradeState = trade as TradeState;
  const end = f('end');
  if (end) attempt.endReason = end as AttemptEndReason;
  const endedAt = f('endedAt');
  if (endedAt) attempt.endedAt = Number(endedAt);
  const prepared = f('prepared');
  if (prepared) attempt.prepared = JSON.parse(prepared) as Prepared;
  // Native mode 1: the prepay_id a scan placed, kept beside the long link (set-scan-prepay.lua).
  const scanPrepay = f('scanPrepay');
  if (scanPrepay) attempt.prepared = { ...attempt.prepared, prepayId: scanPrepay };
  const preparedAt = f('preparedAt');
  if (preparedAt) attempt.preparedAt = Number(preparedAt);
  const tx = f('tx');
  if (tx) attempt.transactionId = tx;
  const paidAt = f('paidAt');
  if (paidAt) attempt.paidAt = Number(paidAt);
  const via = f('via');
  if (via) attempt.paidVia = via;
  const closedAt = f('closedAt');
  if (closedAt) attempt.closedAt = Number(closedAt);
  const partial = f('partial');
  if (partial) attempt.partialFen = Number(partial);
  const subs = f('subs');
  if (subs) attempt.subs = subs.split(',');
  return attempt;
}

/** The hash fields attemptFromHash reads for one attempt (HMGET order). */
export const ATTEMPT_FIELDS = [
  'state',
  'trade',
  'end',
  'endedAt',
  'prepared',
  'preparedAt',
  'tx',
  'paidAt',
  'via',
  'closedAt',
  'scanPrepay',
  'partial',
  'subs',
] as const;

/** The immutable part of a refund the scripts never read, stored under the field `<out_refund_no>`. */
export function refundDoc(refund: NewRefund): string {
  return JSON.stringify({
    reason: refund.reason,
    requestedBy: refund.requestedBy,
    createdAt: refund.createdAt,
  });
}

/** Every refund in an order's refunds hash, oldest first. */
export function refundsFromHash(hash: Record<string, string>): RefundRecord[] {
  const out: RefundRecord[] = [];
  for (const name of Object.keys(hash)) {
    if (name.includes('.')) continue;
    const refund = refundFromHash(hash, name);
    if (refund) out.push(refund);
  }
  return out.sort((a, b) => a.seq - b.seq);
}

export function refundFromHash(
  hash: Record<string, string | undefined>,
  outRefundNo: string,
): RefundRecord | undefined {
  const doc = hash[outRefundNo];
  const orderId = orderIdOfRefund(outRefundNo);
  if (doc === undefined || orderId === undefined) return undefined;
  const f = (field: string) => hash[`${outRefundNo}.${field}`];
  const { reason, requestedBy, createdAt } = JSON.parse(doc) as Pick<
    RefundRecord,
    'reason' | 'requestedBy' | 'createdAt'
  >;
  const refund: RefundRecord = {
    outRefundNo,
    orderId,
    outTradeNo: f('trade') ?? '',
    seq: Number(f('seq')),
    refundFen: Number(f('fen')),
    totalFen: Number(f('total')),
    reason,
    requestedBy,
    createdAt,
    dueAt: Number(f('dueAt')),
    state: (f('state') ?? 'PENDING') as RefundRecordState,
  };
  const refundId = f('refundId');
  if (refundId) refund.refundId = refundId;
  const sentAt = f('sentAt');
  if (sentAt) refund.sentAt = Number(sentAt);
  const settledAt = f('settledAt');
  if (settledAt) refund.settledAt = Number(settledAt);
  return refund;
}

/** The hash fields refundFromHash reads for one refund (HMGET order). */
export const REFUND_FIELDS = [
  'state',
  'fen',
  'trade',
  'seq',
  'dueAt',
  'total',
  'refundId',
  'sentAt',
  'settledAt',
] as const;

export function encodeCursor(position: CursorPosition): string {
  return Buffer.from(`${position.createdAt}:${position.id}`, 'utf8').toString('base64url');
}

/** Undefined for a cursor this server did not issue. */
export function decodeCursor(cursor: string): CursorPosition | undefined {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const match = /^(\d{1,16}):([0-9A-Za-z]{30})$/.exec(text);
  if (!match || !ORDER_ID_RE.test(match[2] as string)) return undefined;
  return { createdAt: Number(match[1]), id: match[2] as string };
}

/** Newest first; equal timestamps ordered by id, descending (Redis ZREVRANGE order). */
export function isAfterCursor(entry: CursorPosition, cursor: CursorPosition): boolean {
  return entry.createdAt < cursor.createdAt || (entry.createdAt === cursor.createdAt && entry.id < cursor.id);
}

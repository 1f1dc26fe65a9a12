import type { V2CallOptions, V2Caller } from './client.ts';
import { WechatPayError } from './errors.ts';
import { parseFen } from './notify.ts';
import { callOptions, checkFen, optionalFen, tradeRefFields } from './refs.ts';
import type { V2Params } from './sign.ts';
import type { XmlMap } from './xml.ts';

/**
 * APIv2 refunds (docs/protocol.md §6, §8): `/secapi/pay/refund` over mutual TLS, `/pay/refundquery`. A refund
 * reply only means "accepted"; the outcome comes by refund notification or refundquery. A failed refund is
 * retried with the SAME out_refund_no: a new one is a second refund.
 */

/** `[0-9A-Za-z_-|*@]{1,64}`, unique per merchant. */
export const OUT_REFUND_NO_RE = /^[0-9A-Za-z_\-|*@]{1,64}$/;

export type RefundRequest = ({ outTradeNo: string } | { transactionId: string }) &
  V2CallOptions & {
    outRefundNo: string;
    /** The paid order's total, fen. */
    totalFee: number;
    /** This refund, fen: at most totalFee (and, over all refunds of the order, at most what was paid). */
    refundFee: number;
    /** Shown to the buyer (≤ 80 characters). */
    refundDesc?: string;
    /** Where the refund notification goes; without it, the one set in the merchant console. */
    notifyUrl?: string;
  };

export interface RefundResult {
  outRefundNo: string;
  /** WeChat's refund id. */
  refundId: string;
  outTradeNo: string;
  transactionId: string;
  refundFee: number;
  totalFee: number | undefined;
  cashFee: number | undefined;
  settlementRefundFee: number | undefined;
  cashRefundFee: number | undefined;
  raw: Readonly<XmlMap>;
}

/** One of these, in WeChat's priority order when several are given: refund_id, out_refund_no, transaction_id, out_trade_no. */
export type RefundQueryRef = (
  { refundId: string } | { outRefundNo: string } | { transactionId: string } | { outTradeNo: string }
) &
  V2CallOptions & {
    /** Skip this many refunds of the order (WeChat lists 10 at a time). */
    offset?: number;
  };

export type RefundEntryStatus = 'SUCCESS' | 'REFUNDCLOSE' | 'PROCESSING' | 'CHANGE';
const REFUND_STATUSES = new Set<string>(['SUCCESS', 'REFUNDCLOSE', 'PROCESSING', 'CHANGE']);

/** One refund of the order, from the `_$n` fields of a refundquery reply. */
export interface RefundEntry {
  outRefundNo: string;
  refundId: string;
  refundFee: number;
  /** SUCCESS; REFUNDCLOSE (closed); PROCESSING; CHANGE (failed to reach the buyer: handle it by hand). */
  status: RefundEntryStatus;
  /** `yyyy-MM-dd HH:mm:ss`, Beijing time, once SUCCESS. */
  successTime: string | undefined;
  /** refund_recv_accout_$n (sic): where the money went, e.g. 支付用户的零钱. */
  recvAccount: string | undefined;
}

export interface RefundQueryResult {
  outTradeNo: string;
  transactionId: string;
  totalFee: number | undefined;
  cashFee: number | undefined;
  /** Refunds listed in this reply. */
  refundCount: number;
  /** All refunds of the order, when WeChat says (more than refundCount means: query again with an offset). */
  totalRefundCount: number | undefined;
  refunds: RefundEntry[];
  raw: Readonly<XmlMap>;
}

/** At most 50 partial refunds per payment; anything above this is a broken reply, not a long list. */
const MAX_REFUND_COUNT = 100;

export async function refund(client: V2Caller, req: RefundRequest): Promise<RefundResult> {
  checkFen(req.totalFee, 'refund: totalFee');
  checkFen(req.refundFee, 'refund: refundFee');
  if (req.refundFee > req.totalFee) throw new RangeError('refund: refundFee cannot exceed totalFee');
  if (!OUT_REFUND_NO_RE.test(req.outRefundNo)) {
    throw new RangeError('refund: outRefundNo must be 1-64 characters of [0-9A-Za-z_-|*@]');
  }
  const raw = await client.request(
    '/secapi/pay/refund',
    {
      ...tradeRefFields(req),
      out_refund_no: req.outRefundNo,
      total_fee: req.totalFee,
      refund_fee: req.refundFee,
      refund_desc: req.refundDesc,
      notify_url: req.notifyUrl,
    },
    { ...callOptions(req), clientCertificate: true },
  );
  if (!raw.refund_id) throw new WechatPayError('BAD_REPLY', 'refund accepted without a refund_id', raw);
  return {
    outRefundNo: raw.out_refund_no || req.outRefundNo,
    refundId: raw.refund_id,
    outTradeNo: raw.out_trade_no ?? ('outTradeNo' in req ? req.outTradeNo : ''),
    transactionId: raw.transaction_id ?? ('transactionId' in req ? req.transactionId : ''),
    refundFee: parseFen(raw.refund_fee, 'refund_fee', raw),
    totalFee: optionalFen(raw, 'total_fee'),
    cashFee: optionalFen(raw, 'cash_fee'),
    settlementRefundFee: optionalFen(raw, 'settlement_refund_fee'),
    cashRefundFee: optionalFen(raw, 'cash_refund_fee'),
    raw,
  };
}

export async function refundQuery(client: V2Caller, ref: RefundQueryRef): Promise<RefundQueryResult> {
  if (ref.offset !== undefined && (!Number.isSafeInteger(ref.offset) || ref.offset < 0)) {
    throw new RangeError('refundQuery: offset must be a non-negative integer');
  }
  const raw = await client.request(
    '/pay/refundquery',
    { ...refundRefFields(ref), offset: ref.offset },
    callOptions(ref),
  );
  const refundCount = count(raw, 'refund_count');
  const refunds: RefundEntry[] = [];
  for (let n = 0; n < refundCount; n++) refunds.push(refundEntry(raw, n));
  return {
    outTradeNo: raw.out_trade_no ?? '',
    transactionId: raw.transaction_id ?? '',
    totalFee: optionalFen(raw, 'total_fee'),
    cashFee: optionalFen(raw, 'cash_fee'),
    refundCount,
    totalRefundCount: raw.total_refund_count === undefined ? undefined : count(raw, 'total_refund_count'),
    refunds,
    raw,
  };
}

function refundRefFields(ref: RefundQueryRef): V2Params {
  if ('refundId' in ref && ref.refundId) return { refund_id: ref.refundId };
  if ('outRefundNo' in ref && ref.outRefundNo) return { out_refund_no: ref.outRefundNo };
  return tradeRefFields(ref);
}

function refundEntry(raw: XmlMap, n: number): RefundEntry {
  const outRefundNo = raw[`out_refund_no_${n}`];
  const refundId = raw[`refund_id_${n}`];
  const status = raw[`refund_status_${n}`] ?? '';
  if (!outRefundNo || !refundId) {
    throw new WechatPayError('BAD_REPLY', `refundquery lacks out_refund_no_${n} or refund_id_${n}`, raw);
  }
  if (!REFUND_STATUSES.has(status)) {
    throw new WechatPayError(
      'BAD_REPLY',
      `refundquery returned unknown refund_status_${n} ${status || '(none)'}`,
      raw,
    );
  }
  return {
    outRefundNo,
    refundId,
    refundFee: parseFen(raw[`refund_fee_${n}`], `refund_fee_${n}`, raw),
    status: status as RefundEntryStatus,
    successTime: raw[`refund_success_time_${n}`] || undefined,
    recvAccount: raw[`refund_recv_accout_${n}`] || undefined,
  };
}

function count(raw: XmlMap, field: string): number {
  const text = raw[field] ?? '';
  const value = /^\d{1,3}$/.test(text) ? Number(text) : NaN;
  if (!(value <= MAX_REFUND_COUNT)) {
    throw new WechatPayError('BAD_REPLY', `refundquery returned a bad ${field}: ${text || '(none)'}`, raw);
  }
  return value;
}

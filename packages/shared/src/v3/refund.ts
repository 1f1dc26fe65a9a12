import { WechatPayV3BadMessageError } from './errors.ts';
import { isRecord } from './reply-errors.ts';

/** A v3 refund's state: `status` in replies, `refund_status` in REFUND.* notification resources (§8). */
export type V3RefundStatus = 'SUCCESS' | 'PROCESSING' | 'CLOSED' | 'ABNORMAL';
const STATUSES = new Set<string>(['SUCCESS', 'PROCESSING', 'CLOSED', 'ABNORMAL']);

/** One refund as the refund reply, the refund query and the refund notification's resource describe it. */
export interface V3Refund {
  outRefundNo: string;
  refundId: string | undefined;
  /** Present in notification resources (whose merchant the caller must check); absent from replies. */
  mchid: string | undefined;
  status: V3RefundStatus;
  /** Fen; undefined when WeChat left the amount out. */
  refundFen: number | undefined;
  /** RFC 3339, as WeChat wrote it; undefined until SUCCESS. */
  successTime: string | undefined;
  raw: Readonly<Record<string, unknown>>;
}

export interface V3RefundRequest {
  outTradeNo: string;
  outRefundNo: string;
  refundFen: number;
  totalFen: number;
  reason?: string;
  notifyUrl?: string;
}

/** The body of POST /v3/refund/domestic/refunds (amounts in fen, CNY). */
export function v3RefundBody(req: V3RefundRequest): Record<string, unknown> {
  return {
    out_trade_no: req.outTradeNo,
    out_refund_no: req.outRefundNo,
    ...(req.reason === undefined ? {} : { reason: req.reason }),
    ...(req.notifyUrl === undefined ? {} : { notify_url: req.notifyUrl }),
    amount: { refund: req.refundFen, total: req.totalFen, currency: 'CNY' },
  };
}

/** Reads a refund reply or a REFUND.* resource; throws WechatPayV3BadMessageError when it is not one. */
export function parseV3Refund(value: unknown): V3Refund {
  if (!isRecord(value)) throw new WechatPayV3BadMessageError('refund: not a JSON object');
  const outRefundNo = value.out_refund_no;
  if (typeof outRefundNo !== 'string' || outRefundNo === '') {
    throw new WechatPayV3BadMessageError('refund: no out_refund_no');
  }
  const status = String(value.status ?? value.refund_status);
  if (!STATUSES.has(status)) throw new WechatPayV3BadMessageError(`refund: unknown status ${status}`);
  const amount = isRecord(value.amount) ? value.amount.refund : undefined;
  if (amount !== undefined && !(Number.isSafeInteger(amount) && (amount as number) >= 0)) {
    throw new WechatPayV3BadMessageError('refund: amount.refund is not a whole number of fen');
  }
  return {
    outRefundNo,
    refundId: typeof value.refund_id === 'string' ? value.refund_id : undefined,
    mchid: typeof value.mchid === 'string' ? value.mchid : undefined,
    status: status as V3RefundStatus,
    refundFen: amount as number | undefined,
    successTime: typeof value.success_time === 'string' ? value.success_time : undefined,
    raw: value,
  };
}

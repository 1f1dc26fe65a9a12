/**
 * The shapes of a WeChat Pay trade bill (对账单), the same for APIv2 `downloadbill` and APIv3 `tradebill`.
 * Amounts are integer fen; the fee (手续费) and rate (费率) stay text as printed, because WeChat prints the fee
 * with 5 decimals of yuan (a fraction of a fen). Format facts: docs/protocol.md §8 "Bills".
 */
export type BillType = 'ALL' | 'SUCCESS' | 'REFUND';

/** `current` ends with 订单金额,申请退款金额,费率备注 (ALL / REFUND) or 订单金额,费率备注 (SUCCESS); `legacy` at 手续费,费率. */
export type BillColumns = 'current' | 'legacy';

export const BILL_TYPES: readonly BillType[] = ['ALL', 'SUCCESS', 'REFUND'];

/** One line of a trade bill. Columns a bill does not print (refund columns of a SUCCESS bill) are '' / 0. */
export interface BillRow {
  /** 'yyyy-MM-dd HH:mm:ss', Beijing time, as printed. */
  tradeTime: string;
  appId: string;
  mchId: string;
  subMchId: string;
  deviceInfo: string;
  transactionId: string;
  outTradeNo: string;
  openid: string;
  tradeType: string;
  /** SUCCESS | REFUND | NOTPAY | CLOSED | REVOKED | USERPAYING | PAYERROR, as printed. */
  tradeState: string;
  bank: string;
  currency: string;
  settlementTotalFen: number;
  couponFen: number;
  refundId: string;
  outRefundNo: string;
  refundFen: number;
  couponRefundFen: number;
  refundType: string;
  /** SUCCESS | PROCESSING | FAIL / CLOSED …, as printed. */
  refundStatus: string;
  body: string;
  attach: string;
  /** 手续费 in yuan as printed ('0.00600', '-0.00600'). */
  fee: string;
  /** 费率 as printed ('0.60%'). */
  rate: string;
  /** 订单金额 (current column set only). */
  totalFen?: number;
  /** 申请退款金额 (current ALL / REFUND bills only). */
  requestedRefundFen?: number;
  /** 费率备注 (current column set only). */
  rateNote?: string;
}

/** The closing line of a bill (总交易单数,应结订单总金额,…). */
export interface BillSummary {
  count: number;
  settlementTotalFen: number;
  refundTotalFen: number;
  couponRefundTotalFen: number;
  /** 手续费总金额 as printed (5 decimals of yuan). */
  fee: string;
  /** 订单总金额 (current column set only). */
  totalFen?: number;
  /** 申请退款总金额 (current column set only). */
  requestedRefundTotalFen?: number;
}

/** A bill that does not follow the published format; `line` is 1-based (0 when the bill ended too early). */
export class BillFormatError extends Error {
  override readonly name = 'BillFormatError';
  readonly line: number;
  constructor(line: number, message: string) {
    super(line > 0 ? `bill line ${line}: ${message}` : `bill: ${message}`);
    this.line = line;
  }
}

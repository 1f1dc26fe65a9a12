import type { BillColumns, BillRow, BillSummary, BillType } from './types.ts';

/**
 * The column names of a trade bill, and where each lands in a BillRow (docs/protocol.md §8 "Bills"). A SUCCESS
 * bill leaves out the six refund columns and 申请退款金额; the legacy set stops at 手续费,费率.
 */
type TextKey = {
  [K in keyof BillRow]-?: NonNullable<BillRow[K]> extends string ? K : never;
}[keyof BillRow];
type FenKey = {
  [K in keyof BillRow]-?: NonNullable<BillRow[K]> extends number ? K : never;
}[keyof BillRow];

export type BillColumn =
  { name: string; key: TextKey; kind: 'text' } | { name: string; key: FenKey; kind: 'fen' };

const text = (name: string, key: TextKey): BillColumn => ({ name, key, kind: 'text' });
const fen = (name: string, key: FenKey): BillColumn => ({ name, key, kind: 'fen' });

const HEAD = [
  text('交易时间', 'tradeTime'),
  text('公众账号ID', 'appId'),
  text('商户号', 'mchId'),
  text('特约商户号', 'subMchId'),
  text('设备号', 'deviceInfo'),
  text('微信订单号', 'transactionId'),
  text('商户订单号', 'outTradeNo'),
  text('用户标识', 'openid'),
  text('交易类型', 'tradeType'),
  text('交易状态', 'tradeState'),
  text('付款银行', 'bank'),
  text('货币种类', 'currency'),
  fen('应结订单金额', 'settlementTotalFen'),
  fen('代金券金额', 'couponFen'),
];
const REFUND = [
  text('微信退款单号', 'refundId'),
  text('商户退款单号', 'outRefundNo'),
  fen('退款金额', 'refundFen'),
  fen('充值券退款金额', 'couponRefundFen'),
  text('退款类型', 'refundType'),
  text('退款状态', 'refundStatus'),
];
const TAIL = [
  text('商品名称', 'body'),
  text('商户数据包', 'attach'),
  text('手续费', 'fee'),
  text('费率', 'rate'),
];

/** The columns of one bill type and column set, in printed order. */
export function billColumns(type: BillType, columns: BillColumns): BillColumn[] {
  const withRefunds = type !== 'SUCCESS';
  const base = [...HEAD, ...(withRefunds ? REFUND : []), ...TAIL];
  if (columns === 'legacy') return base;
  return [
    ...base,
    fen('订单金额', 'totalFen'),
    ...(withRefunds ? [fen('申请退款金额', 'requestedRefundFen')] : []),
    text('费率备注', 'rateNote'),
  ];
}

/** Every known column by its printed name. */
export const COLUMN_BY_NAME: ReadonlyMap<string, BillColumn> = new Map(
  billColumns('ALL', 'current').map((column) => [column.name, column]),
);

export type SummaryKey = keyof BillSummary;
export const SUMMARY_COLUMNS: readonly { name: string; key: SummaryKey; kind: 'count' | 'fen' | 'fee' }[] = [
  { name: '总交易单数', key: 'count', kind: 'count' },
  { name: '应结订单总金额', key: 'settlementTotalFen', kind: 'fen' },
  { name: '退款总金额', key: 'refundTotalFen', kind: 'fen' },
  { name: '充值券退款总金额', key: 'couponRefundTotalFen', kind: 'fen' },
  { name: '手续费总金额', key: 'fee', kind: 'fee' },
  { name: '订单总金额', key: 'totalFen', kind: 'fen' },
  { name: '申请退款总金额', key: 'requestedRefundTotalFen', kind: 'fen' },
];

/** The summary header starts with this name; nothing else does. */
export const SUMMARY_FIRST = '总交易单数';

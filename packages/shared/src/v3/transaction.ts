import { WechatPayV3BadMessageError } from './errors.ts';
import { isRecord } from './reply-errors.ts';
import { parseV3Time } from './time.ts';

/** trade_state of a v3 order (docs/protocol.md §7 "Query reply"). */
export type V3TradeState =
  'SUCCESS' | 'REFUND' | 'NOTPAY' | 'CLOSED' | 'REVOKED' | 'USERPAYING' | 'PAYERROR' | 'ACCEPT';

export const V3_TRADE_STATES: readonly V3TradeState[] = [
  'SUCCESS',
  'REFUND',
  'NOTPAY',
  'CLOSED',
  'REVOKED',
  'USERPAYING',
  'PAYERROR',
  'ACCEPT',
];

/**
 * One order as the query reply and the TRANSACTION.SUCCESS resource describe it (both carry the same
 * transaction object). Amounts are fen. `raw` keeps every field, unknown ones too (promotion_detail, scene_info).
 */
export interface V3Transaction {
  appid: string;
  mchid: string;
  outTradeNo: string;
  /** Empty until paid (a NOTPAY order has none). */
  transactionId: string;
  tradeState: V3TradeState;
  tradeStateDesc: string | undefined;
  tradeType: string | undefined;
  bankType: string | undefined;
  attach: string | undefined;
  /** RFC 3339, as WeChat wrote it; undefined until paid. */
  successTime: string | undefined;
  payer: { openid: string } | undefined;
  amount: {
    total: number;
    payerTotal: number | undefined;
    currency: string;
    payerCurrency: string | undefined;
  };
  raw: Readonly<Record<string, unknown>>;
}

/**
 * Validates and types a transaction object. A paid one (SUCCESS, REFUND) must name its transaction_id,
 * success_time and amount.total, or it is not something to ship goods on.
 */
export function parseV3Transaction(data: unknown): V3Transaction {
  const bad = (why: string) => new WechatPayV3BadMessageError(`transaction ${why}`);
  if (!isRecord(data)) throw bad('is not an object');
  const tradeState = data.trade_state;
  if (!V3_TRADE_STATES.includes(tradeState as V3TradeState))
    throw bad(`has an unknown trade_state ${String(tradeState)}`);
  const amount = isRecord(data.amount) ? data.amount : undefined;
  const payer = isRecord(data.payer) ? data.payer : undefined;
  const total = amount?.total;
  if (!isFen(total)) throw bad('lacks amount.total in fen');
  const text = (name: string): string | undefined => {
    const value = data[name];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'string') throw bad(`has a non-text ${name}`);
    return value;
  };
  const appid = text('appid');
  const mchid = text('mchid');
  const outTradeNo = text('out_trade_no');
  if (!appid || !mchid || !outTradeNo) throw bad('lacks appid, mchid or out_trade_no');
  const paid = tradeState === 'SUCCESS' || tradeState === 'REFUND';
  const transactionId = text('transaction_id') ?? '';
  const successTime = text('success_time');
  if (paid && (!transactionId || !successTime || !parseV3Time(successTime))) {
    throw bad('is paid but lacks transaction_id or an RFC 3339 success_time');
  }
  const payerTotal = amount?.payer_total;
  if (payerTotal !== undefined && !isFen(payerTotal)) throw bad('has a malformed amount.payer_total');
  const openid = payer?.openid;
  if (openid !== undefined && typeof openid !== 'string') throw bad('has a non-text payer.openid');
  return {
    appid,
    mchid,
    outTradeNo,
    transactionId,
    tradeState: tradeState as V3TradeState,
    tradeStateDesc: text('trade_state_desc'),
    tradeType: text('trade_type'),
    bankType: text('bank_type'),
    attach: text('attach'),
    successTime,
    payer: openid ? { openid } : undefined,
    amount: {
      total: total as number,
      payerTotal: payerTotal as number | undefined,
      currency: typeof amount?.currency === 'string' ? amount.currency : 'CNY',
      payerCurrency: typeof amount?.payer_currency === 'string' ? amount.payer_currency : undefined,
    },
    raw: data,
  };
}

function isFen(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/**
 * The reconciliation benchmark's day (issue 14): N payments recorded here, and WeChat's ALL bill of the same
 * day with a known set of discrepancies sprinkled in. Everything is a pure function of the index, so the seeder
 * (Redis), the bill writer (gzip file) and the checker agree without passing a million records around.
 *
 * Ledger index i (0 ≤ i < N) is one paid order. In the bill:
 *   i % 5000 === 1   the payment row is missing            → here_not_at_wechat  (N / 5000)
 *   i % 10000 === 7  the row's amount is one fen more      → amount_mismatch     (N / 10000)
 *   i % 10000 === 3  followed by a console refund's row    → refund_unknown_here (N / 10000, recorded)
 *   i % 10000 === 9  followed by a row of a trade not ours → paid_not_here       (N / 10000, repair none)
 * so the bill has N − N/5000 + 2·N/10000 = N rows.
 */
import { microYuanToFee, type BillRow } from '@mp-pay/shared/bills';
import { SANDBOX_DEMO } from '@mp-pay/shared/wechatpay';
import { BENCH_OPENID } from '../lib/notification.ts';
import { amountFor, orderIdFor, orderNo } from '../lib/workload.ts';

export const BENCH_DATE = '2026-01-15';
/** Beijing midnight of BENCH_DATE (UTC+8, no DST). */
export const DAY_START = Date.parse(`${BENCH_DATE}T00:00:00+08:00`);

export const isMissing = (i: number) => i % 5000 === 1;
export const isMismatch = (i: number) => i % 10000 === 7;
export const hasConsoleRefund = (i: number) => i % 10000 === 3;
export const hasForeignTrade = (i: number) => i % 10000 === 9;

/** A second run id: its out_trade_nos have the server's shape but no attempt here. */
const FOREIGN = 'zz';

export interface Day {
  runId: string;
  count: number;
}

/** When payment i was made: spread over the day, 86.4 ms apart for a million. */
export function paidAt(day: Day, i: number): number {
  return DAY_START + Math.floor((i * 86_000_000) / day.count) + 1000;
}

export function transactionIdOf(i: number): string {
  return `4200${String(i).padStart(24, '0')}`;
}

function beijingText(at: number): string {
  return new Date(at + 8 * 3_600_000).toISOString().slice(0, 19).replace('T', ' ');
}

const feeOf = (fen: number) => microYuanToFee(fen * 60); // 0.6 % of the amount, in millionths of a yuan

function paymentRow(outTradeNo: string, transactionId: string, fen: number, at: number): BillRow {
  return {
    tradeTime: beijingText(at),
    appId: SANDBOX_DEMO.appId,
    mchId: SANDBOX_DEMO.mchId,
    subMchId: '',
    deviceInfo: '',
    transactionId,
    outTradeNo,
    openid: BENCH_OPENID,
    tradeType: 'JSAPI',
    tradeState: 'SUCCESS',
    bank: 'OTHERS',
    currency: 'CNY',
    settlementTotalFen: fen,
    couponFen: 0,
    refundId: '',
    outRefundNo: '',
    refundFen: 0,
    couponRefundFen: 0,
    refundType: '',
    refundStatus: '',
    body: 'Bench order',
    attach: '',
    fee: feeOf(fen),
    rate: '0.60%',
    totalFen: fen,
    requestedRefundFen: 0,
    rateNote: '',
  };
}

export const consoleRefundNo = (day: Day, i: number) => `${orderNo(day.runId, i)}C01`;

/** The bill's rows, in order (a generator: a million rows are never held at once). */
export function* billRows(day: Day): Generator<BillRow> {
  for (let i = 0; i < day.count; i++) {
    const at = paidAt(day, i);
    if (!isMissing(i)) {
      const fen = amountFor(i) + (isMismatch(i) ? 1 : 0);
      yield paymentRow(orderNo(day.runId, i), transactionIdOf(i), fen, at);
    }
    if (hasConsoleRefund(i)) {
      yield {
        ...paymentRow(orderNo(day.runId, i), transactionIdOf(i), 0, at + 10),
        tradeState: 'REFUND',
        totalFen: 0,
        refundId: `5030${String(i).padStart(24, '0')}`,
        outRefundNo: consoleRefundNo(day, i),
        refundFen: 1,
        requestedRefundFen: 1,
        refundType: 'ORIGINAL',
        refundStatus: 'SUCCESS',
        fee: '-0.00006',
      };
    }
    if (hasForeignTrade(i)) {
      yield paymentRow(orderNo(FOREIGN, i), `4201${String(i).padStart(24, '0')}`, amountFor(i), at + 20);
    }
  }
}

/** What the report must find, exactly. */
export function expected(day: Day): {
  counts: Record<string, number>;
  items: Map<string, string>;
} {
  const items = new Map<string, string>(); // repairKey → category
  for (let i = 0; i < day.count; i++) {
    if (isMissing(i)) items.set(`payment:${orderNo(day.runId, i)}`, 'here_not_at_wechat');
    else if (isMismatch(i)) items.set(`payment:${orderNo(day.runId, i)}`, 'amount_mismatch');
    if (hasConsoleRefund(i)) items.set(`refund:${consoleRefundNo(day, i)}`, 'refund_unknown_here');
    if (hasForeignTrade(i)) items.set(`payment:${orderNo(FOREIGN, i)}`, 'paid_not_here');
  }
  const counts: Record<string, number> = {
    matched: 0,
    paid_not_here: 0,
    here_not_at_wechat: 0,
    amount_mismatch: 0,
    refund_unknown_here: 0,
    refund_mismatch: 0,
  };
  for (const category of items.values()) counts[category] = (counts[category] ?? 0) + 1;
  let missing = 0;
  for (let i = 0; i < day.count; i++) if (isMissing(i)) missing++;
  counts.matched = day.count - missing - (counts.amount_mismatch ?? 0);
  return { counts, items };
}

export { amountFor, orderIdFor, orderNo };

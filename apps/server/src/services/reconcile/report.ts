/**
 * The reconciliation report of one Beijing day (docs/reconciliation.md "Reports"): JSON for machines, CSV for
 * finance, a few lines for the terminal. It holds no run time, so reconciling a day again that found the same
 * things gives byte-identical JSON (the store emits `reconciliation.completed` only when it changed).
 */
import { fenToYuan, type BillSummary } from '@mp-pay/shared/bills';

/**
 *  matched              payment or refund the same here and in the bill
 *  paid_not_here        paid at WeChat, not PAID here: repaired through orderquery and the exactly-once path
 *  here_not_at_wechat   paid (or refunded) here on that day, absent from the bill
 *  amount_mismatch      the bill's amount (or transaction id) differs from the payment attempt's
 *  refund_unknown_here  a refund in the bill the shop never asked for: recorded as a staff (console) refund
 *  refund_mismatch      a refund of ours whose amount or state differs from the bill
 */
export const CATEGORIES = [
  'matched',
  'paid_not_here',
  'here_not_at_wechat',
  'amount_mismatch',
  'refund_unknown_here',
  'refund_mismatch',
] as const;
export type Category = (typeof CATEGORIES)[number];
export type Discrepancy = Exclude<Category, 'matched'>;

/**
 * What reconciliation did about an item. `repaired` / `recorded`: this run or an earlier run of the same day did
 * it through an exactly-once transition (a re-run reports it the same way and changes nothing); `failed`: the
 * repair was tried and did not go through (see `note`); `none`: needs a person.
 */
export type Repair = 'repaired' | 'recorded' | 'failed' | 'none';

export interface ReportItem {
  category: Discrepancy;
  kind: 'payment' | 'refund';
  outTradeNo: string;
  transactionId?: string;
  outRefundNo?: string;
  refundId?: string;
  /** The amount WeChat's bill shows (fen); absent when the bill does not have the item. */
  billFen?: number;
  /** The amount recorded here (fen); absent when unknown here. */
  ledgerFen?: number;
  repair: Repair;
  note?: string;
}

export interface ReportTotals {
  /** The bill's own summary line (null: no bill for that day). */
  bill: BillSummary | null;
  /** The same sums over the bill's rows. */
  rows: BillSummary | null;
  /** Whether the summary line equals the rows' sums. */
  summaryMatches: boolean;
  /** Payments (SUCCESS rows) and refunds (REFUND rows) in the bill, fen. */
  billPaymentsFen: number;
  billRefundsFen: number;
  /** What the ledger holds for the day (after repairs): payments and refunds, fen. */
  ledgerPaymentsFen: number;
  ledgerRefundsFen: number;
}

export interface ReconciliationReport {
  date: string;
  merchant: string;
  /** True when every discrepancy count is 0 and the summary line matches the rows. */
  clean: boolean;
  counts: Record<Category, number>;
  totals: ReportTotals;
  /** Sorted by kind, out_trade_no, out_refund_no: the same report for the same findings. */
  items: ReportItem[];
  /** The oldest event the ledger still held (event streams are trimmed, docs/reconciliation.md). */
  ledgerSince: string | null;
}

export function emptyCounts(): Record<Category, number> {
  return Object.fromEntries(CATEGORIES.map((c) => [c, 0])) as Record<Category, number>;
}

const CSV_COLUMNS = [
  'date',
  'category',
  'kind',
  'out_trade_no',
  'transaction_id',
  'out_refund_no',
  'refund_id',
  'bill_yuan',
  'ledger_yuan',
  'repair',
  'note',
] as const;

function yuan(fen: number | undefined): string {
  return fen === undefined ? '' : fenToYuan(fen);
}

/** RFC 4180 quoting; a leading = + - @ is prefixed with ' so a spreadsheet never runs it as a formula. */
function cell(value: string): string {
  const safe = /^[=+\-@]/.test(value) && !/^-?\d/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

/** One line per discrepancy, then the totals; amounts in yuan (finance reads yuan). */
export function reportCsv(report: ReconciliationReport): string {
  const lines = [CSV_COLUMNS.join(',')];
  for (const item of report.items) {
    lines.push(
      [
        report.date,
        item.category,
        item.kind,
        item.outTradeNo,
        item.transactionId ?? '',
        item.outRefundNo ?? '',
        item.refundId ?? '',
        yuan(item.billFen),
        yuan(item.ledgerFen),
        item.repair,
        item.note ?? '',
      ]
        .map(cell)
        .join(','),
    );
  }
  const t = report.totals;
  lines.push(
    [
      report.date,
      'total_payments',
      '',
      '',
      '',
      '',
      '',
      yuan(t.billPaymentsFen),
      yuan(t.ledgerPaymentsFen),
      '',
      '',
    ]
      .map(cell)
      .join(','),
    [
      report.date,
      'total_refunds',
      '',
      '',
      '',
      '',
      '',
      yuan(t.billRefundsFen),
      yuan(t.ledgerRefundsFen),
      '',
      '',
    ]
      .map(cell)
      .join(','),
  );
  return `${lines.join('\r\n')}\r\n`;
}

/** A few lines for the terminal. */
export function reportSummary(report: ReconciliationReport): string {
  const c = report.counts;
  const t = report.totals;
  const out = [
    `Reconciliation ${report.date} (merchant ${report.merchant}): ${report.clean ? 'CLEAN' : 'DISCREPANCIES'}`,
    `  matched ${c.matched}  paid_not_here ${c.paid_not_here}  here_not_at_wechat ${c.here_not_at_wechat}  ` +
      `amount_mismatch ${c.amount_mismatch}  refund_unknown_here ${c.refund_unknown_here}  ` +
      `refund_mismatch ${c.refund_mismatch}`,
    t.bill === null
      ? '  bill: none for that day (No Bill Exist)'
      : `  bill: ${t.bill.count} rows, payments ${yuan(t.billPaymentsFen)} yuan, refunds ${yuan(t.billRefundsFen)} yuan; ` +
        `summary line ${t.summaryMatches ? 'matches' : 'DOES NOT match'} the rows`,
    `  ledger: payments ${yuan(t.ledgerPaymentsFen)} yuan, refunds ${yuan(t.ledgerRefundsFen)} yuan`,
  ];
  for (const item of report.items) {
    const amounts = `bill ${yuan(item.billFen) || '-'} / here ${yuan(item.ledgerFen) || '-'}`;
    out.push(
      `  ${item.category} ${item.kind} ${item.outRefundNo ?? item.outTradeNo} (${amounts}) repair: ${item.repair}` +
        (item.note ? ` — ${item.note}` : ''),
    );
  }
  return out.join('\n');
}

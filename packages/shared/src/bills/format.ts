import { feeToMicroYuan, fenToYuan, microYuanToFee } from './amount.ts';
import { billColumns, SUMMARY_COLUMNS } from './columns.ts';
import type { BillColumns, BillRow, BillSummary, BillType } from './types.ts';

/** Which rows a bill of each type lists: SUCCESS the day's payments, REFUND the day's refunds, ALL both. */
export function rowInBill(row: BillRow, type: BillType): boolean {
  if (type === 'SUCCESS') return row.tradeState === 'SUCCESS';
  if (type === 'REFUND') return row.tradeState === 'REFUND';
  return true;
}

/** The summary line WeChat prints under these rows: sums of the printed amounts, the fee to 5 decimals. */
export function billSummaryOf(rows: Iterable<BillRow>): BillSummary {
  const summary = {
    count: 0,
    settlementTotalFen: 0,
    refundTotalFen: 0,
    couponRefundTotalFen: 0,
    totalFen: 0,
    requestedRefundTotalFen: 0,
  };
  let feeMicro = 0;
  for (const row of rows) {
    summary.count += 1;
    summary.settlementTotalFen += row.settlementTotalFen;
    summary.refundTotalFen += row.refundFen;
    summary.couponRefundTotalFen += row.couponRefundFen;
    summary.totalFen += row.totalFen ?? 0;
    summary.requestedRefundTotalFen += row.requestedRefundFen ?? 0;
    feeMicro += row.fee === '' ? 0 : feeToMicroYuan(row.fee);
  }
  return { ...summary, fee: microYuanToFee(feeMicro) };
}

/**
 * A bill as WeChat publishes it (docs/protocol.md §8 "Bills"): header, one backtick-prefixed line per row, the
 * summary header and the backtick-prefixed summary line, each ended by CRLF. Rows not in the bill type are left
 * out. Fields are printed as they are: a value containing ",`" would not survive, and WeChat's fields never do.
 */
export function formatBill(
  rows: Iterable<BillRow>,
  options: { type: BillType; columns?: BillColumns },
): string {
  const columns = billColumns(options.type, options.columns ?? 'current');
  const kept = [...rows].filter((row) => rowInBill(row, options.type));
  const lines = [columns.map((column) => column.name).join(',')];
  for (const row of kept) {
    const values = columns.map((column) => {
      if (column.kind === 'text') return row[column.key] ?? '';
      return fenToYuan(row[column.key] ?? 0);
    });
    lines.push(backticked(values));
  }
  const summary = billSummaryOf(kept);
  const summaryColumns = SUMMARY_COLUMNS.slice(0, options.columns === 'legacy' ? 5 : 7);
  lines.push(summaryColumns.map((column) => column.name).join(','));
  lines.push(
    backticked(
      summaryColumns.map((column) => {
        const value = summary[column.key];
        if (column.kind === 'count') return String(value);
        if (column.kind === 'fee') return String(value);
        return fenToYuan(Number(value ?? 0));
      }),
    ),
  );
  return lines.join('\r\n') + '\r\n';
}

function backticked(values: readonly string[]): string {
  return values.map((value) => '`' + value).join(',');
}

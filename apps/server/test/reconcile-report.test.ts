/** The report's CSV and terminal forms (src/services/reconcile/report.ts). */
import { describe, expect, it } from 'vitest';
import {
  emptyCounts,
  reportCsv,
  reportSummary,
  type ReconciliationReport,
} from '../src/services/reconcile/index.ts';

const report = (): ReconciliationReport => ({
  date: '2026-11-30',
  merchant: '1900000109',
  clean: false,
  counts: { ...emptyCounts(), matched: 2, amount_mismatch: 1 },
  totals: {
    bill: null,
    rows: null,
    summaryMatches: true,
    billPaymentsFen: 30_001,
    billRefundsFen: 5,
    ledgerPaymentsFen: 30_000,
    ledgerRefundsFen: 0,
  },
  items: [
    {
      category: 'amount_mismatch',
      kind: 'payment',
      outTradeNo: '20261130101010ABCDEFGHIJKLMNOP01',
      transactionId: '4200000001',
      billFen: 30_001,
      ledgerFen: 30_000,
      repair: 'none',
      note: '=HYPERLINK("http://x","y"), a note',
    },
  ],
  ledgerSince: null,
});

describe('reconciliation report', () => {
  it('writes CSV in yuan, quoted, with formulas defused', () => {
    const lines = reportCsv(report()).split('\r\n');
    expect(lines[0]).toBe(
      'date,category,kind,out_trade_no,transaction_id,out_refund_no,refund_id,bill_yuan,ledger_yuan,repair,note',
    );
    expect(lines[1]).toBe(
      '2026-11-30,amount_mismatch,payment,20261130101010ABCDEFGHIJKLMNOP01,4200000001,,,300.01,300.00,none,' +
        `"'=HYPERLINK(""http://x"",""y""), a note"`,
    );
    expect(lines[2]).toBe('2026-11-30,total_payments,,,,,,300.01,300.00,,');
    expect(lines[3]).toBe('2026-11-30,total_refunds,,,,,,0.05,0.00,,');
    expect(lines[4]).toBe('');
  });

  it('prints a short summary naming each discrepancy', () => {
    const text = reportSummary(report());
    expect(text).toContain('Reconciliation 2026-11-30 (merchant 1900000109): DISCREPANCIES');
    expect(text).toContain('matched 2  paid_not_here 0');
    expect(text).toContain('bill: none for that day');
    expect(text).toMatch(
      /amount_mismatch payment 20261130101010ABCDEFGHIJKLMNOP01 \(bill 300\.01 \/ here 300\.00\)/,
    );
  });
});

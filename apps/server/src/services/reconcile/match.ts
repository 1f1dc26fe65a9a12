/**
 * Matching one day's bill against the ledger (docs/reconciliation.md "Categories"), and the repairs: a payment
 * WeChat has and we do not is asked about with orderquery and recorded by the same exactly-once transition as a
 * notification (services/payments.ts reconcileAttempt → mark-paid); a refund the shop never asked for is recorded
 * once by record-external-refund. Nothing here writes a record directly.
 */
import {
  feeToMicroYuan,
  microYuanToFee,
  type BillEntry,
  type BillRow,
  type BillSummary,
} from '@mp-pay/shared/bills';
import type { AppContext } from '../../context.ts';
import { beijingTime } from '../../domain/beijing-date.ts';
import { orderIdOf } from '../../domain/ids.ts';
import type { Logger } from '../../logger.ts';
import type { AttemptRecord } from '../../store/index.ts';
import { reconcileAttempt } from '../payments.ts';
import { reconcileRefund } from '../refunds.ts';
import { paymentKey, paymentOfKey, type LedgerDay } from './ledger.ts';
import { emptyCounts, type ReconciliationReport, type ReportItem, type Repair } from './report.ts';

/** Rows matched concurrently. */
const BATCH = 256;

/** A row waiting for its store read, and whether the ledger had its payment or refund. */
interface Pending {
  row: BillRow;
  inLedger: boolean;
}

/** Items an earlier run of the same day repaired: reported the same way again (`repaired` / `recorded`). */
export type EarlierRepairs = ReadonlySet<string>;
export const repairKey = (item: Pick<ReportItem, 'kind' | 'outTradeNo' | 'outRefundNo'>): string =>
  item.kind === 'payment' ? `payment:${item.outTradeNo}` : `refund:${item.outRefundNo ?? ''}`;

export interface MatchInput {
  date: string;
  /** The merchant whose bill this is (the report's `merchant`); default the shop's own. */
  merchant?: string;
  /** The bill's entries, or null when WeChat has no bill for the day. */
  bill: AsyncIterable<BillEntry> | null;
  /** Consumed: matching empties its maps. */
  ledger: LedgerDay;
  earlier: EarlierRepairs;
  log: Logger;
}

export async function matchDay(ctx: AppContext, input: MatchInput): Promise<ReconciliationReport> {
  const { ledger, log } = input;
  const counts = emptyCounts();
  const items: ReportItem[] = [];
  const sums = new RowSums();
  let summary: BillSummary | null = null;
  let billPaymentsFen = 0;
  let billRefundsFen = 0;
  // The ledger's totals first: matching consumes its maps (a row found there is deleted, so what is left at the
  // end is what the bill lacks, without a set of every number seen, which would hold every line of a big bill).
  let ledgerPaymentsFen = 0;
  for (const fen of ledger.payments.values()) ledgerPaymentsFen += fen;
  let ledgerRefundsFen = 0;
  for (const r of ledger.refunds.values()) ledgerRefundsFen += r.refundFen;
  // out_trade_nos of payment rows the ledger did not settle (few: the discrepancies), so that a payment recorded
  // here under another transaction id is reported once, from the row, and not again as absent from the bill.
  const checkedPayments = new Set<string>();
  const add = (item: ReportItem) => {
    counts[item.category] += 1;
    items.push(ownStrings(item));
  };

  const handle = async ({ row, inLedger }: Pending): Promise<void> => {
    const item =
      row.tradeState === 'SUCCESS'
        ? await matchPayment(ctx, row, input, log)
        : await matchRefund(ctx, row, input, log);
    if (item === undefined) {
      counts.matched += 1;
      return;
    }
    add(item);
    // Repairs made by this run are in the ledger from the next run on; count them here too so both runs agree.
    if (inLedger) return;
    if (item.kind === 'payment' && item.category === 'paid_not_here' && item.repair === 'repaired') {
      ledgerPaymentsFen += item.ledgerFen ?? 0;
    }
    if (item.kind === 'refund' && item.category === 'refund_unknown_here' && item.repair === 'recorded') {
      ledgerRefundsFen += item.ledgerFen ?? 0;
    }
  };
  // Rows the ledger does not settle are matched against the store a batch at a time, concurrently: their reads
  // pipeline on the connection, and a bill of a million rows is not a million sequential round trips. Each row
  // concerns its own trade or refund.
  let batch: Pending[] = [];
  const flush = async () => {
    const rows = batch;
    batch = [];
    // Payments first: a refund row of a payment this batch repairs then finds it paid.
    await Promise.all(rows.filter((p) => p.row.tradeState === 'SUCCESS').map(handle));
    await Promise.all(rows.filter((p) => p.row.tradeState !== 'SUCCESS').map(handle));
  };
  for await (const entry of input.bill ?? []) {
    if (entry.kind === 'summary') {
      summary = entry.summary;
      continue;
    }
    const row = entry.row;
    // Only the sums are needed for the totals check: rows are folded, never kept (a bill may have millions).
    sums.add(row);
    let inLedger: boolean;
    if (row.tradeState === 'SUCCESS') {
      billPaymentsFen += row.settlementTotalFen;
      const key = paymentKey(row.outTradeNo, row.transactionId);
      const recordedFen = ledger.payments.get(key);
      inLedger = recordedFen !== undefined;
      if (recordedFen !== undefined) {
        ledger.payments.delete(key);
        if (settledByLedger(row, recordedFen, input.earlier)) {
          counts.matched += 1;
          continue;
        }
      }
      checkedPayments.add(ownString(row.outTradeNo));
    } else if (row.tradeState === 'REFUND') {
      billRefundsFen += row.refundFen;
      inLedger = ledger.refunds.delete(row.outRefundNo);
    } else {
      continue;
    }
    batch.push({ row, inLedger });
    if (batch.length >= BATCH) await flush();
  }
  await flush();

  // Here that day, absent from the bill: what matching left in the ledger.
  for (const [key, fen] of ledger.payments) {
    const { outTradeNo, transactionId } = paymentOfKey(key);
    if (checkedPayments.has(outTradeNo)) continue;
    add({
      category: 'here_not_at_wechat',
      kind: 'payment',
      outTradeNo,
      ...(transactionId === undefined ? {} : { transactionId }),
      ledgerFen: fen,
      repair: 'none',
      note: 'recorded as paid here that day; not in WeChat’s bill',
    });
  }
  for (const [outRefundNo, refund] of ledger.refunds) {
    add({
      category: 'here_not_at_wechat',
      kind: 'refund',
      outTradeNo: refund.outTradeNo,
      outRefundNo,
      ledgerFen: refund.refundFen,
      repair: 'none',
      note: 'refund succeeded here that day; not in WeChat’s bill',
    });
  }
  ledger.payments.clear();
  ledger.refunds.clear();

  const computed = summary === null && sums.count === 0 ? null : sums.summary();
  const summaryMatches =
    summary === null ? sums.count === 0 : computed !== null && sameSummary(summary, computed);

  items.sort((a, b) => (repairKey(a) < repairKey(b) ? -1 : repairKey(a) > repairKey(b) ? 1 : 0));
  const discrepancies = items.length;
  return {
    date: input.date,
    merchant: input.merchant ?? ctx.config.wechatpay.mchId,
    clean: discrepancies === 0 && summaryMatches,
    counts,
    totals: {
      bill: summary,
      rows: computed,
      summaryMatches,
      billPaymentsFen,
      billRefundsFen,
      ledgerPaymentsFen,
      ledgerRefundsFen,
    },
    items,
    ledgerSince: ledger.since === null ? null : new Date(ledger.since).toISOString(),
  };
}

/** The summary line's sums over the rows, as @mp-pay/shared/bills billSummaryOf computes them, one row at a time. */
class RowSums {
  count = 0;
  #s = {
    settlementTotalFen: 0,
    refundTotalFen: 0,
    couponRefundTotalFen: 0,
    totalFen: 0,
    requestedRefundTotalFen: 0,
  };
  #feeMicro = 0;
  add(row: BillRow): void {
    this.count += 1;
    this.#s.settlementTotalFen += row.settlementTotalFen;
    this.#s.refundTotalFen += row.refundFen;
    this.#s.couponRefundTotalFen += row.couponRefundFen;
    this.#s.totalFen += row.totalFen ?? 0;
    this.#s.requestedRefundTotalFen += row.requestedRefundFen ?? 0;
    this.#feeMicro += row.fee === '' ? 0 : feeToMicroYuan(row.fee);
  }
  summary(): BillSummary {
    return { count: this.count, ...this.#s, fee: microYuanToFee(this.#feeMicro) };
  }
}

function sameSummary(a: BillSummary, b: BillSummary): boolean {
  return (
    a.count === b.count &&
    a.settlementTotalFen === b.settlementTotalFen &&
    a.refundTotalFen === b.refundTotalFen &&
    a.couponRefundTotalFen === b.couponRefundTotalFen &&
    feeToMicroYuan(a.fee) === feeToMicroYuan(b.fee) &&
    (a.totalFen === undefined || a.totalFen === b.totalFen) &&
    (a.requestedRefundTotalFen === undefined || a.requestedRefundTotalFen === b.requestedRefundTotalFen)
  );
}

/**
 * A payment row the ledger settles without a store read (most of a day's rows): recorded as paid that day under
 * the row's out_trade_no and transaction id (the order.paid / payment.duplicate event, appended by the same
 * script that made the attempt PAID) with the bill's amount, and not repaired by an earlier run (reported as
 * such again). Anything else takes the full path through the attempt (matchPayment).
 */
function settledByLedger(row: BillRow, recordedFen: number, earlier: EarlierRepairs): boolean {
  return (
    billAmount(row) === recordedFen &&
    (row.totalFen === undefined || row.settlementTotalFen + row.couponFen === recordedFen) &&
    !earlier.has(`payment:${row.outTradeNo}`)
  );
}

/**
 * The item with its text copied out of the bill's lines: a field parsed from a line can be a V8 sliced string
 * that keeps the whole decoded chunk alive, and a report of many items would hold much of the bill.
 */
function ownStrings(item: ReportItem): ReportItem {
  const copy: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(item))
    copy[key] = typeof value === 'string' ? ownString(value) : value;
  return copy as unknown as ReportItem;
}

const ownString = (text: string): string => Buffer.from(text, 'utf8').toString('utf8');

/** What the bill says the buyer paid: 订单金额 when printed, else 应结订单金额 plus the coupon. */
function billAmount(row: BillRow): number {
  return row.totalFen ?? row.settlementTotalFen + row.couponFen;
}

/**
 * What the refund was for: 申请退款金额 when printed (what the shop asks for and records), else 退款金额 (which
 * leaves out the part of a coupon that is not refunded in cash).
 */
function refundAmount(row: BillRow): number {
  return row.requestedRefundFen !== undefined && row.requestedRefundFen > 0
    ? row.requestedRefundFen
    : row.refundFen;
}

/** undefined: matched. */
async function matchPayment(
  ctx: AppContext,
  row: BillRow,
  input: MatchInput,
  log: Logger,
): Promise<ReportItem | undefined> {
  const base = {
    kind: 'payment' as const,
    outTradeNo: row.outTradeNo,
    transactionId: row.transactionId,
    billFen: billAmount(row),
  };
  let attempt = await ctx.store.attempts.getAttempt(row.outTradeNo);
  if (attempt === undefined) {
    return { ...base, category: 'paid_not_here', repair: 'none', note: 'no such trade here' };
  }
  const mismatch = (note: string): ReportItem => ({
    ...base,
    category: 'amount_mismatch',
    ledgerFen: attempt?.totalFen ?? 0,
    repair: 'none',
    note,
  });
  // The amount is checked first: a bill amount that differs from the trade is never "repaired" into it.
  const amountsDiffer =
    billAmount(row) !== attempt.totalFen ||
    (row.totalFen !== undefined && row.settlementTotalFen + row.couponFen !== attempt.totalFen);
  if (attempt.state === 'PAID') {
    if (amountsDiffer) return mismatch('the bill’s amount differs from the trade’s');
    if (attempt.transactionId !== undefined && attempt.transactionId !== row.transactionId) {
      return mismatch(`transaction_id here ${attempt.transactionId}`);
    }
    if (input.earlier.has(repairKey(base))) {
      return { ...base, category: 'paid_not_here', ledgerFen: attempt.totalFen, repair: 'repaired' };
    }
    return undefined;
  }
  if (amountsDiffer) return mismatch(`the bill’s amount differs from the trade’s; ${attempt.state} here`);
  // The repair: orderquery, then mark-paid exactly as a notification would (a second run finds it PAID).
  let repair: Repair = 'failed';
  let note: string | undefined;
  try {
    const outcome = await reconcileAttempt(ctx, await payingTrade(ctx, attempt), log);
    attempt = (await ctx.store.attempts.getAttempt(row.outTradeNo)) ?? attempt;
    if (outcome === 'paid' && attempt.state === 'PAID') repair = 'repaired';
    else note = `orderquery: ${outcome}`;
  } catch (err) {
    note = `orderquery failed: ${err instanceof Error ? err.message : String(err)}`;
  }
  log.warn(
    { outTradeNo: row.outTradeNo, repair, note, security: 'paid_not_here' },
    'reconciliation: paid at WeChat but not here',
  );
  return {
    ...base,
    category: 'paid_not_here',
    ledgerFen: attempt.totalFen,
    repair,
    ...(note === undefined ? {} : { note }),
  };
}

async function matchRefund(
  ctx: AppContext,
  row: BillRow,
  input: MatchInput,
  log: Logger,
): Promise<ReportItem | undefined> {
  const base = {
    kind: 'refund' as const,
    outTradeNo: row.outTradeNo,
    transactionId: row.transactionId,
    outRefundNo: row.outRefundNo,
    refundId: row.refundId,
    billFen: refundAmount(row),
  };
  const ours = await ctx.store.refunds.getRefund(row.outRefundNo);
  if (ours !== undefined && ours.outTradeNo === row.outTradeNo) {
    let refund = ours;
    if (refund.state === 'PROCESSING' && row.refundStatus === 'SUCCESS') {
      // Ask WeChat now rather than wait for the refund queue: settle-refund records it once either way.
      try {
        await reconcileRefund(ctx, refund, log);
        refund = (await ctx.store.refunds.getRefund(row.outRefundNo)) ?? refund;
      } catch {
        // Reported below with the state it has.
      }
    }
    if (refund.refundFen !== refundAmount(row)) {
      return {
        ...base,
        category: 'refund_mismatch',
        ledgerFen: refund.refundFen,
        repair: 'none',
        note: 'amounts differ',
      };
    }
    if (row.refundStatus === 'SUCCESS' && refund.state !== 'SUCCESS') {
      return {
        ...base,
        category: 'refund_mismatch',
        ledgerFen: refund.refundFen,
        repair: 'none',
        note: `${refund.state} here, SUCCESS at WeChat`,
      };
    }
    return undefined;
  }
  // Not ours: a refund made in the merchant console. Recorded once, as a staff refund of the payment.
  const orderId = orderIdOf(row.outTradeNo);
  if (orderId === undefined) {
    return { ...base, category: 'refund_unknown_here', repair: 'none', note: 'refund of a trade not ours' };
  }
  const external = (await ctx.store.reconciliations.listExternalRefunds(orderId)).find(
    (r) => r.outRefundNo === row.outRefundNo,
  );
  if (external !== undefined) {
    if (external.refundFen !== refundAmount(row)) {
      return {
        ...base,
        category: 'refund_mismatch',
        ledgerFen: external.refundFen,
        repair: 'none',
        note: 'amounts differ',
      };
    }
    return { ...base, category: 'refund_unknown_here', ledgerFen: external.refundFen, repair: 'recorded' };
  }
  if (row.refundStatus !== 'SUCCESS') {
    return {
      ...base,
      category: 'refund_unknown_here',
      repair: 'none',
      note: `refund ${row.refundStatus} at WeChat`,
    };
  }
  const at = beijingTime(row.tradeTime);
  const record = () =>
    ctx.store.reconciliations.recordExternalRefund({
      orderId,
      outTradeNo: row.outTradeNo,
      outRefundNo: row.outRefundNo,
      refundId: row.refundId,
      refundFen: refundAmount(row),
      at: Number.isNaN(at) ? ctx.now() : at,
      source: `reconcile:${input.date}`,
    });
  let result = await record();
  if (result.kind === 'not_paid') {
    // Refunded at WeChat, so paid there: a payment of an earlier day whose notification was lost. Repair it the
    // same way as a paid_not_here (orderquery → mark-paid), then record the refund.
    const attempt = await ctx.store.attempts.getAttempt(row.outTradeNo);
    if (attempt !== undefined) {
      await reconcileAttempt(ctx, await payingTrade(ctx, attempt), log).catch(() => undefined);
      result = await record();
    }
  }
  log.warn(
    {
      outTradeNo: row.outTradeNo,
      outRefundNo: row.outRefundNo,
      result: result.kind,
      security: 'external_refund',
    },
    'reconciliation: a refund made outside the shop',
  );
  switch (result.kind) {
    case 'recorded':
    case 'already_recorded':
      return { ...base, category: 'refund_unknown_here', ledgerFen: refundAmount(row), repair: 'recorded' };
    default:
      return { ...base, category: 'refund_unknown_here', repair: 'failed', note: result.kind };
  }
}

/** What to ask WeChat about for a bill line: a combine's sub-order is paid through its combine (one step). */
async function payingTrade(ctx: AppContext, attempt: AttemptRecord): Promise<AttemptRecord> {
  if (attempt.combineOf === undefined) return attempt;
  return (await ctx.store.attempts.getAttempt(attempt.combineOf)) ?? attempt;
}

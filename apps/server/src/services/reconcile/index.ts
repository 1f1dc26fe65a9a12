/**
 * Reconciling one Beijing day against WeChat's bills (docs/reconciliation.md): for each merchant the shop sells
 * for (its own first, then each configured sub-merchant: docs/combine.md), download that merchant's ALL bill
 * through the gateway (retrying with back-off while WeChat is still making it), match it against that merchant's
 * ledger of the day, repair what can be repaired through exactly-once transitions, and store the merchant's
 * report (JSON and CSV) so staff fetch it through the admin API. Used by `pnpm reconcile`, the daily job and
 * POST /admin/reconciliations/:date/run.
 */
import type { BillEntry } from '@mp-pay/shared/bills';
import type { AppContext } from '../../context.ts';
import { beijingDate, isDate, oldestBillDate } from '../../domain/beijing-date.ts';
import { AppError } from '../../errors.ts';
import { GatewayError } from '../../gateway/index.ts';
import type { Logger } from '../../logger.ts';
import { ledgerOf } from './ledger.ts';
import { matchDay, repairKey } from './match.ts';
import { reportCsv, type ReconciliationReport } from './report.ts';

export * from './report.ts';

export interface ReconcileOptions {
  /** Attempts to download while the bill is not ready or WeChat is unavailable (first one included). */
  maxAttempts?: number;
  /** First wait between attempts; doubles each time, up to `maxDelayMs`. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** "Today" for the window check: WeChat's clock (the sandbox's in sandbox mode); default ctx.now(). */
  now?: number;
  sleep?: (ms: number) => Promise<void>;
  log?: Logger;
}

/** Why a day cannot be reconciled (yet): the CLI and the job branch on `reason`. */
export class ReconcileError extends Error {
  override readonly name = 'ReconcileError';
  constructor(
    readonly reason: 'bad_date' | 'out_of_window' | 'not_ready' | 'unavailable',
    message: string,
  ) {
    super(message);
  }
}

/**
 * The window WeChat keeps bills in, seen from `now`: yesterday back three months (Beijing days). Without
 * `future`, days not over yet are left to WeChat's answer (Bill Creating).
 */
export function checkReconcileDate(date: string, now: number, check = { future: true }): void {
  if (!isDate(date)) throw new ReconcileError('bad_date', `"${date}" is not a day (YYYY-MM-DD)`);
  const today = beijingDate(now);
  if (check.future && date >= today) {
    throw new ReconcileError(
      'out_of_window',
      `${date} is not over yet in Beijing (today is ${today}): its bill exists from 10:00 Beijing time the next day`,
    );
  }
  const oldest = oldestBillDate(today);
  if (date < oldest) {
    throw new ReconcileError(
      'out_of_window',
      `${date} is outside the three months WeChat keeps bills for (the oldest day is ${oldest})`,
    );
  }
}

const sleepMs = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The bill's entries, or null when WeChat has none for the day (No Bill Exist: no trades). */
async function downloadWithRetry(
  ctx: AppContext,
  date: string,
  mchid: string,
  options: ReconcileOptions,
  log: Logger,
): Promise<AsyncIterable<BillEntry> | null> {
  const max = options.maxAttempts ?? 6;
  const sleep = options.sleep ?? sleepMs;
  let delay = options.baseDelayMs ?? 60_000;
  for (let attempt = 1; ; attempt++) {
    try {
      return await ctx.pay.downloadBill(date, 'ALL', mchid);
    } catch (err) {
      if (!(err instanceof GatewayError)) throw err;
      if (err.reason === 'no_bill') return null;
      if (err.reason === 'bill_out_of_window') throw new ReconcileError('out_of_window', err.message);
      const waitable = err.reason === 'bill_not_ready' || err.retryable;
      if (!waitable) throw err;
      if (attempt >= max) {
        throw new ReconcileError(
          err.reason === 'bill_not_ready' ? 'not_ready' : 'unavailable',
          err.reason === 'bill_not_ready'
            ? `the bill of ${date}${whose(ctx, mchid)} is still being made after ${attempt} attempts (bills exist from 10:00 Beijing time the next day)`
            : `WeChat did not deliver the bill of ${date}${whose(ctx, mchid)} after ${attempt} attempts: ${err.message}`,
        );
      }
      log.info(
        { date, mchid, attempt, waitMs: delay, reason: err.reason },
        'bill not available yet; waiting',
      );
      await sleep(delay);
      delay = Math.min(delay * 2, options.maxDelayMs ?? 15 * 60_000);
    }
  }
}

/** Names another merchant's bill in messages (the shop's own is "the bill"). */
const whose = (ctx: AppContext, mchid: string) =>
  mchid === ctx.config.wechatpay.mchId ? '' : ` of merchant ${mchid}`;

/** One merchant's reconciliation of the day. */
export interface ReconcileResult {
  report: ReconciliationReport;
  json: string;
  csv: string;
  /** Whether the stored report changed (and `reconciliation.completed` was emitted). */
  changed: boolean;
}

/** A day's reconciliation: one report per merchant. */
export interface DayReconciliation {
  /** The shop's own merchant's. */
  own: ReconcileResult;
  /** Every merchant's, the shop's own first, then the sub-merchants in configuration order. */
  merchants: ReconcileResult[];
}

/**
 * The merchants whose bills are reconciled: the shop's own, then each configured sub-merchant (APIv3 only;
 * docs/combine.md). Each WeChat bill is one merchant's, its combine sub-orders included.
 */
export function reconciledMerchants(ctx: AppContext): string[] {
  const own = ctx.config.wechatpay.mchId;
  const others = ctx.config.wechatpay.subMerchants.map((m) => m.mchId).filter((m) => m !== own);
  return [own, ...new Set(others)];
}

/**
 * The store's name for a merchant's report: none for the shop's own (the key it always had), the mchid for the
 * others.
 */
const storedAs = (ctx: AppContext, mchid: string): string | undefined =>
  mchid === ctx.config.wechatpay.mchId ? undefined : mchid;

/**
 * Reconciles every merchant's bill of the day, one after another (own first): one merchant's bill and ledger are
 * held at a time. A merchant whose bill cannot be had (not ready, WeChat unavailable) stops the run with its
 * error, after the merchants before it are stored; the next run does them all again, which repairs nothing twice.
 */
export async function reconcileDate(
  ctx: AppContext,
  date: string,
  options: ReconcileOptions = {},
): Promise<DayReconciliation> {
  const log = (options.log ?? ctx.log).child({ component: 'reconcile', date });
  // In sandbox mode WeChat's clock is the sandbox's, which `POST /sandbox/clock` moves ahead of ours: whether a
  // day is over is then the sandbox's to say (Bill Creating). Elsewhere the two clocks agree.
  checkReconcileDate(date, options.now ?? ctx.now(), {
    future: options.now !== undefined || ctx.config.mode !== 'sandbox',
  });
  const merchants: ReconcileResult[] = [];
  for (const mchid of reconciledMerchants(ctx)) {
    merchants.push(await reconcileMerchant(ctx, date, mchid, options, log.child({ mchid })));
  }
  return { own: merchants[0] as ReconcileResult, merchants };
}

async function reconcileMerchant(
  ctx: AppContext,
  date: string,
  mchid: string,
  options: ReconcileOptions,
  log: Logger,
): Promise<ReconcileResult> {
  const bill = await downloadWithRetry(ctx, date, mchid, options, log);
  // The ledger is read before any repair: a payment repaired now is reported from the bill's side.
  const ledger = await ledgerOf(ctx.store, date, mchid, ctx.config.wechatpay.mchId);
  const earlier = await earlierRepairs(ctx, date, mchid);
  const report = await matchDay(ctx, { date, merchant: mchid, bill, ledger, earlier, log });
  const json = JSON.stringify(report);
  const csv = reportCsv(report);
  const { changed } = await ctx.store.reconciliations.saveReport(
    date,
    { json, csv, counts: { ...report.counts } },
    ctx.now(),
    storedAs(ctx, mchid),
  );
  log.info({ counts: report.counts, clean: report.clean, changed }, 'reconciliation completed');
  return { report, json, csv, changed };
}

/** What earlier runs of the day repaired in this merchant's bill (read from its stored report). */
async function earlierRepairs(ctx: AppContext, date: string, mchid: string): Promise<Set<string>> {
  const stored = await ctx.store.reconciliations.getReport(date, storedAs(ctx, mchid));
  if (stored === undefined) return new Set();
  const report = JSON.parse(stored.json) as ReconciliationReport;
  return new Set(report.items.filter((i) => i.repair === 'repaired').map(repairKey));
}

/** Whether every merchant's report of the day is stored (the daily job's "done"). */
export async function reconciledAll(ctx: AppContext, date: string): Promise<boolean> {
  for (const mchid of reconciledMerchants(ctx)) {
    if ((await ctx.store.reconciliations.getReport(date, storedAs(ctx, mchid))) === undefined) return false;
  }
  return true;
}

/**
 * The stored report of a day and merchant (default: the shop's own), for the admin API. A merchant the shop
 * does not sell for is not found.
 */
export async function storedReport(
  ctx: AppContext,
  date: string,
  mchid: string = ctx.config.wechatpay.mchId,
): Promise<{ json: string; csv: string }> {
  if (!isDate(date)) throw new AppError('invalid_request', `"${date}" is not a day (YYYY-MM-DD).`);
  if (!reconciledMerchants(ctx).includes(mchid)) {
    throw new AppError('not_found', `Merchant ${mchid} is not one this shop sells for.`);
  }
  const stored = await ctx.store.reconciliations.getReport(date, storedAs(ctx, mchid));
  if (stored === undefined) {
    throw new AppError('not_found', `No reconciliation report for ${date}${whose(ctx, mchid)}.`);
  }
  return stored;
}

/**
 * Runs `reconcileDate` holding the day's run claim (store.reconciliations.claimRun, SET NX PX), so two
 * processes (two servers' daily jobs, a job and the CLI) never reconcile one day at once; the claim covers the
 * whole day, every merchant's bill. Returns undefined when another process holds it.
 */
export async function reconcileExclusive(
  ctx: AppContext,
  date: string,
  owner: string,
  options: ReconcileOptions & { leaseMs?: number } = {},
): Promise<DayReconciliation | undefined> {
  const claims = ctx.store.reconciliations;
  if (!(await claims.claimRun(date, owner, options.leaseMs ?? 30 * 60_000))) return undefined;
  try {
    return await reconcileDate(ctx, date, options);
  } finally {
    await claims.releaseRun(date, owner).catch(() => undefined);
  }
}

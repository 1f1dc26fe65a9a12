/**
 * The daily reconciliation (docs/reconciliation.md "Daily"): once per Beijing day, after RECONCILE_AT
 * (config.reconcile.atMinute, default 10:30; WeChat's bills are ready from 10:00), yesterday is reconciled:
 * every merchant's bill, the shop's own and its sub-merchants'. Every server process runs this job; the day's
 * run claim (SET NX PX in the store) lets one of them do it, and the stored reports of every merchant mark the
 * day done for all. While a bill is not ready, or WeChat does not answer, the job tries again on a doubling
 * back-off (1 minute up to 30), so a late bill is still reconciled.
 */
import { randomUUID } from 'node:crypto';
import type { AppContext } from '../context.ts';
import { beijingDate, beijingMinute, previousDate } from '../domain/beijing-date.ts';
import type { Logger } from '../logger.ts';
import { ReconcileError, reconciledAll, reconcileExclusive } from '../services/reconcile/index.ts';

const CHECK_EVERY_MS = 60_000;
const FIRST_RETRY_MS = 60_000;
const MAX_RETRY_MS = 30 * 60_000;

export type ReconcileTick =
  'disabled' | 'too_early' | 'done' | 'waiting' | 'claimed_elsewhere' | 'reconciled' | 'retry' | 'failed';

export class ReconcileJob {
  readonly #ctx: AppContext;
  readonly #log: Logger;
  readonly #owner = `job:${randomUUID()}`;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<unknown> | undefined;
  /** The day being retried and when to try it next. */
  #retry: { date: string; at: number; delayMs: number } | undefined;

  constructor(ctx: AppContext) {
    this.#ctx = ctx;
    this.#log = ctx.log.child({ component: 'reconcile-job' });
  }

  start(intervalMs: number = CHECK_EVERY_MS): void {
    if (this.#timer !== undefined) return;
    const run = () => {
      this.#running ??= this.tick()
        .catch((err: unknown) => this.#log.error({ err }, 'reconciliation job failed'))
        .finally(() => {
          this.#running = undefined;
        });
    };
    this.#timer = setInterval(run, intervalMs);
    // The first check comes one interval after start, not at once: a process restarted in a loop does not hit
    // WeChat on every start, and the day's run is at most a minute late.
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#running;
  }

  /** One check: reconciles yesterday if it is time, not done yet, and nobody else is on it. Exposed for tests. */
  async tick(): Promise<ReconcileTick> {
    const { reconcile } = this.#ctx.config;
    if (!reconcile.enabled) return 'disabled';
    const now = this.#ctx.now();
    if (beijingMinute(now) < reconcile.atMinute) return 'too_early';
    const date = previousDate(beijingDate(now));
    // Done when every merchant's report is stored: a run stopped by one merchant's late bill is run again.
    if (await reconciledAll(this.#ctx, date)) return 'done';
    if (this.#retry?.date === date && now < this.#retry.at) return 'waiting';
    try {
      const result = await reconcileExclusive(this.#ctx, date, this.#owner, {
        maxAttempts: 1,
        log: this.#log,
      });
      if (result === undefined) return 'claimed_elsewhere';
      this.#retry = undefined;
      return 'reconciled';
    } catch (err) {
      const delayMs =
        this.#retry?.date === date ? Math.min(this.#retry.delayMs * 2, MAX_RETRY_MS) : FIRST_RETRY_MS;
      this.#retry = { date, at: now + delayMs, delayMs };
      const transient =
        err instanceof ReconcileError ? err.reason === 'not_ready' || err.reason === 'unavailable' : true;
      this.#log[transient ? 'info' : 'error'](
        { err, date, retryInMs: delayMs },
        transient ? 'bill not available yet; reconciliation will retry' : 'reconciliation failed; will retry',
      );
      return transient ? 'retry' : 'failed';
    }
  }
}

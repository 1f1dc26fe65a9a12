/**
 * Background work, safe with any number of server processes sharing one store. Each queue has one handler
 * (the table below), which says what happens next to the order in that queue:
 *  - query: a PENDING order whose open attempt got no notification is asked about (orderquery) after a delay,
 *    then on an exponential backoff, until it is settled (WeChat does not guarantee notification delivery);
 *  - close: attempts that must not be paid any more are closed at WeChat (closeorder): ended attempts at once
 *    (at least 5 minutes after they were placed, as WeChat requires), the open one when the order expires, and
 *    then the order is CLOSED here. ORDERPAID means the buyer paid at the last moment, recorded as paid instead.
 *  - message: a paid order's accepted "payment succeeded" subscribe message is sent (services/subscribe-messages.ts).
 * Due times live in sorted sets, so each poll costs O(due orders), and claims are atomic with a lease, so two
 * processes never work on the same order at once and a crashed process's claims come back after the lease.
 */
import type { AppContext } from '../context.ts';
import { GatewayError } from '../gateway/index.ts';
import type { Logger } from '../logger.ts';
import { DUE_QUEUES, type DueClaim, type DueQueue, type OrderRecord } from '../store/index.ts';
import {
  CLOSE_MIN_AGE_MS,
  closeAttemptAtWechat,
  closeOrderAtWechat,
  refreshOrder,
} from '../services/payments.ts';
import { reconcileRefund, sendRefund } from '../services/refunds.ts';
import { deliverPaidMessage } from '../services/subscribe-messages.ts';
import { backoffMs } from './backoff.ts';

/** What a handler decided: done with this order in this queue, or due again at a time or after a backoff. */
export type Next =
  | { kind: 'finish' }
  | { kind: 'at'; dueAt: number }
  | { kind: 'backoff'; reason: 'pending' | 'error' | 'rejected' };

type OrderHandler = (ctx: AppContext, order: OrderRecord, log: Logger) => Promise<Next>;
/** `attempt`: the claim's number in its queue (1 the first time), for handlers that give up after a few. */
type Handler = (ctx: AppContext, member: string, log: Logger, attempt: number) => Promise<Next>;

const FINISH: Next = { kind: 'finish' };

/** The query and close queues hold order ids: the handler gets the order (gone: nothing left to do). */
const forOrder =
  (handler: OrderHandler): Handler =>
  async (ctx, orderId, log) => {
    const order = await ctx.store.orders.getOrder(orderId);
    return order ? handler(ctx, order, log) : FINISH;
  };

const HANDLERS: Record<DueQueue, Handler> = {
  query: forOrder(async (ctx, order, log) => {
    if (order.status !== 'PENDING') return FINISH;
    // Past time_expire the close queue takes over (closeorder also detects a last-moment payment).
    if (ctx.now() >= order.expiresAt) return FINISH;
    const outcome = await refreshOrder(ctx, order, log);
    log.debug({ outcome }, 'orderquery');
    switch (outcome) {
      case 'pending':
      case 'unknown_at_wechat':
        return { kind: 'backoff', reason: 'pending' };
      case 'rejected':
        return { kind: 'backoff', reason: 'rejected' };
      default:
        // paid, closed, failed (the attempt ended) or settled: no open attempt to ask about. A new attempt
        // opened meanwhile re-queued the order, which the release then leaves alone (release-claim.lua).
        return FINISH;
    }
  }),

  close: forOrder(async (ctx, order, log) => {
    const now = ctx.now();
    const attempts = await ctx.store.attempts.listAttempts(order.id);
    let retry: Next | undefined;
    let waitUntil: number | undefined;
    const wait = (at: number) => {
      waitUntil = Math.min(waitUntil ?? at, at);
    };
    for (const attempt of attempts) {
      if (attempt.state !== 'ENDED') continue;
      const earliest = attempt.createdAt + CLOSE_MIN_AGE_MS;
      if (now < earliest) {
        wait(earliest);
        continue;
      }
      try {
        const outcome = await closeAttemptAtWechat(ctx, attempt, log);
        if (outcome.kind === 'rejected') retry = { kind: 'backoff', reason: 'rejected' };
        if (outcome.kind === 'recheck') wait(outcome.at);
      } catch (err) {
        if (tooEarly(err, attempt.createdAt, now)) {
          wait(now + CLOSE_MIN_AGE_MS);
          continue;
        }
        log.warn({ err, outTradeNo: attempt.outTradeNo }, 'closing an ended attempt failed; will retry');
        retry ??= {
          kind: 'backoff',
          reason: err instanceof GatewayError && !err.retryable ? 'rejected' : 'error',
        };
      }
    }
    if (order.status === 'PENDING') {
      if (now < order.expiresAt) wait(order.expiresAt);
      else {
        const outcome = await closeOrderAtWechat(ctx, order.id, 'expired', log);
        if (outcome.kind === 'rejected') retry = { kind: 'backoff', reason: 'rejected' };
        // An attempt WeChat did not know yet stays ENDED and is checked again (a transition re-queued it).
        if (outcome.kind === 'recheck') wait(outcome.at);
      }
    }
    if (retry) return retry;
    if (waitUntil !== undefined) return { kind: 'at', dueAt: waitUntil };
    // Everything closable is closed and the order is no longer PENDING; the transitions dequeued it already.
    return FINISH;
  }),

  /** Members are out_refund_no: PENDING ones are sent when due, PROCESSING ones asked about on a backoff. */
  async refund(ctx, outRefundNo, log) {
    const refund = await ctx.store.refunds.getRefund(outRefundNo);
    if (!refund) return FINISH;
    if (refund.state === 'PENDING') {
      const outcome = await sendRefund(ctx, refund, log);
      // sent / settled: the transition re-queued or dequeued it, and this release then changes nothing.
      if (outcome === 'retry') return { kind: 'backoff', reason: 'error' };
      if (outcome === 'refused') return { kind: 'backoff', reason: 'rejected' };
      return FINISH;
    }
    if (refund.state === 'PROCESSING') {
      return (await reconcileRefund(ctx, refund, log)) ? FINISH : { kind: 'backoff', reason: 'pending' };
    }
    return FINISH;
  },

  /**
   * Members are order ids with an accepted "payment succeeded" message, paid: sent once (the claim's lease
   * keeps other processes off it), then recorded SENT or FAILED, which takes it out of the queue.
   */
  async message(ctx, orderId, log, attempt) {
    const next = await deliverPaidMessage(ctx, orderId, attempt, log);
    if (next === 'retry') return { kind: 'backoff', reason: 'error' };
    if (next === 'retry_slowly') return { kind: 'backoff', reason: 'rejected' };
    return FINISH;
  },
};

/**
 * WeChat refuses to close a trade younger than 5 minutes (docs/protocol.md §6). The same refusal for an older
 * trade is not that rule but a real refusal: it is reported and retried slowly, not every 5 minutes forever.
 */
function tooEarly(err: unknown, createdAt: number, now: number): boolean {
  return (
    err instanceof GatewayError && err.reason === 'too_early' && now - createdAt < CLOSE_MIN_AGE_MS + 60_000
  );
}

export class OrderWorker {
  readonly #ctx: AppContext;
  readonly #log: Logger;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #stopped = true;

  constructor(ctx: AppContext) {
    this.#ctx = ctx;
    this.#log = ctx.log.child({ component: 'worker' });
  }

  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#schedule(0);
  }

  /** Stops polling and waits for the jobs in flight (graceful shutdown). */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#running;
  }

  /** One poll of every queue. Exposed for tests and for running the worker by hand. */
  async tick(): Promise<void> {
    const { worker } = this.#ctx.config;
    for (const queue of DUE_QUEUES) {
      let claims: DueClaim[];
      try {
        claims = await this.#ctx.store.queues.claimDue(
          queue,
          this.#ctx.now(),
          worker.leaseMs,
          worker.batchSize,
        );
      } catch (err) {
        this.#log.warn({ err, queue }, 'could not claim due orders; will retry');
        continue;
      }
      await Promise.all(claims.map((claim) => this.#run(queue, claim)));
    }
  }

  #schedule(delayMs: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#running = this.tick()
        .catch((err: unknown) => this.#log.error({ err }, 'worker tick failed'))
        .finally(() => {
          this.#running = undefined;
          this.#schedule(this.#ctx.config.worker.intervalMs);
        });
    }, delayMs);
    this.#timer.unref();
  }

  async #run(queue: DueQueue, claim: DueClaim): Promise<void> {
    const { queues } = this.#ctx.store;
    const log = this.#log.child({ queue, orderId: claim.orderId, attempt: claim.attempt });
    let next: Next;
    try {
      next = await HANDLERS[queue](this.#ctx, claim.orderId, log, claim.attempt);
    } catch (err) {
      log.warn({ err }, 'background job failed; will retry');
      next = { kind: 'backoff', reason: 'error' };
    }
    this.#ctx.metrics.workerJobs.inc({
      queue,
      next: next.kind === 'backoff' ? `backoff_${next.reason}` : next.kind,
    });
    try {
      // Applied only if the order still holds this claim's lease: a transition during the job wins.
      const dueAt =
        next.kind === 'finish'
          ? undefined
          : next.kind === 'at'
            ? next.dueAt
            : this.#ctx.now() + this.#backoff(claim.attempt, next.reason);
      await queues.release(queue, claim, dueAt === undefined ? { finish: true } : { finish: false, dueAt });
    } catch {
      // The lease runs out by itself: the order comes back without the release.
    }
  }

  #backoff(attempt: number, reason: 'pending' | 'error' | 'rejected'): number {
    const { worker } = this.#ctx.config;
    // An amount mismatch needs a person, not a faster retry.
    if (reason === 'rejected') return worker.queryMaxBackoffMs;
    const base = Math.max(worker.queryDelayMs, worker.intervalMs, 100);
    return backoffMs(attempt, base, worker.queryMaxBackoffMs);
  }
}

/**
 * Background work, safe with any number of server processes sharing one store:
 *  - query queue: PENDING orders that got no notification are asked about (orderquery) after a delay, then on
 *    an exponential backoff, until they are terminal (WeChat does not guarantee notification delivery);
 *  - expire queue: orders past time_expire are closed at WeChat (closeorder), then CLOSED here; ORDERPAID
 *    means the buyer paid at the last moment, which is then recorded as PAID instead.
 * Due times live in sorted sets, so each poll costs O(due orders), and claims are atomic with a lease, so two
 * processes never work on the same order at once and a crashed process's claims come back after the lease.
 */
import type { AppContext } from '../context.ts';
import type { Logger } from '../logger.ts';
import type { DueClaim, DueQueue } from '../store/index.ts';
import { closeAtWechat, reconcile } from '../services/payments.ts';
import { backoffMs } from './backoff.ts';

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

  /** One poll of both queues. Exposed for tests and for running the worker by hand. */
  async tick(): Promise<void> {
    const { worker } = this.#ctx.config;
    for (const queue of ['expire', 'query'] as const) {
      let claims: DueClaim[];
      try {
        claims = await this.#ctx.store.orders.claimDue(
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
    const { orders } = this.#ctx.store;
    const log = this.#log.child({ queue, orderId: claim.orderId, attempt: claim.attempt });
    try {
      const order = await orders.getOrder(claim.orderId);
      if (!order || order.status !== 'PENDING') {
        await orders.finishDue(queue, claim.orderId);
        return;
      }
      if (queue === 'query') {
        if (this.#ctx.now() >= order.expiresAt) {
          // Past time_expire the expire queue takes over (closeorder also detects a last-moment payment).
          await orders.finishDue('query', order.id);
          return;
        }
        const outcome = await reconcile(this.#ctx, order, log);
        log.debug({ outcome }, 'orderquery');
        if (outcome === 'pending' || outcome === 'unknown_at_wechat' || outcome === 'rejected') {
          await orders.reschedule('query', order.id, this.#ctx.now() + this.#backoff(claim.attempt, outcome));
        }
      } else {
        const outcome = await closeAtWechat(this.#ctx, order, 'expired', log);
        if (outcome === 'rejected') {
          await orders.reschedule(
            'expire',
            order.id,
            this.#ctx.now() + this.#backoff(claim.attempt, outcome),
          );
        }
      }
    } catch (err) {
      log.warn({ err }, 'background job failed; will retry');
      await orders
        .reschedule(queue, claim.orderId, this.#ctx.now() + this.#backoff(claim.attempt, 'error'))
        .catch(() => {
          // The lease runs out by itself: the order comes back without the reschedule.
        });
    }
  }

  #backoff(attempt: number, outcome: string): number {
    const { worker } = this.#ctx.config;
    // An amount mismatch needs a person, not a faster retry.
    if (outcome === 'rejected') return worker.queryMaxBackoffMs;
    const base = Math.max(worker.queryDelayMs, worker.intervalMs, 100);
    return backoffMs(attempt, base, worker.queryMaxBackoffMs);
  }
}

/**
 * Worker queue depth and lag, read from the store at scrape time (never on a timer: an idle Prometheus costs
 * nothing). The store answers through `QueueStats`; the metrics layer never knows its key layout (sharded or not,
 * Redis or memory: docs/architecture.md "Transitions").
 *
 *   mppay_queue_depth{queue}        entries in the queue, due now or later
 *   mppay_queue_lag_seconds{queue}  now − the oldest due time, when it is in the past (0 otherwise): how far the
 *                                   workers are behind
 */
import type { Logger } from '../logger.ts';
import type { Metrics } from './registry.ts';

export interface QueueDepth {
  depth: number;
  /** Epoch ms of the earliest due time in the queue (absent when the queue is empty). */
  oldestDueAt?: number;
}

/** What a store offers for these gauges: every queue by name. */
export interface QueueStats {
  depths(): Promise<Record<string, QueueDepth>>;
}

/** A store (or its queue part) that can answer QueueStats, found by shape so no store type has to import it. */
export function queueStatsOf(candidate: unknown): QueueStats | undefined {
  const depths = (candidate as { depths?: unknown } | undefined)?.depths;
  return typeof depths === 'function' ? (candidate as QueueStats) : undefined;
}

/** Fills the two gauges at every scrape from `stats`; a failing read leaves them empty and is logged at debug. */
export function watchQueues(metrics: Metrics, stats: QueueStats, now: () => number, log: Logger): void {
  metrics.setQueueCollector(async () => {
    metrics.queueDepth.reset();
    metrics.queueLag.reset();
    let depths: Record<string, QueueDepth>;
    try {
      depths = await stats.depths();
    } catch (err) {
      // The store being down is already visible (readyz, mppay_redis_errors_total); a scrape must not fail.
      log.debug({ err }, 'metrics: queue depths unavailable');
      return;
    }
    const at = now();
    for (const [queue, { depth, oldestDueAt }] of Object.entries(depths)) {
      metrics.queueDepth.set({ queue }, depth);
      const lagMs = oldestDueAt === undefined ? 0 : Math.max(0, at - oldestDueAt);
      metrics.queueLag.set({ queue }, lagMs / 1000);
    }
  });
}

/** The two sorted-set reads the Redis reader needs (ioredis Redis and Cluster both have them). */
export interface SortedSetReader {
  zcard(key: string): Promise<number>;
  zrange(key: string, start: number, stop: number, withScores: 'WITHSCORES'): Promise<string[]>;
}

/**
 * QueueStats over Redis due sets (sorted sets scored by due time, docs/architecture.md): per queue, the keys that
 * hold it (one, or one per shard). Each key is read on its own, so the reads work on a Cluster whatever the slots.
 * For the lead to wire where the store's client lives: `redisQueueStats(client, { query: [...keys], ... })`.
 */
export function redisQueueStats(redis: SortedSetReader, dueKeys: Record<string, string[]>): QueueStats {
  return {
    async depths() {
      const entries = await Promise.all(
        Object.entries(dueKeys).map(async ([queue, keys]) => {
          const parts = await Promise.all(
            keys.map(async (key) => {
              const [depth, head] = await Promise.all([
                redis.zcard(key),
                redis.zrange(key, 0, 0, 'WITHSCORES'),
              ]);
              return { depth, oldest: head[1] === undefined ? undefined : Number(head[1]) };
            }),
          );
          const oldest = parts.flatMap((p) => (p.oldest === undefined ? [] : [p.oldest]));
          const total: QueueDepth = { depth: parts.reduce((sum, p) => sum + p.depth, 0) };
          if (oldest.length > 0) total.oldestDueAt = Math.min(...oldest);
          return [queue, total] as const;
        }),
      );
      return Object.fromEntries(entries);
    },
  };
}

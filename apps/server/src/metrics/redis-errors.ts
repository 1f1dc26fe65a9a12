/**
 * mppay_redis_errors_total: every 'error' event of a Redis client (ioredis emits one per failed connection attempt
 * and per lost connection; command failures surface on the commands themselves). The client is created inside the
 * store (src/store/redis/connect.ts), so the store, or whoever holds the client, calls this once per client.
 */
import type { Metrics } from './registry.ts';

interface ErrorEmitter {
  on(event: 'error', listener: (err: Error) => void): unknown;
}

export function countRedisErrors(client: ErrorEmitter, metrics: Metrics): void {
  client.on('error', () => metrics.redisErrors.inc());
}

/**
 * A store that lets the metrics listen to its clients' errors: `onRedisError(listener)` registers `listener` on
 * every Redis client it holds (server.ts finds the method by shape, so no store type has to import metrics).
 */
export interface RedisErrorSource {
  onRedisError(listener: (err: Error) => void): void;
}

export function redisErrorSourceOf(candidate: unknown): RedisErrorSource | undefined {
  const on = (candidate as { onRedisError?: unknown } | undefined)?.onRedisError;
  return typeof on === 'function' ? (candidate as RedisErrorSource) : undefined;
}

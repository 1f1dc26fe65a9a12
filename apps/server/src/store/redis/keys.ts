import { createHash } from 'node:crypto';
import type { DueQueue } from '../types.ts';

/**
 * Every Redis key the server uses, in one place. An order's own key carries the hash tag `{<id>}` and a buyer's
 * keys the tag `{<openid>}`, so they spread over a Redis Cluster. The transition scripts also touch the shared
 * event stream and due queues; on Cluster, put a hash tag in REDIS_PREFIX (e.g. `{mp-pay}:`) so that all keys a
 * script names share one slot (see README).
 */
export function redisKeys(prefix: string) {
  return {
    order: (id: string) => `${prefix}order:{${id}}`,
    userOrders: (openid: string) => `${prefix}user:{${openid}}:orders`,
    idempotency: (openid: string, key: string) =>
      `${prefix}idem:{${openid}}:${createHash('sha256').update(key).digest('hex')}`,
    due: (queue: DueQueue) => `${prefix}due:${queue}`,
    attempts: (queue: DueQueue) => `${prefix}due:${queue}:attempts`,
    events: `${prefix}events`,
    session: (id: string) => `${prefix}session:${id}`,
  };
}
export type RedisKeys = ReturnType<typeof redisKeys>;

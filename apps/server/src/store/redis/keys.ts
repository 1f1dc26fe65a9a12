import { createHash } from 'node:crypto';
import type { DueQueue } from '../types.ts';

/**
 * Every Redis key the server uses, in one place. An order's own key carries the hash tag `{<id>}` and a buyer's
 * keys the tag `{<openid>}`, and every script receives all its keys in KEYS (none is built inside Lua), as Redis
 * Cluster requires. The transitions also touch the shared event stream and due queues, so a Cluster deployment
 * would put a hash tag in REDIS_PREFIX (e.g. `{mp-pay}:`) to keep a script's keys in one slot (see README).
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

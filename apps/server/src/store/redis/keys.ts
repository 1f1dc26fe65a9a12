import { createHash } from 'node:crypto';
import type { DueQueue } from '../types.ts';

/**
 * Every Redis key the server uses, in one place. An order's keys carry the hash tag `{<order id>}`, a buyer's
 * keys `{<user id>}`, and every script receives all its keys in KEYS (none is built inside Lua), as Redis
 * Cluster requires. The transitions also touch the shared event stream and due queues, so a Cluster deployment
 * puts a hash tag in REDIS_PREFIX (e.g. `{mp-pay}:`) to keep a script's keys in one slot (see README).
 */
export function redisKeys(prefix: string) {
  return {
    /** The data layout version (docs/architecture.md); checked at startup. */
    schema: `${prefix}schema`,
    order: (id: string) => `${prefix}order:{${id}}`,
    attempts: (orderId: string) => `${prefix}order:{${orderId}}:attempts`,
    refunds: (orderId: string) => `${prefix}order:{${orderId}}:refunds`,
    identity: (appId: string, openid: string) => `${prefix}identity:{${appId}:${openid}}`,
    user: (userId: string) => `${prefix}user:{${userId}}`,
    userOrders: (userId: string) => `${prefix}user:{${userId}}:orders`,
    /** Orders by status (sorted set, score = createdAt): the staff's lists. */
    status: (status: string) => `${prefix}status:${status}`,
    idempotency: (userId: string, key: string) =>
      `${prefix}idem:{${userId}}:${createHash('sha256').update(key).digest('hex')}`,
    due: (queue: DueQueue) => `${prefix}due:${queue}`,
    claims: (queue: DueQueue) => `${prefix}due:${queue}:attempts`,
    events: `${prefix}events`,
    session: (id: string) => `${prefix}session:${id}`,
  };
}
export type RedisKeys = ReturnType<typeof redisKeys>;

/** The order statuses in the slot order of lib/transition.lua's index_status. */
export const INDEXED_STATUSES = ['PENDING', 'PAID', 'CLOSED', 'PARTIALLY_REFUNDED', 'REFUNDED'] as const;

/** The status index: the last five KEYS of every script that changes an order's status. */
export function statusKeys(k: RedisKeys): string[] {
  return INDEXED_STATUSES.map((status) => k.status(status));
}

/** The six keys of the refund scripts (src/store/lua/*-refund*.lua headers). */
export function refundKeys(k: RedisKeys, orderId: string): string[] {
  return [
    k.order(orderId),
    k.attempts(orderId),
    k.events,
    k.due('refund'),
    k.refunds(orderId),
    k.claims('refund'),
  ];
}

/** The seven keys every transition script takes first (src/store/lua/lib/transition.lua). */
export function transitionKeys(k: RedisKeys, orderId: string): string[] {
  return [
    k.order(orderId),
    k.attempts(orderId),
    k.events,
    k.due('query'),
    k.due('close'),
    k.claims('query'),
    k.claims('close'),
  ];
}

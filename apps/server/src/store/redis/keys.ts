import { createHash } from 'node:crypto';
import type { DueQueue } from '../types.ts';
import { DEFAULT_SHARDS, identityShard, shardOf, shardTag } from '../shards.ts';

/**
 * Every Redis key the server uses, in one place (schema 3, docs/architecture.md "Redis Cluster"). The keys of an
 * order, of its shard's event stream, due queues and status index, and its idempotency key and buyer index all
 * carry the shard's hash tag `{s<n>}` (src/store/shards.ts), so every transition script names keys of one slot;
 * an identity and its user share the identity's shard the same way. Every script receives all its keys in KEYS
 * (none is built inside Lua), as Redis Cluster requires. The prefix needs no hash tag of its own.
 */
export function redisKeys(prefix: string, shards: number = DEFAULT_SHARDS) {
  const at = (shard: number) => `${prefix}${shardTag(shard)}:`;
  const shardOfOrder = (id: string) => shardOf(id, shards);
  const inOrderShard = (id: string) => at(shardOfOrder(id));
  const all = <T>(make: (shard: number) => T): T[] => Array.from({ length: shards }, (_, s) => make(s));
  return {
    prefix,
    shards,
    /** The data layout version (docs/architecture.md "Schema versions"); checked at startup. */
    schema: `${prefix}schema`,
    /** The shard count S the data under this prefix was written with; checked at startup. */
    shardCount: `${prefix}shards`,
    shardOfOrder,
    order: (id: string) => `${inOrderShard(id)}order:${id}`,
    attempts: (orderId: string) => `${inOrderShard(orderId)}order:${orderId}:attempts`,
    refunds: (orderId: string) => `${inOrderShard(orderId)}order:${orderId}:refunds`,
    identity: (appId: string, openid: string) =>
      `${at(identityShard(appId, openid, shards))}identity:${appId}:${openid}`,
    /** A user's hash lives in its id's shard (minted into its identity's: shards.ts idMinter). */
    user: (userId: string) => `${at(shardOf(userId, shards))}user:${userId}`,
    /** A buyer's orders in one shard (sorted set, score = createdAt); the list merges all shards. */
    userOrders: (userId: string, shard: number) => `${at(shard)}user:${userId}:orders`,
    /** Orders by status in one shard (sorted set, score = createdAt): the staff's lists merge all shards. */
    status: (status: string, shard: number) => `${at(shard)}status:${status}`,
    /** In the shard of the order it created (minted there: shards.ts idempotencyShard). */
    idempotency: (shard: number, userId: string, key: string) =>
      `${at(shard)}idem:${userId}:${createHash('sha256').update(key).digest('hex')}`,
    due: (queue: DueQueue, shard: number) => `${at(shard)}due:${queue}`,
    claims: (queue: DueQueue, shard: number) => `${at(shard)}due:${queue}:attempts`,
    events: (shard: number) => `${at(shard)}events`,
    /** The event stream, due queue and claim counts of an order's shard (operations and tests). */
    eventsOf: (orderId: string) => `${inOrderShard(orderId)}events`,
    dueOf: (queue: DueQueue, orderId: string) => `${inOrderShard(orderId)}due:${queue}`,
    claimsOf: (queue: DueQueue, orderId: string) => `${inOrderShard(orderId)}due:${queue}:attempts`,
    /** Every shard's event stream: what a consumer reads (docs/scaling.md "Events"). */
    allEvents: () => all((s) => `${at(s)}events`),
    session: (id: string) => `${prefix}session:${id}`,
    /** Cluster only: a write in the shard's slot before WAIT when a payment was found already recorded. */
    replicated: (shard: number) => `${at(shard)}replicated`,
  };
}
export type RedisKeys = ReturnType<typeof redisKeys>;

/** The order statuses in the slot order of lib/transition.lua's index_status. */
export const INDEXED_STATUSES = ['PENDING', 'PAID', 'CLOSED', 'PARTIALLY_REFUNDED', 'REFUNDED'] as const;

/** The status index of an order's shard: the last five KEYS of every script that changes an order's status. */
export function statusKeys(k: RedisKeys, orderId: string): string[] {
  const shard = k.shardOfOrder(orderId);
  return INDEXED_STATUSES.map((status) => k.status(status, shard));
}

/** The six keys of the refund scripts (src/store/lua/*-refund*.lua headers). */
export function refundKeys(k: RedisKeys, orderId: string): string[] {
  const shard = k.shardOfOrder(orderId);
  return [
    k.order(orderId),
    k.attempts(orderId),
    k.events(shard),
    k.due('refund', shard),
    k.refunds(orderId),
    k.claims('refund', shard),
  ];
}

/**
 * The fifteen keys of the payment transitions (mark-paid.lua, mark-combine.lua): the transition's seven, the
 * refund queue and refunds (a double or partial payment's refund is requested in the same step), the message
 * queue (an accepted subscribe message is queued when the order becomes PAID) and the status index.
 */
export function paymentKeys(k: RedisKeys, orderId: string): string[] {
  const shard = k.shardOfOrder(orderId);
  return [
    ...transitionKeys(k, orderId),
    k.due('refund', shard),
    k.refunds(orderId),
    k.due('message', shard),
    ...statusKeys(k, orderId),
  ];
}

/** The seven keys every transition script takes first (src/store/lua/lib/transition.lua). */
export function transitionKeys(k: RedisKeys, orderId: string): string[] {
  const shard = k.shardOfOrder(orderId);
  return [
    k.order(orderId),
    k.attempts(orderId),
    k.events(shard),
    k.due('query', shard),
    k.due('close', shard),
    k.claims('query', shard),
    k.claims('close', shard),
  ];
}

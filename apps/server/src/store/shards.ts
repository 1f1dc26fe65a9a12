/**
 * Shards (docs/scaling.md): the keys a transition touches are the order's, its shard's event stream, its shard's
 * due-work queues and status index, and (at creation) its idempotency key and its buyer's order index in that
 * shard. All of them carry the shard's hash tag `{s<n>}`, so each script runs in one Redis Cluster slot while
 * the S shards spread over the cluster. An order's shard is a hash of its id; ids are minted into the shard
 * their other keys need (an idempotency key's, an identity's), so nothing ever has to be looked up first.
 *
 * S is fixed per REDIS_PREFIX: changing it would move every order to another shard's keys. The store records
 * it beside the schema version and refuses to start with another value (redis-store.ts checkSchema).
 */
import { newOrderId, newUserId } from '../domain/ids.ts';

export const DEFAULT_SHARDS = 16;
export const DEFAULT_EVENTS_MAX_LEN = 1_000_000;

/** FNV-1a (32 bits) of the UTF-8 text, modulo `shards`: stable across processes, versions and platforms. */
export function shardOf(text: string, shards: number): number {
  let h = 0x811c9dc5;
  for (const byte of Buffer.from(text, 'utf8')) {
    h ^= byte;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h % shards;
}

/** The hash tag of a shard, braces included. */
export function shardTag(shard: number): string {
  return `{s${shard}}`;
}

/** The shard an idempotency key (per buyer) lives in; the order it creates is minted into it. */
export function idempotencyShard(userId: string, key: string, shards: number): number {
  return shardOf(`${userId}\n${key}`, shards);
}

/** The shard an identity (appid, openid) lives in; the user it creates is minted into it. */
export function identityShard(appId: string, openid: string, shards: number): number {
  return shardOf(`${appId}:${openid}`, shards);
}

/** Mints until the id falls in `shard`: S tries on average, each a random id and a hash (microseconds). */
function mintInShard(mint: () => string, shard: number | undefined, shards: number): string {
  for (;;) {
    const id = mint();
    if (shard === undefined || shardOf(id, shards) === shard) return id;
  }
}

/** Id minting that respects the shard layout; both stores hand out one (Store.ids). */
export interface IdMinter {
  /** A new order id: in its idempotency key's shard when it has one, anywhere otherwise. */
  orderId(now: number, userId: string, idempotencyKey: string | undefined): string;
  /** A new user id: in its identity's shard when it has one (first sign-in), anywhere for a guest. */
  userId(identity?: { appId: string; openid: string }): string;
}

export function idMinter(shards: number): IdMinter {
  return {
    orderId: (now, userId, key) =>
      mintInShard(
        () => newOrderId(now),
        key === undefined ? undefined : idempotencyShard(userId, key, shards),
        shards,
      ),
    userId: (identity) =>
      mintInShard(
        newUserId,
        identity === undefined ? undefined : identityShard(identity.appId, identity.openid, shards),
        shards,
      ),
  };
}

/** Redis Cluster's slot of a key: CRC16/XMODEM of its hash tag (or the whole key) modulo 16384. */
export function keySlot(key: string): number {
  const open = key.indexOf('{');
  const close = open === -1 ? -1 : key.indexOf('}', open + 1);
  const hashed = close > open + 1 ? key.slice(open + 1, close) : key;
  let crc = 0;
  for (const byte of Buffer.from(hashed, 'utf8')) {
    crc ^= byte << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc % 16384;
}

import type { Redis } from 'ioredis';
import { redisKeys } from '../../../src/index.ts';

/**
 * Reads the server's own Redis keys (named by src/store/redis/keys.ts) without going through the server, so a
 * suite can check the durable state while the server under test is down, hung or being killed.
 */

/** order.paid events per order in the stream: the ledger a fulfilment consumer reads. */
export async function paidEventsByOrder(redis: Redis, prefix: string): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  const shards = await Promise.all(
    redisKeys(prefix)
      .allEvents()
      .map((key) => redis.xrange(key, '-', '+')),
  );
  for (const [, fields] of shards.flat()) {
    const map = new Map<string, string>();
    for (let i = 0; i + 1 < fields.length; i += 2) map.set(fields[i] as string, fields[i + 1] as string);
    const orderId = map.get('orderId');
    if (map.get('type') === 'order.paid' && orderId) counts.set(orderId, (counts.get(orderId) ?? 0) + 1);
  }
  return counts;
}

export async function storedStatus(redis: Redis, prefix: string, id: string): Promise<string | null> {
  return redis.hget(redisKeys(prefix).order(id), 'status');
}

export async function statuses(redis: Redis, prefix: string, ids: readonly string[]): Promise<string[]> {
  return Promise.all(ids.map(async (id) => (await storedStatus(redis, prefix, id)) ?? 'MISSING'));
}

/** Entries in every shard's event stream. */
export async function eventCount(redis: Redis, prefix: string): Promise<number> {
  const lengths = await Promise.all(
    redisKeys(prefix)
      .allEvents()
      .map((key) => redis.xlen(key)),
  );
  return lengths.reduce((a, b) => a + b, 0);
}

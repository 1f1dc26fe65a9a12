import { Redis } from 'ioredis';

/** The bench's own Redis connection: server version, scoped cleanup, event counts. */
export async function connect(url: string): Promise<Redis> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  return redis;
}

export async function redisVersion(redis: Redis): Promise<string> {
  const info = await redis.info('server');
  return /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown';
}

/** Deletes every key under the run's unique prefix (SCAN, never KEYS, so a shared Redis is not blocked). */
export async function deletePrefix(redis: Redis, prefix: string): Promise<number> {
  let cursor = '0';
  let deleted = 0;
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) deleted += await redis.unlink(...keys);
  } while (cursor !== '0');
  return deleted;
}

/**
 * The server's event streams under `prefix`: one `<prefix>events` before the store was sharded, one per shard
 * (`<prefix>{s<n>}:events`, docs/scaling.md) since. Found by SCAN, so the bench counts events whatever the
 * layout of the revision it runs (and a nested prefix such as `<prefix>v3:` is not mistaken for a shard).
 */
async function eventStreams(redis: Redis, prefix: string): Promise<string[]> {
  const escape = (text: string) => text.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
  const exact = new RegExp(`^${prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?:\\{s\\d+\\}:)?events$`);
  const found = new Set<string>();
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${escape(prefix)}*events`, 'COUNT', 1000);
    cursor = next;
    for (const key of keys) if (exact.test(key)) found.add(key);
  } while (cursor !== '0');
  return [...found];
}

/** order.paid events per order id, over every event stream of the server's store under `prefix`. */
export async function paidEventsPerOrder(redis: Redis, prefix: string): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const streamKey of await eventStreams(redis, prefix)) {
    let start = '-';
    for (;;) {
      const entries = await redis.xrange(streamKey, start, '+', 'COUNT', 5000);
      for (const [, fields] of entries) {
        const map: Record<string, string> = {};
        for (let i = 0; i + 1 < fields.length; i += 2) map[fields[i] as string] = fields[i + 1] as string;
        if (map.type === 'order.paid' && map.orderId)
          counts.set(map.orderId, (counts.get(map.orderId) ?? 0) + 1);
      }
      if (entries.length < 5000) break;
      start = `(${entries[entries.length - 1]?.[0]}`;
    }
  }
  return counts;
}

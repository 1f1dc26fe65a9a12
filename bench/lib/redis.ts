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

/** order.paid events per order id in the server's event stream. */
export async function paidEventsPerOrder(redis: Redis, streamKey: string): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  let start = '-';
  for (;;) {
    const entries = await redis.xrange(streamKey, start, '+', 'COUNT', 5000);
    for (const [, fields] of entries) {
      const map: Record<string, string> = {};
      for (let i = 0; i + 1 < fields.length; i += 2) map[fields[i] as string] = fields[i + 1] as string;
      if (map.type === 'order.paid' && map.orderId)
        counts.set(map.orderId, (counts.get(map.orderId) ?? 0) + 1);
    }
    if (entries.length < 5000) return counts;
    start = `(${entries[entries.length - 1]?.[0]}`;
  }
}

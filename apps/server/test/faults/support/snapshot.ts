import type { Redis } from 'ioredis';

/**
 * Everything the server keeps under its prefix, value by value: SCAN every key and read its content by type,
 * in a canonical order (hash fields and set members sorted). Not DUMP: a large hash is a hash table whose
 * serialised order changes when Redis rehashes it incrementally, which plain reads can trigger, so DUMP would
 * report a change where nothing changed. TTLs are left out on purpose: an authenticated request slides its
 * session's expiry, which is not a state change.
 */
export async function snapshot(redis: Redis, prefix: string): Promise<Map<string, string>> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== '0');
  const entries = await Promise.all(
    keys.sort().map(async (key) => [key, await contentOf(redis, key)] as const),
  );
  return new Map(entries);
}

async function contentOf(redis: Redis, key: string): Promise<string> {
  const type = await redis.type(key);
  switch (type) {
    case 'string':
      return `string:${await redis.get(key)}`;
    case 'hash':
      return `hash:${JSON.stringify(Object.entries(await redis.hgetall(key)).sort(([a], [b]) => (a < b ? -1 : 1)))}`;
    case 'zset':
      return `zset:${JSON.stringify(await redis.zrange(key, 0, -1, 'WITHSCORES'))}`;
    case 'set':
      return `set:${JSON.stringify((await redis.smembers(key)).sort())}`;
    case 'list':
      return `list:${JSON.stringify(await redis.lrange(key, 0, -1))}`;
    case 'stream':
      return `stream:${JSON.stringify(await redis.xrange(key, '-', '+'))}`;
    default:
      return `${type}:${(await redis.dumpBuffer(key))?.toString('hex') ?? ''}`;
  }
}

/** Keys added, removed or changed between two snapshots. */
export function diff(before: Map<string, string>, after: Map<string, string>): string[] {
  const changes: string[] = [];
  for (const [key, value] of after) {
    if (!before.has(key)) changes.push(`+ ${key}`);
    else if (before.get(key) !== value) changes.push(`~ ${key}`);
  }
  for (const key of before.keys()) if (!after.has(key)) changes.push(`- ${key}`);
  return changes;
}

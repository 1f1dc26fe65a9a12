import type { Redis } from 'ioredis';

/**
 * Everything the server keeps under its prefix, value by value: SCAN every key and DUMP it (Redis's own
 * serialisation, so hashes, sorted sets, streams and strings compare alike). TTLs are left out on purpose:
 * an authenticated request slides its session's expiry, which is not a state change.
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
    keys.sort().map(async (key) => [key, (await redis.dumpBuffer(key))?.toString('hex') ?? ''] as const),
  );
  return new Map(entries);
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

import { createMemoryStore } from './memory/memory-store.ts';
import { createRedisStore } from './redis/redis-store.ts';
import type { Store } from './types.ts';

export type * from './types.ts';

/** Redis when REDIS_URL is set, memory otherwise (config.ts refuses memory in production). */
export async function openStore(redis: {
  url: string | undefined;
  prefix: string;
  commandTimeoutMs: number;
}): Promise<Store> {
  if (redis.url === undefined) return createMemoryStore();
  return createRedisStore({ url: redis.url, prefix: redis.prefix, commandTimeoutMs: redis.commandTimeoutMs });
}
export { DUE_QUEUES, SCHEMA_VERSION } from './types.ts';

import { createMemoryStore } from './memory/memory-store.ts';
import { createRedisStore } from './redis/redis-store.ts';
import type { Store } from './types.ts';

export type * from './types.ts';

/** A Redis Cluster when REDIS_CLUSTER_NODES is set, Redis when REDIS_URL is, memory otherwise (config.ts refuses
 * memory in production). */
export async function openStore(redis: {
  url: string | undefined;
  clusterNodes?: { host: string; port: number }[] | undefined;
  prefix: string;
  commandTimeoutMs: number;
  shards?: number | undefined;
  eventsMaxLen?: number | undefined;
}): Promise<Store> {
  if (redis.url === undefined && redis.clusterNodes === undefined) {
    return createMemoryStore({
      ...(redis.shards === undefined ? {} : { shards: redis.shards }),
      ...(redis.eventsMaxLen === undefined ? {} : { eventsMaxLen: redis.eventsMaxLen }),
    });
  }
  return createRedisStore(redis);
}
export { DUE_QUEUES, SCHEMA_VERSION } from './types.ts';
export { RECONCILIATION_EVENTS_MAX_LEN } from './reconciliations.ts';

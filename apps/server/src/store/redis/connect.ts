import { Cluster, Redis } from 'ioredis';
import { StoreUnavailableError } from '../../errors.ts';

export interface RedisStoreOptions {
  /** One Redis (REDIS_URL); unused when clusterNodes is set. */
  url?: string | undefined;
  /** Redis Cluster seed nodes (REDIS_CLUSTER_NODES): ioredis' Cluster client (docs/scaling.md). */
  clusterNodes?: { host: string; port: number }[] | undefined;
  prefix: string;
  commandTimeoutMs: number;
  /** REDIS_SHARDS, fixed per prefix (src/store/shards.ts); 16 when not given. */
  shards?: number | undefined;
  /** EVENTS_MAX_LEN: each shard's event stream is trimmed to about this many entries; 1,000,000 when not given. */
  eventsMaxLen?: number | undefined;
}

/** One Redis or a Redis Cluster: the store speaks the same commands to both. */
export type RedisClient = Redis | Cluster;

/**
 * The Cluster client, failing fast like the single one: no offline queue, so during a failover a notification
 * gets FAIL at once (WeChat retries) instead of waiting for WeChat's timeout. MOVED/ASK redirections and the
 * slot map refresh after a failover are ioredis' own; reads go to masters, which hold the latest writes.
 */
export async function connectCluster(
  nodes: { host: string; port: number }[],
  options: RedisStoreOptions,
): Promise<Cluster> {
  const cluster = new Cluster(nodes, {
    lazyConnect: true,
    scaleReads: 'master',
    enableReadyCheck: true,
    enableOfflineQueue: false,
    // No auto-pipelining on a Cluster: a batch holding one MOVED reply among others fails as a whole instead
    // of being redirected, so after a failover the moved slots would keep failing (measured: test/cluster).
    enableAutoPipelining: false,
    maxRedirections: 16,
    retryDelayOnFailover: 100,
    retryDelayOnClusterDown: 100,
    retryDelayOnTryAgain: 100,
    slotsRefreshTimeout: Math.max(options.commandTimeoutMs, 1000),
    clusterRetryStrategy: (times) => Math.min(100 * times, 1000),
    redisOptions: {
      maxRetriesPerRequest: 0,
      commandTimeout: options.commandTimeoutMs,
      connectTimeout: Math.max(options.commandTimeoutMs, 1000),
    },
  });
  let cause: Error | undefined;
  cluster.on('error', (err: Error) => {
    cause = err;
  });
  try {
    await cluster.connect();
  } catch (err) {
    cluster.disconnect();
    const where = nodes.map((n) => `${n.host}:${n.port}`).join(',');
    // ioredis says "Failed to refresh slots cache"; the last node's own error (ECONNREFUSED…) says why.
    const failed = (cause ?? (err as Error)) as Error & { lastNodeError?: Error };
    const reason = failed.lastNodeError
      ? `${failed.message} ${failed.lastNodeError.message}`
      : failed.message;
    throw new StoreUnavailableError(
      `cannot connect to the Redis Cluster at ${where} (${reason}); ` +
        'start the cluster or fix REDIS_CLUSTER_NODES',
    );
  }
  return cluster;
}

/**
 * Fails fast instead of queueing: with Redis down, a notification must be answered FAIL now (so WeChat retries
 * later), not hang until WeChat's own timeout. Reconnection keeps going in the background.
 */
export async function connectRedis(options: RedisStoreOptions): Promise<Redis> {
  const url = options.url ?? 'redis://127.0.0.1:6379';
  const redis = new Redis(url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: options.commandTimeoutMs,
    connectTimeout: Math.max(options.commandTimeoutMs, 1000),
    retryStrategy: (times) => Math.min(100 * times, 1000),
    // Concurrent notifications each run one Lua script; pipelining sends the scripts issued in the same tick in
    // one socket write instead of one syscall each. Atomicity is per script, so batching changes nothing else.
    enableAutoPipelining: true,
  });
  // Errors surface on the commands that fail; the 'error' event would otherwise crash the process. During the
  // first connect it carries the real cause (ECONNREFUSED, WRONGPASS…): connect() itself only rejects with
  // "Connection is closed.", which sent people with a wrong password off to check whether Redis was running.
  let cause: Error | undefined;
  redis.on('error', (err: Error) => {
    cause = err;
  });
  try {
    await redis.connect();
  } catch (err) {
    redis.disconnect();
    const where = new URL(url);
    const password = decodeURIComponent(where.password);
    const reason = (cause ?? (err as Error)).message;
    throw new StoreUnavailableError(
      `cannot connect to Redis at ${where.hostname}:${where.port || 6379} ` +
        `(${password ? reason.replaceAll(password, '[redacted]') : reason}); ` +
        'start Redis or fix REDIS_URL, or unset REDIS_URL to use the in-memory store in development',
    );
  }
  return redis;
}

/**
 * Redis refusing work for now: a demoted primary after a failover (READONLY), memory full (OOM), a long script
 * (BUSY), loading, no quorum. Redis 7 appends `script: <sha>, on @user_script:<line>` to such an error when a
 * script's redis.call hit it, so the error code, not the word "script", tells it from a bug in a script.
 */
const TRANSIENT_REPLY_RE = /^(READONLY|OOM|BUSY|LOADING|MASTERDOWN|NOREPLICAS|TRYAGAIN|CLUSTERDOWN)\b/;

/** Redis errors become StoreUnavailableError (retryable, nothing decided) except script bugs, which stay loud. */
export async function guard<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (err) {
    const e = err as Error;
    if (e.name === 'ReplyError' && !TRANSIENT_REPLY_RE.test(e.message) && /script|lua/i.test(e.message)) {
      throw err;
    }
    throw new StoreUnavailableError(`Redis: ${e.message}`, { cause: err });
  }
}

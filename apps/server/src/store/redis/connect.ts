import { Redis } from 'ioredis';
import { StoreUnavailableError } from '../../errors.ts';

export interface RedisStoreOptions {
  url: string;
  prefix: string;
  commandTimeoutMs: number;
}

/**
 * Fails fast instead of queueing: with Redis down, a notification must be answered FAIL now (so WeChat retries
 * later), not hang until WeChat's own timeout. Reconnection keeps going in the background.
 */
export async function connectRedis(options: RedisStoreOptions): Promise<Redis> {
  const redis = new Redis(options.url, {
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
    const where = new URL(options.url);
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

/**
 * The Redis store's rate-limit counters: one call of src/store/lua/rate-limit.lua per hit. The key carries the
 * deployment prefix and the bucket as hash tag (a single key, so any Redis Cluster slot will do).
 */
import { readFileSync } from 'node:fs';
import type { RedisClient } from './connect.ts';
import { RATE_WINDOW_SKEW_MS, windowOf, type RateLimitHit, type RateLimitStore } from '../rate-limit.ts';
import { guard } from './connect.ts';

const COMMAND = 'mppay_rateLimit';
const LUA = readFileSync(new URL('../lua/rate-limit.lua', import.meta.url), 'utf8');

/** `<prefix>rate:{<bucket>}:<window ms>:<window start ms>`: windows of other lengths never share a counter. */
export const rateLimitKey = (prefix: string, bucket: string, windowMs: number, windowStart: number) =>
  `${prefix}rate:{${bucket}}:${windowMs}:${windowStart}`;

export class RedisRateLimitStore implements RateLimitStore {
  private readonly script: (key: string, ttlMs: number) => Promise<unknown>;

  constructor(
    redis: RedisClient,
    private readonly prefix: string,
  ) {
    // EVALSHA with ioredis' automatic EVAL fallback, like the scripts of scripts.ts.
    redis.defineCommand(COMMAND, { numberOfKeys: 1, lua: LUA });
    const fn = (redis as unknown as Record<string, (key: string, ttlMs: number) => Promise<unknown>>)[
      COMMAND
    ];
    if (typeof fn !== 'function') throw new Error(`ioredis did not define ${COMMAND}`);
    this.script = fn.bind(redis);
  }

  async hit(bucket: string, windowMs: number, now: number): Promise<RateLimitHit> {
    const { start, end } = windowOf(now, windowMs);
    const reply = await guard(
      this.script(rateLimitKey(this.prefix, bucket, windowMs, start), end - now + RATE_WINDOW_SKEW_MS),
    );
    if (typeof reply !== 'number') throw new Error(`rate-limit.lua answered ${String(reply)}`);
    return { count: reply, resetAt: end };
  }
}

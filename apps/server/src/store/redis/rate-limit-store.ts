/**
 * The Redis store's rate-limit counters: one call of src/store/lua/rate-limit.lua (registered in scripts.ts with
 * the others) per hit. The key carries the deployment prefix and the bucket as hash tag (a single key, so any
 * Redis Cluster slot will do).
 */
import { RATE_WINDOW_SKEW_MS, windowOf, type RateLimitHit, type RateLimitStore } from '../rate-limit.ts';
import { guard } from './connect.ts';
import type { Scripts } from './scripts.ts';

/** `<prefix>rate:{<bucket>}:<window ms>:<window start ms>`: windows of other lengths never share a counter. */
export const rateLimitKey = (prefix: string, bucket: string, windowMs: number, windowStart: number) =>
  `${prefix}rate:{${bucket}}:${windowMs}:${windowStart}`;

export class RedisRateLimitStore implements RateLimitStore {
  constructor(
    private readonly scripts: Scripts,
    private readonly prefix: string,
  ) {}

  async hit(bucket: string, windowMs: number, now: number): Promise<RateLimitHit> {
    const { start, end } = windowOf(now, windowMs);
    const reply = await guard(
      this.scripts.rateLimit(
        rateLimitKey(this.prefix, bucket, windowMs, start),
        end - now + RATE_WINDOW_SKEW_MS,
      ),
    );
    if (typeof reply !== 'number') throw new Error(`rate-limit.lua answered ${String(reply)}`);
    return { count: reply, resetAt: end };
  }
}

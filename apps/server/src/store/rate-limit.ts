/**
 * Fixed-window counters against abuse of the endpoints that need no WeChat identity (docs/channels.md
 * "Guest"): guest sessions per client address, orders per guest. The window is computed from the caller's
 * clock (ctx.now), so every process agrees on it and tests move it with the app clock; the store only counts.
 */

/** The window of `windowMs` that holds `now`: windows are aligned to the epoch, one counter key each. */
export function windowOf(now: number, windowMs: number): { start: number; end: number } {
  const start = Math.floor(now / windowMs) * windowMs;
  return { start, end: start + windowMs };
}

/** Extra life of a counter key after its window, for clocks of several processes that disagree a little. */
export const RATE_WINDOW_SKEW_MS = 60_000;

export interface RateLimitHit {
  /** Hits of the bucket in the current window, this one included. */
  count: number;
  /** Epoch ms when the window ends (the count starts again). */
  resetAt: number;
}

export interface RateLimitStore {
  /**
   * Counts one hit of `bucket` in the fixed window of `windowMs` holding `now`. Atomic (one Lua script in
   * Redis): concurrent hits from several processes each get their own count. The caller compares with its limit.
   */
  hit(bucket: string, windowMs: number, now: number): Promise<RateLimitHit>;
}

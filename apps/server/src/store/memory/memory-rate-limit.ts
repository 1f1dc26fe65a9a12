/** The memory store's rate-limit counters: mirrors src/store/lua/rate-limit.lua (one counter per window). */
import { windowOf, type RateLimitHit, type RateLimitStore } from '../rate-limit.ts';

export class MemoryRateLimitStore implements RateLimitStore {
  /** `<bucket>:<window ms>:<window start>` → hits; entries of windows that ended are dropped as time goes on. */
  private readonly counters = new Map<string, { count: number; end: number }>();
  private lastSweep = 0;

  hit(bucket: string, windowMs: number, now: number): Promise<RateLimitHit> {
    const { start, end } = windowOf(now, windowMs);
    this.sweep(now);
    const key = `${bucket}:${windowMs}:${start}`;
    const counter = this.counters.get(key) ?? { count: 0, end };
    counter.count++;
    this.counters.set(key, counter);
    return Promise.resolve({ count: counter.count, resetAt: end });
  }

  /** Like the keys' TTL in Redis: a counter disappears when its window is over, so the map stays small. */
  private sweep(now: number): void {
    if (Math.abs(now - this.lastSweep) < 1000) return;
    this.lastSweep = now;
    for (const [key, counter] of this.counters) if (counter.end <= now) this.counters.delete(key);
  }
}

/**
 * At most one orderquery per order per interval from GET /api/orders/:id in this process: a result page polling
 * every few hundred milliseconds must not turn into as many calls to WeChat (which rate-limits merchants).
 * Bounded: the oldest entries are dropped first.
 */
export class QueryThrottle {
  readonly #last = new Map<string, number>();

  constructor(
    private readonly intervalMs: number,
    private readonly maxEntries = 10_000,
  ) {}

  /** True when a query for `id` may go out now (and records it). */
  take(id: string, now: number): boolean {
    const last = this.#last.get(id);
    if (last !== undefined && now - last < this.intervalMs) return false;
    this.#last.delete(id);
    this.#last.set(id, now);
    if (this.#last.size > this.maxEntries) {
      const oldest = this.#last.keys().next().value;
      if (oldest !== undefined) this.#last.delete(oldest);
    }
    return true;
  }
}

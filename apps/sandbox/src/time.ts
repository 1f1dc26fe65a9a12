/**
 * The sandbox's sense of time. Waits that WeChat imposes on the merchant (retry delays, code lifetimes) are
 * divided by the time scale so tests and demos see them in seconds; absolute times the merchant sends
 * (time_expire) and protocol timestamps (time_end) stay wall-clock.
 *
 * The clock can also be moved forward (POST /sandbox/clock), so a test can reach a prepay_id's 2-hour
 * lifetime, a time_expire or closeorder's minimum age without waiting. Timers already scheduled (notification
 * retries) are not affected: they follow the time scale.
 */
export class SandboxClock {
  #offsetMs = 0;

  constructor(readonly timeScale: number) {}

  now(): number {
    return Date.now() + this.#offsetMs;
  }

  get offsetMs(): number {
    return this.#offsetMs;
  }

  advance(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError('the sandbox clock only moves forward');
    this.#offsetMs += ms;
  }

  /** A real-world duration, compressed by the time scale. */
  scaled(ms: number): number {
    return Math.max(0, Math.round(ms / this.timeScale));
  }
}

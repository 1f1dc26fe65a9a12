/**
 * The sandbox's sense of time. Waits that WeChat imposes on the merchant (retry delays, code lifetimes) are
 * divided by the time scale so tests and demos see them in seconds; absolute times the merchant sends
 * (time_expire) and protocol timestamps (time_end) stay wall-clock.
 */
export class SandboxClock {
  constructor(readonly timeScale: number) {}

  now(): number {
    return Date.now();
  }

  /** A real-world duration, compressed by the time scale. */
  scaled(ms: number): number {
    return Math.max(0, Math.round(ms / this.timeScale));
  }
}

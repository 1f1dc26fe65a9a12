import { BoundedMap } from '../state.ts';

/**
 * 45011: jscode2session allows 100 calls a minute for one user. A sliding window of call times per user.
 * The window is not scaled: it is a rate, and tests reach it by calling fast, not by waiting.
 */
export const LOGIN_CALLS_PER_MINUTE = 100;
const WINDOW_MS = 60_000;

export class LoginRateLimiter {
  readonly #calls = new BoundedMap<string, number[]>(10_000);

  constructor(private readonly limit = LOGIN_CALLS_PER_MINUTE) {}

  /** Records a call for the user; false when it is over the limit (the call is not counted then). */
  allow(user: string, now: number): boolean {
    const recent = (this.#calls.get(user) ?? []).filter((t) => now - t < WINDOW_MS);
    if (recent.length >= this.limit) {
      this.#calls.set(user, recent);
      return false;
    }
    recent.push(now);
    this.#calls.set(user, recent);
    return true;
  }
}

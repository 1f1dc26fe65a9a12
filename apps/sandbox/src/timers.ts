/**
 * Every timer the sandbox starts (notification retries, slow-reply faults, delays) goes through one TimerSet,
 * so close() cancels them all and a test process never hangs on a retry scheduled hours ahead. Timers are
 * unref'd: a pending retry alone does not keep Node alive.
 */
export class TimerSet {
  readonly #pending = new Map<NodeJS.Timeout, () => void>();
  #closed = false;

  get closed(): boolean {
    return this.#closed;
  }

  /** Runs fn after ms unless cancelled; returns a function that cancels it. */
  after(ms: number, fn: () => void): () => void {
    if (this.#closed) return () => {};
    const timer = setTimeout(() => {
      this.#pending.delete(timer);
      fn();
    }, ms);
    timer.unref();
    const cancel = (): void => {
      clearTimeout(timer);
      this.#pending.delete(timer);
    };
    this.#pending.set(timer, cancel);
    return cancel;
  }

  /** Resolves after ms, or right away (false) when the set is closed meanwhile. */
  sleep(ms: number): Promise<boolean> {
    if (this.#closed) return Promise.resolve(false);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#pending.delete(timer);
        resolve(true);
      }, ms);
      timer.unref();
      this.#pending.set(timer, () => {
        clearTimeout(timer);
        resolve(false);
      });
    });
  }

  cancelAll(): void {
    this.#closed = true;
    for (const cancel of [...this.#pending.values()]) cancel();
    this.#pending.clear();
  }
}

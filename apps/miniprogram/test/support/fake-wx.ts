/**
 * A strict stand-in for the `wx` global: only the APIs a test provides exist, and touching any other one
 * throws, so a page cannot quietly depend on a WeChat API the test did not think about. Every call is
 * recorded by name.
 */

export type WxStubs = Partial<Record<keyof WechatMiniprogram.Wx, (...args: never[]) => unknown>>;

export interface FakeWx {
  /** Names of the wx APIs called, in order. */
  calls: string[];
  /** wx storage (getStorageSync/setStorageSync/removeStorageSync). */
  storage: Map<string, unknown>;
}

/** Storage APIs backed by a Map, like the real synchronous storage. */
export function storageStubs(storage: Map<string, unknown>): WxStubs {
  return {
    getStorageSync: ((key: string) => (storage.has(key) ? storage.get(key) : '')) as never,
    setStorageSync: ((key: string, value: unknown) => {
      storage.set(key, value);
    }) as never,
    removeStorageSync: ((key: string) => {
      storage.delete(key);
    }) as never,
  };
}

/** wx.requestPayment answering with `errMsg`, recording what it was given. */
export function cashier(errMsg: string, seen: object[] = []): WxStubs {
  return {
    requestPayment: ((opts: WechatMiniprogram.RequestPaymentOption) => {
      seen.push(opts);
      setTimeout(() => {
        if (errMsg === 'requestPayment:ok') opts.success?.({ errMsg });
        else opts.fail?.({ errMsg });
      }, 0);
    }) as never,
  };
}

export function installFakeWx(stubs: WxStubs, storage = new Map<string, unknown>()): FakeWx {
  const calls: string[] = [];
  const all: Record<string, unknown> = { ...storageStubs(storage), ...stubs };
  const proxy = new Proxy(all, {
    get(target, prop) {
      if (typeof prop === 'symbol' || prop === 'then' || prop === 'toJSON') return undefined;
      const fn = target[prop];
      if (typeof fn !== 'function') throw new Error(`wx.${prop} is not stubbed in this test`);
      return (...args: unknown[]) => {
        calls.push(prop);
        return (fn as (...a: unknown[]) => unknown)(...args);
      };
    },
  });
  (globalThis as { wx?: unknown }).wx = proxy;
  return { calls, storage };
}

export function uninstallWx(): void {
  delete (globalThis as { wx?: unknown }).wx;
}

/** A promise with its resolve exposed, to hold a request in flight while the test looks at the page. */
export interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
}
export function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** Polls `check` until it stops throwing (or returns true), failing after `timeoutMs`. */
export async function waitFor(check: () => unknown, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown = new Error('condition never became true');
  for (;;) {
    try {
      const result = check();
      if (result !== false) return;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) throw lastError;
    await new Promise((r) => setTimeout(r, 5));
  }
}

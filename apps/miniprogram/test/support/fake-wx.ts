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
  /** What went to the real-time log (wx.getRealtimeLogManager), unless a test stubbed it. */
  realtimeLog: { level: string; args: unknown[] }[];
}

/**
 * The platform facts every run needs, stubbed unless a test says otherwise: a develop build
 * (wx.getAccountInfoSync), a real-time log recorded into `log`, and a phone on wifi (wx.getNetworkType).
 */
export function platformStubs(log: { level: string; args: unknown[] }[]): WxStubs {
  const record =
    (level: string) =>
    (...args: unknown[]) => {
      log.push({ level, args });
    };
  return {
    getAccountInfoSync: (() => ({
      miniProgram: { appId: 'wx-test', envVersion: 'develop', version: '' },
      plugin: {},
    })) as never,
    getRealtimeLogManager: (() => ({
      info: record('info'),
      warn: record('warn'),
      error: record('error'),
      setFilterMsg: () => {},
      addFilterMsg: () => {},
      in: () => {},
    })) as never,
    getNetworkType: ((opts: WechatMiniprogram.GetNetworkTypeOption) => {
      setTimeout(() => opts.success?.({ networkType: 'wifi', errMsg: 'getNetworkType:ok' } as never), 0);
    }) as never,
  };
}

/** wx.getAccountInfoSync for a build of `envVersion`. */
export function envStub(envVersion: string): WxStubs {
  return {
    getAccountInfoSync: (() => ({
      miniProgram: { appId: 'wx-test', envVersion, version: '1.0.0' },
      plugin: {},
    })) as never,
  };
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

/**
 * wx.requestSubscribeMessage answering `answer` for every template asked about (accept / reject / ban /
 * filter), or failing with `{errCode}` (20004 turned off in settings, 20005 banned, 10002/10003 network,
 * 20001 no such template). Records the tmplIds of each call.
 */
export function subscribeDialog(answer: string | { errCode: number }, asked: string[][] = []): WxStubs {
  return {
    requestSubscribeMessage: ((opts: WechatMiniprogram.RequestSubscribeMessageOption) => {
      asked.push([...opts.tmplIds]);
      setTimeout(() => {
        if (typeof answer === 'string') {
          const res: Record<string, string> = { errMsg: 'requestSubscribeMessage:ok' };
          for (const id of opts.tmplIds) res[id] = answer;
          opts.success?.(res as never);
        } else {
          opts.fail?.({ errCode: answer.errCode, errMsg: `requestSubscribeMessage:fail ${answer.errCode}` });
        }
      }, 0);
    }) as never,
  };
}

export function installFakeWx(stubs: WxStubs, storage = new Map<string, unknown>()): FakeWx {
  const calls: string[] = [];
  const realtimeLog: { level: string; args: unknown[] }[] = [];
  const all: Record<string, unknown> = { ...platformStubs(realtimeLog), ...storageStubs(storage), ...stubs };
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
  return { calls, storage, realtimeLog };
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

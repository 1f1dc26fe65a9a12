/**
 * The shared harness of the end-to-end tests: a real sandbox, real servers on Redis (each under a key prefix of
 * its own, dropped when the file ends), the compiled mini-program, and fresh app launches with the real `wx`.
 * One E2eStack per test file: `start()` in beforeAll, `stop()` in afterAll.
 */
import { createServer } from 'node:net';
import { startSandbox, type RunningSandbox } from '@mp-pay/sandbox';
import { startServer, type RunningServer } from '@mp-pay/server';
import { SANDBOX_DEMO } from '@mp-pay/shared/wechatpay';
import { Redis } from 'ioredis';
import { expect, inject } from 'vitest';
import { openBuilt, type BuiltMiniprogram } from '../support/built.ts';
import { waitFor } from '../support/fake-wx.ts';
import { renderPage, tap, type Rendered } from '../support/pages.ts';
import { installRealWx, queryOf, type RealWx } from './real-wx.ts';

export const REDIS_URL = 'redis://127.0.0.1:6379';

/** A port free right now, for a server that must know its own URL (PUBLIC_BASE_URL) before it listens. */
export async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

/**
 * The settings every server that reports live mode (as with WeChat's own hosts) while still talking to the
 * sandbox needs, so the mini-program takes its production path (wx.login, wx.requestPayment): live mode wants
 * explicit credentials, so the sandbox's demo app and merchant are named instead of defaulted. The merchant's
 * keys (APIv2 or APIv3) are the caller's to add.
 */
export function liveModeEnv(port: number): Record<string, string> {
  return {
    WECHATPAY_MODE: 'live',
    PUBLIC_BASE_URL: `http://127.0.0.1:${port}`,
    WECHAT_APPID: SANDBOX_DEMO.appId,
    WECHAT_SECRET: SANDBOX_DEMO.secret,
    WECHATPAY_MCHID: SANDBOX_DEMO.mchId,
  };
}

/**
 * Sandbox mode, on the cart page: check out and pick "pay" in the sandbox sheet (the cashier), which must open
 * once; the app lands on the result page with `client=ok`. Returns the order id from that address.
 */
export async function checkoutPaidInSheet(wx: RealWx, cart: Rendered): Promise<string> {
  wx.sheetChoices.push(0);
  await tap(cart, '.checkout');
  await waitFor(
    () => expect(wx.nav.at(-1)?.url).toMatch(/^\/pages\/result\/index\?id=[^&]+&client=ok$/),
    10_000,
  );
  expect(wx.calls.filter((c) => c === 'showActionSheet')).toHaveLength(1);
  return queryOf(wx.nav.at(-1)!.url).query.id ?? '';
}

/** Live mode: what the app passed to its first wx.requestPayment, checked to be exactly the five signed fields. */
export function firstPaymentRequested(wx: RealWx): Record<string, unknown> {
  const passed = wx.paymentsRequested[0] ?? {};
  expect(
    Object.keys(passed)
      .filter((k) => typeof passed[k] !== 'function')
      .sort(),
  ).toEqual(['nonceStr', 'package', 'paySign', 'signType', 'timeStamp']);
  return passed;
}

export interface LaunchOptions {
  /** The buyer wx.login logs in as (live-mode path only). */
  user?: string;
  /** The sandbox the real wx talks to; the stack's own unless given. */
  on?: RunningSandbox;
  /** The app's orders page size, when the test wants one other than the app's own. */
  ordersPageSize?: number;
}

export class E2eStack {
  private readonly prefixes: string[] = [];
  private readonly running: { close(): Promise<void> }[] = [];
  private sandboxStarted?: RunningSandbox;
  private builtOpened?: BuiltMiniprogram;

  /** The sandbox every server talks to unless told otherwise. */
  get sandbox(): RunningSandbox {
    if (!this.sandboxStarted) throw new Error('E2eStack.start() has not run');
    return this.sandboxStarted;
  }

  get built(): BuiltMiniprogram {
    if (!this.builtOpened) throw new Error('E2eStack.start() has not run');
    return this.builtOpened;
  }

  async start(): Promise<void> {
    this.sandboxStarted = this.track(await startSandbox({ port: 0, timeScale: 1000, closeMinAgeMs: 0 }));
    this.builtOpened = openBuilt(inject('miniprogramRoot'));
  }

  /** Closes everything started (newest first) and drops every server's Redis keys. */
  async stop(): Promise<void> {
    for (const r of this.running.reverse()) await r.close();
    await this.dropPrefixes();
  }

  /** Closed by stop(), after anything started later. */
  track<T extends { close(): Promise<void> }>(closeable: T): T {
    this.running.push(closeable);
    return closeable;
  }

  newPrefix(label: string): string {
    const prefix = `mp-pay-test:mp-${label}-${process.pid}-${Date.now().toString(36)}:`;
    this.prefixes.push(prefix);
    return prefix;
  }

  /** A server on its own Redis prefix talking to `on` (the stack's sandbox unless given), `extra` on top. */
  async server(
    label: string,
    extra: Record<string, string> = {},
    port = 0,
    on: RunningSandbox = this.sandbox,
  ): Promise<RunningServer> {
    const server = await startServer({
      port,
      env: {
        NODE_ENV: 'test',
        LOG_LEVEL: 'silent',
        WECHAT_API_BASE: on.url,
        WECHATPAY_API_BASE: on.url,
        REDIS_URL,
        REDIS_PREFIX: this.newPrefix(label),
        // A pending order older than this is checked with orderquery when the client asks for it: the path
        // that settles a payment whose notification never arrived.
        ORDER_REFRESH_AFTER_MS: '300',
        WORKER_INTERVAL_MS: '50',
        ...extra,
      },
    });
    return this.track(server);
  }

  /** A fresh app launch: new module state, the real wx, config.ts pointed at `server`. */
  launch(
    server: RunningServer,
    { user = 'unused', on = this.sandbox, ordersPageSize }: LaunchOptions = {},
  ): RealWx {
    this.built.reset();
    const wx = installRealWx({ sandboxUrl: on.url, appId: server.config.wechat.appId, user });
    const { config } = this.built.load<{
      config: {
        apiBaseUrls: { develop: string };
        paymentConfirm: { firstDelayMs: number; maxDelayMs: number; timeoutMs: number };
        ordersPageSize: number;
      };
    }>('config.js');
    config.apiBaseUrls.develop = server.url;
    config.paymentConfirm = { firstDelayMs: 100, maxDelayMs: 500, timeoutMs: 20_000 };
    if (ordersPageSize !== undefined) config.ordersPageSize = ordersPageSize;
    return wx;
  }

  /** Opens the page the app last navigated to, with the query it passed. */
  follow(wx: RealWx): Rendered {
    const last = wx.nav.at(-1);
    if (!last) throw new Error('the app did not navigate');
    const { page, query } = queryOf(last.url);
    return renderPage(this.built, page, query);
  }

  private async dropPrefixes(): Promise<void> {
    const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
    await redis.connect();
    try {
      for (const prefix of this.prefixes) {
        let cursor = '0';
        do {
          const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
          if (keys.length > 0) await redis.del(...keys);
          cursor = next;
        } while (cursor !== '0');
      }
    } finally {
      redis.disconnect();
    }
  }
}

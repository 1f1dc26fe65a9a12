import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Code2SessionClient, OAuthClient } from '@mp-pay/shared/login';
import type { DestinationStream } from 'pino';
import { buildApp } from './app.ts';
import { loadConfig, type Env, type ServerConfig } from './config.ts';
import type { AppContext } from './context.ts';
import { createGateway } from './gateway/index.ts';
import { OrderWorker } from './jobs/worker.ts';
import { createLogger } from './logger.ts';
import { Catalog } from './services/catalog.ts';
import { QueryThrottle } from './services/query-throttle.ts';
import { openStore, type Store } from './store/index.ts';

export interface StartServerOptions {
  env?: Env;
  port?: number;
  host?: string;
  /** Where the JSON logs go (default stdout); tests capture them. */
  logStream?: DestinationStream;
  /** The server's clock (epoch ms). Tests move it forward together with the sandbox's to reach expiry. */
  now?: () => number;
}

export interface RunningServer {
  url: string;
  config: ServerConfig;
  /** Stops accepting, finishes in-flight requests and jobs, closes the store. Idempotent. */
  close(): Promise<void>;
  /** For operations and tests: the store and the background worker of this process. */
  store: Store;
  worker: OrderWorker;
}

export async function startServer(options: StartServerOptions = {}): Promise<RunningServer> {
  const loaded = loadConfig(options.env ?? {});
  const config: ServerConfig = {
    ...loaded,
    port: options.port ?? loaded.port,
    host: options.host ?? loaded.host,
  };
  const log = createLogger(config, options.logStream);
  const store = await openStore(config.redis);
  log.info(
    {
      store: store.kind,
      mode: config.mode,
      wechatpay: config.wechatpay.apiBase,
      prefix: config.redis.prefix,
    },
    store.kind === 'memory'
      ? 'using the in-memory store (development only: orders vanish on restart; set REDIS_URL to persist)'
      : 'using the Redis store',
  );

  let baseUrl = '';
  const now = options.now ?? (() => Date.now());
  let shuttingDown = false;
  const pay = createGateway(config, now);
  const publicBase = () => config.publicBaseUrl ?? baseUrl;
  try {
    await pay.start?.();
  } catch (err) {
    await store.close();
    throw err;
  }
  const ctx: AppContext = {
    config,
    store,
    log,
    catalog: Catalog.load(),
    pay,
    login: new Code2SessionClient({
      appId: config.wechat.appId,
      secret: config.wechat.secret,
      baseUrl: config.wechat.apiBase,
    }),
    oauth:
      config.channels.officialAccount === undefined
        ? undefined
        : new OAuthClient({
            appId: config.channels.officialAccount.appId,
            secret: config.channels.officialAccount.secret,
            baseUrl: config.wechat.apiBase,
          }),
    publicBaseUrl: () => publicBase(),
    notifyUrl: () => publicBase() + pay.notifyPath,
    refundNotifyUrl: () => publicBase() + pay.refundNotifyPath,
    now,
    queryThrottle: new QueryThrottle(Math.max(config.orders.refreshAfterMs, 1000)),
  };

  const app = buildApp(ctx, { isShuttingDown: () => shuttingDown });
  // Slow clients (slowloris, stalled uploads) cannot hold connections open for long: the timeouts are checked
  // every second instead of Node's default 30 s.
  const server = createServer(
    {
      requestTimeout: config.http.requestTimeoutMs,
      headersTimeout: config.http.headersTimeoutMs,
      keepAliveTimeout: config.http.keepAliveTimeoutMs,
      connectionsCheckingInterval: 1000,
    },
    app.callback(),
  );
  server.maxHeadersCount = 100;

  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.port, config.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    await store.close();
    throw err;
  }
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  baseUrl = `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${address.port}`;
  config.port = address.port;

  const worker = new OrderWorker(ctx);
  if (config.worker.enabled) worker.start();
  log.info({ url: baseUrl, notifyUrl: ctx.notifyUrl(), worker: config.worker.enabled }, 'server listening');

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      shuttingDown = true;
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      // Keep-alive connections go as soon as their response is sent (responses also say Connection: close),
      // rather than lingering until keepAliveTimeout; whatever is still open after the grace period is cut.
      const drain = setInterval(() => server.closeIdleConnections(), 100);
      const force = setTimeout(() => server.closeAllConnections(), config.shutdownGraceMs);
      force.unref();
      await Promise.all([stopped, worker.stop()]);
      clearInterval(drain);
      clearTimeout(force);
      await store.close();
      log.info('server stopped');
    })());

  return { url: baseUrl, config, close, store, worker };
}

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Code2SessionClient, OAuthClient } from '@mp-pay/shared/login';
import type { DestinationStream } from 'pino';
import { buildApp } from './app.ts';
import { loadConfig, type Env, type ServerConfig } from './config.ts';
import type { AppContext } from './context.ts';
import { createGateway } from './gateway/index.ts';
import { OrderWorker } from './jobs/worker.ts';
import { ReconcileJob } from './jobs/reconcile-job.ts';
import { notifyFastPath } from './http/notify-fast-path.ts';
import { createLogger, type Logger } from './logger.ts';
import { instrumentCode2Session, instrumentOAuth } from './metrics/gateway.ts';
import { NotifyObserver } from './metrics/notify-observer.ts';
import { queueStatsOf, watchQueues } from './metrics/queue-stats.ts';
import { redisErrorSourceOf } from './metrics/redis-errors.ts';
import { Metrics } from './metrics/registry.ts';
import { instrumentStore } from './metrics/store-events.ts';
import { probeSandbox } from './routes/health/sandbox-probe.ts';
import { METRICS_PATH, startMetricsListener } from './routes/metrics/index.ts';
import { Catalog, type Seller } from './services/catalog.ts';
import { QueryThrottle } from './services/query-throttle.ts';
import { openStore, type Store } from './store/index.ts';

export interface StartServerOptions {
  env?: Env;
  port?: number;
  host?: string;
  /** Where the JSON logs go (default stdout); tests capture them. */
  logStream?: DestinationStream;
  /** The logger to use (main.ts makes it first, to log a failed start); default: one on `logStream`. */
  logger?: Logger;
  /** The server's clock (epoch ms). Tests move it forward together with the sandbox's to reach expiry. */
  now?: () => number;
  /**
   * Answer WeChat's callbacks at their exact paths in front of Koa (http/notify-fast-path.ts); default true.
   * false leaves them to the Koa route, the reference the fast path is tested against.
   */
  notifyFastPath?: boolean;
}

export interface RunningServer {
  url: string;
  config: ServerConfig;
  /** Stops accepting, finishes in-flight requests and jobs, closes the store. Idempotent. */
  close(): Promise<void>;
  /** For operations and tests: the store and the background worker of this process. */
  store: Store;
  worker: OrderWorker;
  /** The daily bill reconciliation (docs/reconciliation.md): runs with the worker unless RECONCILE_ENABLED=false. */
  reconcileJob: ReconcileJob;
  /** This process's logger: main.ts writes its banner and signals through it. */
  log: Logger;
  /** This process's Prometheus series, and where they are served (the main port, or METRICS_PORT's listener). */
  metrics: Metrics;
  metricsUrl: string;
}

export async function startServer(options: StartServerOptions = {}): Promise<RunningServer> {
  const loaded = loadConfig(options.env ?? {});
  const config: ServerConfig = {
    ...loaded,
    port: options.port ?? loaded.port,
    host: options.host ?? loaded.host,
  };
  const log = options.logger ?? createLogger(config, options.logStream);
  // One registry per server (tests run many in one process). The store and the gateway are wrapped where they
  // are built, so services never see a metric (src/metrics/).
  const metrics = new Metrics();
  const notify = new NotifyObserver(metrics);
  const openedStore = await openStore(config.redis);
  const store = instrumentStore(openedStore, metrics, notify);
  const queueStats = queueStatsOf(openedStore.queues) ?? queueStatsOf(openedStore);
  if (queueStats) watchQueues(metrics, queueStats, () => Date.now(), log);
  redisErrorSourceOf(openedStore)?.onRedisError(() => metrics.redisErrors.inc());
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
  const pay = createGateway(config, now, { metrics, notify });
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
    metrics,
    catalog: Catalog.load(sellersOf(config)),
    pay,
    login: instrumentCode2Session(
      new Code2SessionClient({
        appId: config.wechat.appId,
        secret: config.wechat.secret,
        baseUrl: config.wechat.apiBase,
      }),
      metrics,
    ),
    oauth:
      config.channels.officialAccount === undefined
        ? undefined
        : instrumentOAuth(
            new OAuthClient({
              appId: config.channels.officialAccount.appId,
              secret: config.channels.officialAccount.secret,
              baseUrl: config.wechat.apiBase,
            }),
            metrics,
          ),
    publicBaseUrl: () => publicBase(),
    notifyUrl: () => publicBase() + pay.notifyPath,
    refundNotifyUrl: () => publicBase() + pay.refundNotifyPath,
    now,
    queryThrottle: new QueryThrottle(Math.max(config.orders.refreshAfterMs, 1000)),
  };

  const app = buildApp(ctx, {
    isShuttingDown: () => shuttingDown,
    serveMetrics: config.metrics.port === undefined,
    notify,
  });
  // WeChat's callbacks at their exact paths are answered in front of Koa, with the same behaviour (the bench
  // profile's largest share was Koa's per-request machinery: http/notify-fast-path.ts); everything else is Koa's.
  const fastPath =
    options.notifyFastPath === false
      ? () => false
      : notifyFastPath(ctx, { isShuttingDown: () => shuttingDown, notify });
  const koa = app.callback();
  // Slow clients (slowloris, stalled uploads) cannot hold connections open for long: the timeouts are checked
  // every second instead of Node's default 30 s.
  const server = createServer(
    {
      requestTimeout: config.http.requestTimeoutMs,
      headersTimeout: config.http.headersTimeoutMs,
      keepAliveTimeout: config.http.keepAliveTimeoutMs,
      connectionsCheckingInterval: 1000,
    },
    (req, res) => {
      if (!fastPath(req, res)) void koa(req, res);
    },
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
  let metricsServer: Server | undefined;
  if (config.metrics.port !== undefined) {
    try {
      metricsServer = await startMetricsListener(metrics, config.metrics.port, config.host);
    } catch (err) {
      server.close();
      await store.close();
      throw err;
    }
  }
  baseUrl = urlOf(server);
  config.port = (server.address() as AddressInfo).port;

  const metricsUrl =
    metricsServer === undefined ? `${baseUrl}${METRICS_PATH}` : `${urlOf(metricsServer)}${METRICS_PATH}`;

  const worker = new OrderWorker(ctx);
  if (config.worker.enabled) worker.start();
  const reconcileJob = new ReconcileJob(ctx);
  if (config.worker.enabled && config.reconcile.enabled) reconcileJob.start();
  log.info(
    { url: baseUrl, notifyUrl: ctx.notifyUrl(), worker: config.worker.enabled, metrics: metricsUrl },
    'server listening',
  );
  // Sandbox mode: without the sandbox nothing can be paid; say so now, by name, rather than at the first order.
  if (config.sandboxUrl !== undefined) {
    const sandbox = await probeSandbox(config.sandboxUrl);
    if (sandbox !== 'ok') {
      log.warn(
        { sandbox: config.sandboxUrl, check: sandbox },
        `the sandbox is not reachable (${sandbox}): start it (pnpm start runs both) or set WECHATPAY_API_BASE; /readyz says 503 until it answers`,
      );
    }
  }

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
      const metricsStopped = new Promise<void>((resolve) =>
        metricsServer === undefined ? resolve() : metricsServer.close(() => resolve()),
      );
      metricsServer?.closeAllConnections();
      await Promise.all([stopped, worker.stop(), reconcileJob.stop(), metricsStopped]);
      clearInterval(drain);
      clearTimeout(force);
      await store.close();
      log.info('server stopped');
    })());

  return { url: baseUrl, config, close, store, worker, reconcileJob, log, metrics, metricsUrl };
}

/** Where a listener can be reached (a wildcard address is reached on the loopback). */
function urlOf(server: Server): string {
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${address.port}`;
}

/** The merchants the catalogue may sell for: the shop's own (`main`) and, on APIv3, WECHATPAY_SUB_MERCHANTS. */
function sellersOf(config: ServerConfig): Map<string, Seller> {
  const sellers = new Map<string, Seller>([
    ['main', { mchid: config.wechatpay.mchId, name: config.wechatpay.merchantName }],
  ]);
  for (const sub of config.wechatpay.subMerchants)
    sellers.set(sub.seller, { mchid: sub.mchId, name: sub.name });
  return sellers;
}

/**
 * The server's Prometheus series (README.md "Metrics" lists them with their labels). Each server instance has its
 * own prom-client Registry, never the global default one: tests run many servers in one process, and two servers
 * must not count into each other's series.
 *
 * Label values are always from small fixed sets (route patterns, never raw paths; outcome names, never error
 * messages), so the number of series stays bounded whatever the traffic.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Which callback a notification arrived at (docs/architecture.md, the gateway boundary). */
export type NotificationKind = 'payment' | 'refund' | 'native_scan';

/** The calls to WeChat, as the gateway boundary and the login clients name them. */
export type WechatEndpoint =
  'prepare' | 'query' | 'close' | 'refund' | 'query_refund' | 'oauth' | 'code2session';

/** Request latency buckets (seconds): fine below 10 ms, where the notify path lives. */
const HTTP_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** WeChat API latency buckets (seconds): a WeChat call takes tens to hundreds of ms, timeouts seconds. */
const WECHAT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10];

export class Metrics {
  readonly registry = new Registry();
  readonly notifications: Counter<'kind' | 'api' | 'outcome'>;
  readonly httpDuration: Histogram<'method' | 'route' | 'status_class'>;
  readonly wechatCalls: Counter<'endpoint' | 'api' | 'outcome'>;
  readonly wechatDuration: Histogram<'endpoint' | 'api' | 'outcome'>;
  readonly redisErrors: Counter;
  readonly eventsAppended: Counter<'type'>;
  readonly workerJobs: Counter<'queue' | 'next'>;
  /** Set by `watchQueues` (queue-stats.ts): depth and lag are read from the store at each scrape. */
  readonly queueDepth: Gauge<'queue'>;
  readonly queueLag: Gauge<'queue'>;
  #queueCollector: (() => Promise<void>) | undefined;
  #queueRead: Promise<void> | undefined;
  /** Histogram children per (method, route, status class): one Map lookup instead of a label hash per request. */
  readonly #httpChildren = new Map<string, { observe(seconds: number): void }>();

  constructor() {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'mppay_' });
    this.notifications = new Counter({
      name: 'mppay_notifications_total',
      help: 'Notifications from WeChat (payments, refunds, Native scans) by the answer decided',
      labelNames: ['kind', 'api', 'outcome'],
      registers,
    });
    this.httpDuration = new Histogram({
      name: 'mppay_http_request_duration_seconds',
      help: 'HTTP request latency by route pattern',
      labelNames: ['method', 'route', 'status_class'],
      buckets: HTTP_BUCKETS,
      registers,
    });
    this.wechatCalls = new Counter({
      name: 'mppay_wechat_api_calls_total',
      help: 'Calls to WeChat (Pay and login APIs) by endpoint and outcome (ok or the failure reason)',
      labelNames: ['endpoint', 'api', 'outcome'],
      registers,
    });
    this.wechatDuration = new Histogram({
      name: 'mppay_wechat_api_duration_seconds',
      help: 'Latency of calls to WeChat by endpoint and outcome',
      labelNames: ['endpoint', 'api', 'outcome'],
      buckets: WECHAT_BUCKETS,
      registers,
    });
    this.redisErrors = new Counter({
      name: 'mppay_redis_errors_total',
      help: "Redis client 'error' events (connection lost, refused, timeouts)",
      registers,
    });
    this.eventsAppended = new Counter({
      name: 'mppay_events_appended_total',
      help: 'Events appended to the event stream by this process, by type',
      labelNames: ['type'],
      registers,
    });
    this.workerJobs = new Counter({
      name: 'mppay_worker_jobs_total',
      help: 'Background jobs run by this process, by queue and what the handler decided next',
      labelNames: ['queue', 'next'],
      registers,
    });
    // Both queue gauges are filled by one read of the store per scrape, whichever gauge prom-client asks first.
    const collectQueues = () =>
      (this.#queueRead ??= (this.#queueCollector?.() ?? Promise.resolve()).finally(() => {
        this.#queueRead = undefined;
      }));
    this.queueDepth = new Gauge({
      name: 'mppay_queue_depth',
      help: 'Entries in a background queue (due now or later), read from the store at scrape',
      labelNames: ['queue'],
      registers,
      collect: collectQueues,
    });
    this.queueLag = new Gauge({
      name: 'mppay_queue_lag_seconds',
      help: 'How long the oldest due entry of a queue has been waiting past its due time (0: none overdue)',
      labelNames: ['queue'],
      registers,
      collect: collectQueues,
    });
  }

  /** One request, for the latency histogram. `route` is the matched pattern, never the raw path. */
  observeRequest(method: string, route: string, status: number, seconds: number): void {
    const statusClass = `${Math.floor(status / 100)}xx`;
    const key = `${method} ${route} ${statusClass}`;
    let child = this.#httpChildren.get(key);
    if (child === undefined) {
      child = this.httpDuration.labels(method, route, statusClass);
      this.#httpChildren.set(key, child);
    }
    child.observe(seconds);
  }

  /** Installs the scrape-time reader of queue depths (queue-stats.ts). */
  setQueueCollector(collect: () => Promise<void>): void {
    this.#queueCollector = collect;
  }

  /** The Prometheus text exposition of every series of this instance. */
  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}

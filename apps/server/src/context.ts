import type { Code2SessionClient, OAuthClient } from '@mp-pay/shared/login';
import type { ServerConfig } from './config.ts';
import type { PaymentGateway } from './gateway/index.ts';
import type { Logger } from './logger.ts';
import type { Metrics } from './metrics/registry.ts';
import type { Catalog } from './services/catalog.ts';
import type { QueryThrottle } from './services/query-throttle.ts';
import type { Store } from './store/index.ts';

/** Everything a service needs, built once in server.ts and passed down (no module-level singletons). */
export interface AppContext {
  config: ServerConfig;
  store: Store;
  /** WeChat Pay, through the gateway boundary: services never see the protocol (docs/architecture.md). */
  pay: PaymentGateway;
  login: Code2SessionClient;
  /** The official account's OAuth code exchange; undefined when no official account is configured. */
  oauth: OAuthClient | undefined;
  catalog: Catalog;
  log: Logger;
  /** This process's Prometheus series (src/metrics/): observed at the boundaries, not by services. */
  metrics: Metrics;
  /** PUBLIC_BASE_URL, or the address the server listens on (known only once it listens); no trailing slash. */
  publicBaseUrl(): string;
  /** notify_url for placing trades; known only once the server listens when PUBLIC_BASE_URL is unset. */
  notifyUrl(): string;
  /** notify_url for refunds. */
  refundNotifyUrl(): string;
  now(): number;
  /** Limits GET /api/orders/:id refreshes to one orderquery per order per ORDER_REFRESH_AFTER_MS. */
  queryThrottle: QueryThrottle;
}

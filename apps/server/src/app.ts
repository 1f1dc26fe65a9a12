import type { Router } from '@koa/router';
import Koa from 'koa';
import type { AppContext } from './context.ts';
import { errorHandler } from './http/error-handler.ts';
import { requestContext } from './http/request-context.ts';
import type { AppState } from './http/state.ts';
import type { NotifyObserver } from './metrics/notify-observer.ts';
import { adminRoutes } from './routes/admin/index.ts';
import { clientConfigRoutes } from './routes/client-config/index.ts';
import { healthRoutes } from './routes/health/index.ts';
import { metricsRoutes } from './routes/metrics/index.ts';
import { notifyRoutes } from './routes/notify/index.ts';
import { oauthRoutes } from './routes/oauth/index.ts';
import { orderRoutes } from './routes/orders/index.ts';
import { productRoutes } from './routes/products/index.ts';
import { sessionRoutes } from './routes/session/index.ts';
import { webRoutes } from './routes/web/index.ts';

export interface AppOptions {
  isShuttingDown: () => boolean;
  /** GET /metrics on this app (false when METRICS_PORT gives it a listener of its own). */
  serveMetrics?: boolean;
  /** Counts notifications by outcome (src/metrics/notify-observer.ts). */
  notify?: NotifyObserver;
}

/**
 * The Koa application: request context (id, access log, metrics) → error shaping (the envelope, 404 and 405 with
 * Allow) → routes. No I/O happens here until a request comes.
 */
export function buildApp(ctx: AppContext, options: AppOptions): Koa<AppState> {
  const app = new Koa<AppState>({
    proxy: ctx.config.trustProxy > 0,
    maxIpsCount: ctx.config.trustProxy,
  });
  app.use(requestContext(ctx.log, { metrics: ctx.metrics, notify: options.notify }));
  app.use(async (c, next) => {
    c.set('X-Content-Type-Options', 'nosniff');
    c.set('Cache-Control', 'no-store');
    await next();
    // Draining: tell keep-alive clients to reconnect elsewhere.
    if (options.isShuttingDown()) c.set('Connection', 'close');
  });
  app.use(errorHandler());

  // The notify_url first: it is the hottest route (WeChat's retries, duplicates and concurrent copies) and
  // each router in front of it costs a path match per request.
  const routers: Router<AppState>[] = [
    notifyRoutes(ctx),
    healthRoutes(ctx, options.isShuttingDown),
    clientConfigRoutes(ctx),
    productRoutes(ctx),
    sessionRoutes(ctx),
    oauthRoutes(ctx),
    orderRoutes(ctx),
    adminRoutes(ctx),
    webRoutes(ctx),
  ];
  if (options.serveMetrics !== false) routers.push(metricsRoutes(ctx.metrics));
  for (const router of routers) app.use(router.routes());

  // Errors escaping the handler (socket errors while streaming a response) are logged, never printed raw.
  app.on('error', (err: Error) => ctx.log.warn({ err }, 'connection error'));
  return app;
}

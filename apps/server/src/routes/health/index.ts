import { Router } from '@koa/router';
import type { AppContext } from '../../context.ts';
import type { AppState } from '../../http/state.ts';

export function healthRoutes(app: AppContext, isShuttingDown: () => boolean): Router<AppState> {
  const router = new Router<AppState>();
  // GET /healthz: the process is up
  router.get('/healthz', (ctx) => {
    ctx.body = { status: 'ok' };
  });
  // GET /readyz: the store answers and the process is not draining (take it out of the load balancer otherwise)
  router.get('/readyz', async (ctx) => {
    if (isShuttingDown()) {
      ctx.status = 503;
      ctx.body = { status: 'shutting_down' };
      return;
    }
    try {
      await app.store.ping();
      ctx.body = { status: 'ready', store: app.store.orders.kind };
    } catch (err) {
      ctx.state.log.warn({ err }, 'readiness check: store unreachable');
      ctx.status = 503;
      ctx.body = { status: 'unavailable', store: app.store.orders.kind };
    }
  });
  return router;
}

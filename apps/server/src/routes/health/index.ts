import { Router } from '@koa/router';
import type { AppContext } from '../../context.ts';
import type { AppState } from '../../http/state.ts';
import { probeSandbox } from './sandbox-probe.ts';

/**
 * GET /healthz: the process is up.
 * GET /readyz: whether to send traffic here (take it out of the load balancer otherwise), with why not:
 *   200 {status:'ready', ready:true, store:'redis', checks:{store:'ok', sandbox:'ok'}}
 *   503 {status:'unavailable', ready:false, store:'redis', checks:{store:'ok', sandbox:'unreachable: ECONNREFUSED …'}}
 *   503 {status:'shutting_down', ready:false} while draining.
 * `checks.sandbox` exists in sandbox mode only (apps/sandbox is then the WeChat everything depends on).
 */
export function healthRoutes(app: AppContext, isShuttingDown: () => boolean): Router<AppState> {
  const router = new Router<AppState>();
  router.get('/healthz', (ctx) => {
    ctx.body = { status: 'ok' };
  });
  router.get('/readyz', async (ctx) => {
    if (isShuttingDown()) {
      ctx.status = 503;
      ctx.body = { status: 'shutting_down', ready: false };
      return;
    }
    const sandboxUrl = app.config.sandboxUrl;
    const [store, sandbox] = await Promise.all([
      app.store.ping().then(
        () => 'ok',
        (err: unknown) => {
          ctx.state.log.warn({ err }, 'readiness check: store unreachable');
          // The detail (host, Redis' words) stays in the log: /readyz may be reachable from outside.
          return 'unreachable';
        },
      ),
      sandboxUrl === undefined ? undefined : probeSandbox(sandboxUrl),
    ]);
    const checks: Record<string, string> = { store };
    if (sandbox !== undefined) checks.sandbox = sandbox;
    const ready = Object.values(checks).every((check) => check === 'ok');
    if (!ready) ctx.status = 503;
    ctx.body = { status: ready ? 'ready' : 'unavailable', ready, store: app.store.orders.kind, checks };
  });
  return router;
}

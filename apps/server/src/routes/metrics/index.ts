/**
 * GET /metrics: the Prometheus text of this process's series (src/metrics/registry.ts; README.md "Metrics").
 * Served on the main port, or, with METRICS_PORT set, only on a listener of its own on that port (keep that port
 * off the public network: the series show traffic and error rates).
 */
import { createServer, type Server } from 'node:http';
import { Router } from '@koa/router';
import type { AppState } from '../../http/state.ts';
import type { Metrics } from '../../metrics/registry.ts';

export const METRICS_PATH = '/metrics';

export function metricsRoutes(metrics: Metrics): Router<AppState> {
  const router = new Router<AppState>();
  router.get(METRICS_PATH, async (ctx) => {
    const { contentType, body } = await metrics.render();
    ctx.type = contentType;
    ctx.body = body;
  });
  return router;
}

/**
 * The METRICS_PORT listener: GET /metrics and nothing else (404 elsewhere, 405 with Allow for another method).
 * Plain node:http, no Koa: it serves one scraper and must keep working when the main app is busy or draining.
 */
export async function startMetricsListener(metrics: Metrics, port: number, host: string): Promise<Server> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const send = (status: number, type: string, body: string, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', ...headers });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    const error = (status: number, error: string, message: string, headers?: Record<string, string>) =>
      send(status, 'application/json; charset=utf-8', JSON.stringify({ error, message }), headers);
    if (path !== METRICS_PATH) return error(404, 'not_found', 'This port serves GET /metrics only.');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return error(
        405,
        'method_not_allowed',
        `This route does not accept ${req.method}; it accepts GET, HEAD.`,
        {
          allow: 'GET, HEAD',
        },
      );
    }
    metrics.render().then(
      ({ contentType, body }) => send(200, contentType, body),
      () => error(500, 'internal_error', 'Something went wrong on our side.'),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server;
}

import { randomUUID } from 'node:crypto';
import type { Middleware } from 'koa';
import type { Logger } from '../logger.ts';
import type { NotifyObserver } from '../metrics/notify-observer.ts';
import type { Metrics } from '../metrics/registry.ts';
import type { AppState } from './state.ts';

const INCOMING_ID_RE = /^[A-Za-z0-9._:-]{8,64}$/;
/** Longer paths are cut in the log (a hostile client can send kilobytes of path). */
export const LOGGED_PATH_MAX = 200;
/** The histogram's route label of a request no route matched: raw paths would make unbounded series. */
export const UNMATCHED_ROUTE = 'unmatched';

export interface RequestObservers {
  metrics?: Metrics;
  notify?: NotifyObserver;
}

/**
 * Gives every request an id (a sane incoming X-Request-Id is kept, so a proxy's id links the logs) and a child
 * logger carrying it, echoes the id in the response, writes one access line and observes the request for the
 * metrics. One middleware for all of it: the notify route is the hottest path, and each middleware costs.
 *
 * The access line: method, route (the router's pattern, e.g. /api/orders/:id), path (without the query string,
 * which can carry secrets such as OAuth's `code`; cut at LOGGED_PATH_MAX), status, ms, and for a refused request
 * its error id and reason. Headers are never logged: they carry the bearer token.
 */
export function requestContext(logger: Logger, observers: RequestObservers = {}): Middleware<AppState> {
  const { metrics, notify } = observers;
  return async (ctx, next) => {
    const incoming = ctx.get('x-request-id');
    const requestId = INCOMING_ID_RE.test(incoming) ? incoming : randomUUID();
    ctx.state.requestId = requestId;
    ctx.state.log = logger.child({ requestId });
    ctx.set('X-Request-Id', requestId);
    const started = performance.now();
    const notifyKind = notify?.kindOf(ctx.method, ctx.path);
    const notification = notifyKind === undefined ? undefined : notify?.begin(ctx.req.headers, notifyKind);
    try {
      await next();
    } finally {
      const elapsedMs = performance.now() - started;
      const status = ctx.status;
      const matched = (ctx as { _matchedRoute?: string | RegExp })._matchedRoute;
      const route = matched === undefined ? undefined : String(matched);
      // A notification is answered in WeChat's protocol, not through the error handler: its outcome is the id.
      const outcome = notification === undefined ? undefined : notify?.finish(notification, status);
      metrics?.observeRequest(ctx.method, route ?? UNMATCHED_ROUTE, status, elapsedMs / 1000);
      const { errorReason } = ctx.state;
      const errorId = ctx.state.errorId ?? outcome;
      ctx.state.log.info(
        {
          method: ctx.method,
          route,
          path: cutPath(ctx.path),
          status,
          ms: Math.round(elapsedMs),
          ...(status >= 400 && errorId !== undefined ? { error: errorId } : {}),
          ...(errorReason !== undefined ? { reason: errorReason } : {}),
        },
        'request',
      );
    }
  };
}

export function cutPath(path: string): string {
  return path.length <= LOGGED_PATH_MAX
    ? path
    : `${path.slice(0, LOGGED_PATH_MAX)}…[cut ${path.length - LOGGED_PATH_MAX} chars]`;
}

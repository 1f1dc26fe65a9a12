/**
 * The notify_url without Koa. WeChat's callbacks (payment, refund, Native scan) are the hottest requests this
 * server gets, and the bench profile (bench/RESULTS.md "Where the CPU goes") charged about half of their CPU to
 * the HTTP + Koa layer: Koa's context and its delegates, the middleware chain (request context, headers, error
 * handler, router matching), a child logger per request. This listener answers a POST to one of the exact
 * callback paths itself, in front of Koa (server.ts), and hands every other request to Koa untouched.
 *
 * Same behaviour and guarantees as the Koa route (routes/notify/index.ts), which stays for every other spelling
 * of the path the router accepts (a trailing slash, another letter case): test/notify-fast-path.test.ts sends the
 * same requests both ways and compares the answers.
 *  - the same callback table and error path (`notifyCallbacks`, `failureReply`);
 *  - the body read by the shared capped reader: a declared Content-Length over the cap is refused before a
 *    byte is read, and the count is enforced while streaming; over the cap → the protocol's 413 refusal, with
 *    `payload_too_large` and the reason (`sizeCapReason`) on the access line, as `refuse()` does for Koa;
 *  - the reply is sent only after the handler resolved, i.e. after the Redis write (SUCCESS never earlier);
 *  - X-Request-Id (a sane incoming one kept, else a UUID) echoed, X-Content-Type-Options and Cache-Control as
 *    app.ts sets them, `Connection: close` while the server drains;
 *  - the same metrics: http request duration by route (the route label is the path, as the router's pattern
 *    is) and notifications by outcome through the NotifyObserver (begin with the request's headers object,
 *    which the handler hands to the gateway, then finish with the status);
 *  - the same access line (method, route, path, status, ms, error id and reason), but built only when the
 *    logger writes info lines, and the per-request child logger created only when something is logged.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { BodyTooLargeError, readCappedBody } from '@mp-pay/shared/core';
import type { AppContext } from '../context.ts';
import { AppError } from '../errors.ts';
import type { NotificationReply } from '../gateway/index.ts';
import type { Logger } from '../logger.ts';
import type { NotifyObserver } from '../metrics/notify-observer.ts';
import { failureReply, notifyCallbacks, type NotifyCallback } from '../routes/notify/index.ts';
import { sizeCapReason } from './body.ts';
import { cutPath } from './request-context.ts';

/** The same test as request-context.ts: a proxy's sane id is kept so its logs link to ours. */
const INCOMING_ID_RE = /^[A-Za-z0-9._:-]{8,64}$/;
const LEVELS = new Set(['trace', 'debug', 'info', 'warn', 'error', 'fatal']);
const noop = () => undefined;

export interface FastPathOptions {
  isShuttingDown: () => boolean;
  notify?: NotifyObserver;
}

/** Returns a listener step: true when it took the request (an exact callback path, POST), false for Koa. */
export function notifyFastPath(
  app: AppContext,
  options: FastPathOptions,
): (req: IncomingMessage, res: ServerResponse) => boolean {
  const routes = new Map<string, NotifyCallback>();
  for (const callback of notifyCallbacks(app)) routes.set(callback.path, callback);
  const limit = app.config.http.notifyLimitBytes;
  const { metrics, log: logger } = app;
  const { notify, isShuttingDown } = options;

  async function serve(
    req: IncomingMessage,
    res: ServerResponse,
    callback: NotifyCallback,
    path: string,
  ): Promise<void> {
    const started = performance.now();
    const incoming = req.headers['x-request-id'];
    const requestId = typeof incoming === 'string' && INCOMING_ID_RE.test(incoming) ? incoming : randomUUID();
    const log = lazyChild(logger, requestId);
    const kind = notify?.kindOf('POST', path);
    const observation = kind === undefined ? undefined : notify?.begin(req.headers, kind);
    let errorId: string | undefined;
    let errorReason: string | undefined;
    let reply: NotificationReply | undefined;
    let status: number;
    let headers: Record<string, string>;
    let body: string;
    try {
      try {
        const declared = req.headers['content-length'] ?? '';
        let raw: Buffer;
        try {
          raw = await readCappedBody(req, { limit, declaredLength: declared, label: 'request body' });
        } catch (err) {
          if (!(err instanceof BodyTooLargeError)) throw err;
          // As the rawBody middleware: the access line says why, the route answers in its own protocol.
          errorId = 'payload_too_large';
          errorReason = sizeCapReason(declared, limit);
          throw new AppError('payload_too_large');
        }
        reply = await callback.handle(app, { body: raw, headers: req.headers }, log);
      } catch (err) {
        reply = failureReply(callback, err, log);
      }
      status = reply.status;
      body = reply.body;
      headers = responseHeaders(requestId, reply, status);
    } catch (err) {
      // Only if rendering the refusal itself failed: what Koa's error handler would answer.
      log.error({ err }, 'request failed');
      const failure = new AppError('internal_error');
      errorId = failure.id;
      status = failure.status;
      body = JSON.stringify({ error: failure.id, message: failure.message, requestId });
      headers = responseHeaders(requestId, { status, contentType: 'application/json', body }, status);
    }
    // Observed before the reply goes out, as Koa's request-context middleware does (Koa responds after it).
    const elapsedMs = performance.now() - started;
    const outcome = observation === undefined ? undefined : notify?.finish(observation, status);
    metrics.observeRequest('POST', path, status, elapsedMs / 1000);
    if (logger.isLevelEnabled('info')) {
      const error = errorId ?? outcome;
      log.info(
        {
          method: 'POST',
          route: path,
          path: cutPath(path),
          status,
          ms: Math.round(elapsedMs),
          ...(status >= 400 && error !== undefined ? { error } : {}),
          ...(errorReason !== undefined ? { reason: errorReason } : {}),
        },
        'request',
      );
    }
    // Draining: tell keep-alive clients to reconnect elsewhere (app.ts does the same for Koa's routes).
    if (isShuttingDown()) headers.Connection = 'close';
    // A client that went away gets nothing (Koa's `ctx.writable` check); the outcome is counted all the same.
    if (!res.writableEnded && !res.destroyed) {
      res.writeHead(status, headers);
      res.end(body);
    }
  }

  /** Nothing in serve throws once the reply is sent; if it ever did, say so rather than lose it. */
  function failed(res: ServerResponse, err: unknown): void {
    logger.warn({ err, requestId: res.getHeader('x-request-id') }, 'notify fast path failed');
    if (!res.headersSent) res.writeHead(500).end();
  }

  return (req, res) => {
    if (req.method !== 'POST') return false;
    const url = req.url ?? '';
    const query = url.indexOf('?');
    const path = query === -1 ? url : url.slice(0, query);
    const callback = routes.get(path);
    if (callback === undefined) return false;
    void serve(req, res, callback, path).catch(failed.bind(undefined, res));
    return true;
  };
}

/**
 * The headers Koa sends for this reply: the request id, app.ts's two, then Koa's own (`ctx.type` completes
 * `text/xml` to `text/xml; charset=utf-8`; an empty-body status such as v3's 204 has no type and no length).
 */
function responseHeaders(
  requestId: string,
  reply: NotificationReply,
  status: number,
): Record<string, string> {
  const headers: Record<string, string> = {
    'X-Request-Id': requestId,
    'X-Content-Type-Options': 'nosniff',
    'Cache-Control': 'no-store',
  };
  if (status !== 204 && status !== 205 && status !== 304) {
    headers['Content-Type'] = withCharset(reply.contentType);
    headers['Content-Length'] = String(Buffer.byteLength(reply.body));
  }
  return headers;
}

/** What Koa's `ctx.type =` makes of the gateway's content types (mime-types adds UTF-8 to text and JSON). */
function withCharset(type: string): string {
  return type.includes(';') || !(type.startsWith('text/') || type === 'application/json')
    ? type
    : `${type}; charset=utf-8`;
}

/**
 * The request's logger (bound to its id), made on first use: a child logger costs a bindings serialisation
 * through the redaction rules, and most notifications log nothing at the production level. A disabled level
 * is a no-op without making it.
 */
function lazyChild(parent: Logger, requestId: string): Logger {
  return new Proxy(parent, new LazyChildHandler(parent, requestId));
}

/** A class, not closures: nothing but one small object is made per request. */
class LazyChildHandler implements ProxyHandler<Logger> {
  #child: Logger | undefined;
  constructor(
    private readonly parent: Logger,
    private readonly requestId: string,
  ) {}

  get(_target: Logger, prop: string | symbol): unknown {
    if (typeof prop === 'string' && LEVELS.has(prop) && !this.parent.isLevelEnabled(prop)) return noop;
    const logger = (this.#child ??= this.parent.child({ requestId: this.requestId }));
    const value: unknown = Reflect.get(logger, prop, logger);
    return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(logger) : value;
  }
}

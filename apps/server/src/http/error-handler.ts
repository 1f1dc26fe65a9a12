import type { ErrorBody } from '@mp-pay/shared/api';
import type { Middleware } from 'koa';
import { AppError, StoreUnavailableError } from '../errors.ts';
import type { AppState } from './state.ts';

/** A known path asked with a method it does not serve: 405 method_not_allowed, with `Allow`. */
class MethodNotAllowed extends AppError {
  readonly allow: string;
  constructor(method: string, allow: string[]) {
    super('method_not_allowed', `It accepts ${allow.join(', ')}, not ${method}.`);
    this.allow = allow.join(', ');
  }
}

/**
 * The one place that shapes error responses: `{error, message, requestId}` from the catalogue. Anything that is
 * not an AppError is logged with the request id and masked as internal_error (or service_unavailable when the
 * store is unreachable): stack traces, WeChat replies and secrets never reach a client. The error id goes to
 * ctx.state for the access log line (request-context.ts).
 */
export function errorHandler(): Middleware<AppState> {
  return async (ctx, next) => {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) {
        const refusal = notFound(ctx);
        if (refusal) throw refusal;
      }
    } catch (err) {
      if (err instanceof MethodNotAllowed) ctx.set('Allow', err.allow);
      const appError = toAppError(err);
      const log = ctx.state.log;
      if (appError.id === 'internal_error' || appError.id === 'service_unavailable') {
        log.error({ err }, 'request failed');
      } else if (appError.status >= 500) {
        log.warn({ error: appError.id, err: (err as Error).cause ?? err }, 'request failed');
      }
      ctx.state.errorId = appError.id;
      const body: ErrorBody = {
        error: appError.id,
        message: appError.message,
        requestId: ctx.state.requestId,
      };
      ctx.status = appError.status;
      ctx.body = body;
      if (appError.status === 401) ctx.set('WWW-Authenticate', 'Bearer');
    }
  };
}

/**
 * Nothing answered: 404, or 405 when the routers know the path under other methods (@koa/router records every
 * layer whose path matched in ctx.matched, across all routers). OPTIONS on a known path lists the methods.
 */
function notFound(ctx: Parameters<Middleware<AppState>>[0]): AppError | undefined {
  const matched = (ctx as { matched?: { methods: string[] }[] }).matched;
  if (matched !== undefined && matched.length > 0) {
    const allowed = new Set<string>();
    for (const layer of matched) for (const method of layer.methods) allowed.add(method);
    // A route matched the method too and chose to answer 404 (a missing static file): a real 404.
    if (allowed.size > 0 && !allowed.has(ctx.method)) {
      if (ctx.method === 'OPTIONS') {
        ctx.status = 204;
        ctx.set('Allow', [...allowed, 'OPTIONS'].join(', '));
        return undefined;
      }
      return new MethodNotAllowed(ctx.method, [...allowed]);
    }
  }
  return new AppError('not_found');
}

function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  if (err instanceof StoreUnavailableError) return new AppError('service_unavailable');
  // Koa / koa-body / co-body errors for malformed requests (bad JSON, too large, bad charset) carry a 4xx status.
  const status = (err as { status?: unknown }).status;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    if (status === 413) return new AppError('payload_too_large');
    if (status === 415) return new AppError('unsupported_media_type');
    return new AppError('invalid_request');
  }
  return new AppError('internal_error');
}

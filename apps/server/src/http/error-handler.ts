import type { ErrorBody } from '@mp-pay/shared/api';
import type { Middleware } from 'koa';
import { AppError, StoreUnavailableError } from '../errors.ts';
import type { AppState } from './state.ts';

/**
 * The one place that shapes error responses: `{error, message, requestId}` from the catalogue. Anything that is
 * not an AppError is logged with the request id and masked as internal_error (or service_unavailable when the
 * store is unreachable): stack traces, WeChat replies and secrets never reach a client.
 */
export function errorHandler(): Middleware<AppState> {
  return async (ctx, next) => {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) throw new AppError('not_found');
    } catch (err) {
      const appError = toAppError(err);
      const log = ctx.state.log;
      if (appError.id === 'internal_error' || appError.id === 'service_unavailable') {
        log.error({ err }, 'request failed');
      } else if (appError.status >= 500) {
        log.warn({ error: appError.id, err: (err as Error).cause ?? err }, 'request failed');
      }
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

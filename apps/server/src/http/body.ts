import { BodyTooLargeError, readCappedBody } from '@mp-pay/shared/core';
import { koaBody } from 'koa-body';
import { AppError } from '../errors.ts';
import type { AppMiddleware, AppRouterContext } from './state.ts';

/** JSON bodies for the API routes: size-capped, objects/arrays only, anything but JSON refused with 415. */
export function jsonBody(limitBytes: number): AppMiddleware {
  const parse = koaBody({
    json: true,
    jsonLimit: limitBytes,
    jsonStrict: true,
    urlencoded: false,
    text: false,
    multipart: false,
  }) as unknown as AppMiddleware;
  return async (ctx, next) => {
    const length = Number(ctx.get('content-length') || 0);
    const hasBody = length > 0 || ctx.get('transfer-encoding') !== '';
    if (hasBody && !ctx.is('application/json')) throw new AppError('unsupported_media_type');
    await parse(ctx, next);
  };
}

/**
 * The exact bytes of the request, capped: the notification signature must be checked over what WeChat sent, so
 * no parser may touch the body first. Over the cap → 413 before buffering more (the shared capped reader).
 */
export function rawBody(limitBytes: number): AppMiddleware {
  return async (ctx, next) => {
    try {
      ctx.state.rawBody = await readCappedBody(ctx.req, {
        limit: limitBytes,
        declaredLength: ctx.get('content-length'),
        label: 'request body',
      });
    } catch (err) {
      if (err instanceof BodyTooLargeError) {
        // The access line says why (the route may answer in its own protocol, not through the error handler).
        refuse(ctx, 'payload_too_large', sizeCapReason(ctx.get('content-length'), limitBytes));
        throw new AppError('payload_too_large');
      }
      throw err;
    }
    await next();
  };
}

/** Notes a refusal on the request for its access log line (request-context.ts), whoever renders the answer. */
export function refuse(ctx: AppRouterContext, errorId: string, reason: string): void {
  ctx.state.errorId = errorId;
  ctx.state.errorReason = reason;
}

/**
 * "body over the 65536-byte cap (Content-Length 70000)": the declared length only when it is a number. Also the
 * notify fast path's reason (notify-fast-path.ts), so both paths log the same words.
 */
export function sizeCapReason(declared: string, limitBytes: number): string {
  const length = /^\d{1,15}$/.test(declared) ? ` (Content-Length ${declared})` : ' (streamed past it)';
  return `body over the ${limitBytes}-byte cap${length}`;
}

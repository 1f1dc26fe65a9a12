import type { z } from 'zod';
import { AppError } from '../errors.ts';
import type { AppMiddleware, AppRouterContext } from './state.ts';

export interface RouteInput {
  body?: unknown;
  params?: Record<string, string>;
  query?: Record<string, unknown>;
  headers?: Record<string, unknown>;
}

/**
 * Validates a route's input against its zod schema and stores the typed result in ctx.state.input; a mismatch
 * is a 400 invalid_request naming the fields (never echoing their values).
 */
export function validate<S extends z.ZodType>(schema: S): AppMiddleware {
  return async (ctx, next) => {
    const result = schema.safeParse({
      body: ctx.request.body,
      params: ctx.params,
      query: ctx.query,
      headers: ctx.headers,
    } satisfies RouteInput);
    if (!result.success) {
      const fields = result.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`);
      throw new AppError('invalid_request', fields.slice(0, 5).join('; '));
    }
    ctx.state.input = result.data;
    await next();
  };
}

/** The validated input of the current route, typed by its schema. */
export function inputOf<S extends z.ZodType>(ctx: AppRouterContext, _schema: S): z.infer<S> {
  return ctx.state.input as z.infer<S>;
}

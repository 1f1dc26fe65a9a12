import type { Context } from 'koa';

/** The one shape of the sandbox's own (non-WeChat) JSON errors: {error: {id, message}}. */
export function sendJsonError(ctx: Context, status: number, id: string, message: string): void {
  ctx.status = status;
  ctx.body = { error: { id, message } };
}

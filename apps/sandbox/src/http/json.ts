import type { Context } from 'koa';

/**
 * The one shape of the sandbox's own (non-WeChat) JSON errors, the same envelope as the merchant server's:
 * `{error, message}` (the server adds `requestId`). `error` is a stable id (BAD_REQUEST, UNKNOWN_APPID…), the
 * message is for the person reading it. WeChat's own endpoints keep WeChat's formats (XML, errcode, v3 JSON).
 */
export interface SandboxErrorBody {
  error: string;
  message: string;
}

export function sendJsonError(ctx: Context, status: number, id: string, message: string): void {
  ctx.status = status;
  ctx.body = { error: id, message } satisfies SandboxErrorBody;
}

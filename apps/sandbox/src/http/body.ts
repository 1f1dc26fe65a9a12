import type { Context } from 'koa';
import { readCappedBody } from '@mp-pay/shared/core';

/** The shared reader's error, re-exported so the sandbox's handlers keep one import for body reading. */
export { BodyTooLargeError } from '@mp-pay/shared/core';

/**
 * Reads the raw request body, refusing to buffer more than `limit` bytes (BodyTooLargeError). Raw bytes (not a
 * parsed object) are what the pay endpoints need: they check UTF-8 and XML shape themselves, as WeChat does.
 */
export function readRawBody(ctx: Context, limit: number): Promise<Buffer> {
  return readCappedBody(ctx.req, { limit, declaredLength: ctx.get('content-length'), label: 'request body' });
}

/** What the control endpoints answer when readJsonObject gives undefined (typically a curl quoting slip). */
export const NOT_A_JSON_OBJECT = 'the request body must be a JSON object, e.g. {"appid":"wx…"}';

/** Reads a JSON object body; returns undefined when the body is not a JSON object. */
export async function readJsonObject(
  ctx: Context,
  limit = 16 * 1024,
): Promise<Record<string, unknown> | undefined> {
  const raw = await readRawBody(ctx, limit);
  if (raw.byteLength === 0) return {};
  try {
    const value: unknown = JSON.parse(raw.toString('utf8'));
    return value !== null && typeof value === 'object' && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

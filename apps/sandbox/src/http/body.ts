import type { Context } from 'koa';

export class BodyTooLargeError extends Error {
  override readonly name = 'BodyTooLargeError';
  constructor(readonly limit: number) {
    super(`request body exceeds ${limit} bytes`);
  }
}

/**
 * Reads the raw request body, refusing to buffer more than `limit` bytes. Raw bytes (not a parsed object) are
 * what the pay endpoints need: they check UTF-8 and XML shape themselves, as WeChat does.
 */
export async function readRawBody(ctx: Context, limit: number): Promise<Buffer> {
  const declared = Number(ctx.get('content-length') || NaN);
  if (declared > limit) throw new BodyTooLargeError(limit);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
    size += chunk.byteLength;
    if (size > limit) throw new BodyTooLargeError(limit);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
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

import { WechatError, type WechatErrorOptions } from './errors.ts';

/**
 * The one capped body reader, for both directions: replies we fetch (a fetch body, a node:http response) and
 * requests we receive (a Node IncomingMessage, e.g. a payment notification). Either is an
 * AsyncIterable<Uint8Array>; nobody gets to make us buffer more than `limit` bytes.
 */
export class BodyTooLargeError extends WechatError {
  override readonly name = 'BodyTooLargeError';
  declare readonly code: 'TOO_LARGE';
  readonly limit: number;

  constructor(limit: number, message = `body exceeds ${limit} bytes`, options?: WechatErrorOptions) {
    super('TOO_LARGE', message, options);
    this.limit = limit;
  }
}

export interface ReadCappedOptions {
  /** Most bytes accepted. */
  limit: number;
  /**
   * The declared Content-Length (header text or number), when known: a body announced as too large is refused
   * before a byte is read. The count is still enforced while reading, since the header may lie.
   */
  declaredLength?: string | number | null;
  /** Names the body in the error message, e.g. `request body` (default `body`). */
  label?: string;
}

/**
 * Reads the whole body into one Buffer, throwing BodyTooLargeError as soon as it is known to exceed `limit`.
 * When it stops mid-stream, `for await` ends the iteration, which cancels a fetch body or destroys a Node
 * stream; when it refuses on the declared length alone the source is untouched and the caller decides whether
 * to drain or drop it (a server usually still wants to answer).
 */
export async function readCappedBody(
  source: AsyncIterable<Uint8Array> | null | undefined,
  options: ReadCappedOptions,
): Promise<Buffer> {
  const { limit } = options;
  const tooLarge = () => new BodyTooLargeError(limit, `${options.label ?? 'body'} exceeds ${limit} bytes`);
  const declared = options.declaredLength;
  if (declared !== undefined && declared !== null && declared !== '' && Number(declared) > limit) {
    throw tooLarge();
  }
  if (!source) return Buffer.alloc(0);
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of source) {
    size += chunk.byteLength;
    if (size > limit) throw tooLarge();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size);
}

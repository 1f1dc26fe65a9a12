import { BodyTooLargeError, readCappedBody } from '../core/body.ts';
import { WechatPayTransportError } from './errors.ts';

/**
 * Reads a fetch body as UTF-8 text, refusing to buffer more than `limit` bytes (the core reader, in the v2
 * error family: too large is a retryable WechatPayTransportError TOO_LARGE).
 */
export async function readCapped(res: Response, limit: number): Promise<string> {
  try {
    const body = res.body as AsyncIterable<Uint8Array> | null;
    const bytes = await readCappedBody(body, { limit, declaredLength: res.headers.get('content-length') });
    return bytes.toString('utf8');
  } catch (err) {
    if (!(err instanceof BodyTooLargeError)) throw err;
    // Refused on the declared length, the body is still open: release the connection. (Cancelling an already
    // cancelled stream is harmless.)
    await res.body?.cancel().catch(() => undefined);
    throw new WechatPayTransportError('TOO_LARGE', `reply larger than ${limit} bytes`);
  }
}

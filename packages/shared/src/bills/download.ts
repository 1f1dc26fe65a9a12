import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { readCappedBody } from '../core/body.ts';
import type { TlsOptions } from '../core/client-certificate.ts';

/**
 * Bills can be tens of megabytes (a busy merchant's day): far above the 64–256 KiB the JSON/XML calls accept.
 * 200 MB is the ceiling; the clients take a smaller one as an option.
 */
export const MAX_BILL_BYTES = 200 * 1024 * 1024;

export interface BytesReply {
  status: number;
  headers: Readonly<Record<string, string>>;
  body: Buffer;
}

/**
 * One HTTP exchange whose reply is bytes, not text (a bill may be gzipped). The shared HttpTransport decodes
 * replies as UTF-8, so the bill downloads use this small reader: one deadline for the whole exchange, capped body.
 * Throws the raw Node error, or a BodyTooLargeError; the clients map both into their error families.
 */
export async function requestBytes(req: {
  method: 'GET' | 'POST';
  url: URL;
  headers: Record<string, string>;
  body?: string;
  timeoutMs: number;
  maxBytes: number;
  /** Trust roots replacing Node's, for a local HTTPS stand-in only (TlsOptions.ca). */
  ca?: TlsOptions['ca'];
}): Promise<BytesReply> {
  const body = req.body === undefined ? undefined : Buffer.from(req.body);
  const headers = { ...req.headers, ...(body ? { 'content-length': String(body.byteLength) } : {}) };
  const send = req.url.protocol === 'https:' ? httpsRequest : httpRequest;
  let incoming: IncomingMessage | undefined;
  const controller = new AbortController();
  const timer = setTimeout(() => {
    const reason = new Error(`${req.url.host} did not answer within ${req.timeoutMs} ms`);
    reason.name = 'TimeoutError';
    controller.abort(reason);
    incoming?.destroy(reason);
  }, req.timeoutMs);
  try {
    incoming = await new Promise<IncomingMessage>((resolve, reject) => {
      const tls = req.ca === undefined ? {} : { ca: toList(req.ca) };
      const outgoing = send(
        req.url,
        { method: req.method, headers, signal: controller.signal, ...tls },
        resolve,
      );
      outgoing.on('error', reject);
      outgoing.end(body);
    });
    const replyHeaders: Record<string, string> = {};
    for (const [name, value] of Object.entries(incoming.headers)) {
      if (value !== undefined) replyHeaders[name] = Array.isArray(value) ? value.join(', ') : value;
    }
    const bytes = await readCappedBody(incoming, {
      limit: req.maxBytes,
      declaredLength: replyHeaders['content-length'],
      label: 'bill',
    }).catch((err: unknown) => {
      incoming?.destroy();
      throw err;
    });
    return { status: incoming.statusCode ?? 0, headers: replyHeaders, body: bytes };
  } catch (err) {
    if (controller.signal.aborted) throw controller.signal.reason;
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

function toList(ca: NonNullable<TlsOptions['ca']>): (string | Buffer)[] {
  const list = typeof ca === 'string' || ca instanceof Uint8Array ? [ca] : [...ca];
  return list.map((item) => (typeof item === 'string' ? item : Buffer.from(item)));
}

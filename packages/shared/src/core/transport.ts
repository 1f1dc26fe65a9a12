import {
  Agent as HttpAgent,
  request as httpRequest,
  type ClientRequest,
  type IncomingMessage,
} from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { BodyTooLargeError, readCappedBody } from './body.ts';
import { secureContextFor, type TlsOptions } from './client-certificate.ts';
import { WechatError, WechatTransportError } from './errors.ts';

/**
 * The one HTTP transport of every WeChat client (APIv2 pay, login, APIv3 later): one request in, status +
 * headers + capped text out, every failure a WechatTransportError. Built on node:http(s) rather than fetch
 * because mutual TLS (APIv2 refunds) needs a client certificate on the connection, which global fetch cannot
 * present without a separate undici install; connections are kept alive per transport, as fetch did.
 */
export type HttpTransportOptions = TlsOptions;

export interface HttpRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  url: string | URL;
  headers?: Readonly<Record<string, string>>;
  body?: string | Uint8Array;
  /** For the whole exchange: connect, send, and read the full reply. */
  timeoutMs: number;
  /** Largest reply body read; a larger one is a TOO_LARGE transport error. */
  maxBytes: number;
}

export interface HttpReply {
  status: number;
  /** Lower-case names; repeated headers joined with `, `. */
  headers: Readonly<Record<string, string>>;
  /** The body decoded as UTF-8. */
  text: string;
}

export class HttpTransport {
  /** Whether calls present a client certificate (refund and other `/secapi/` calls need one). */
  readonly hasClientCertificate: boolean;
  readonly #http = new HttpAgent({ keepAlive: true });
  readonly #https: HttpsAgent;

  constructor(options: HttpTransportOptions = {}) {
    this.hasClientCertificate = options.clientCertificate !== undefined;
    const secureContext = secureContextFor(options);
    this.#https = new HttpsAgent({ keepAlive: true, ...(secureContext ? { secureContext } : {}) });
  }

  async request(req: HttpRequest): Promise<HttpReply> {
    const url = typeof req.url === 'string' ? new URL(req.url) : req.url;
    const secure = url.protocol === 'https:';
    if (!secure && url.protocol !== 'http:')
      throw new TypeError(`HttpTransport: unsupported URL ${url.origin}`);
    const body = req.body === undefined ? undefined : Buffer.from(req.body);
    const headers = { ...req.headers, ...(body ? { 'content-length': String(body.byteLength) } : {}) };

    let outgoing: ClientRequest | undefined;
    let incoming: IncomingMessage | undefined;
    let timedOut = false;
    // One deadline for the whole exchange: a server that answers headers and then trickles the body is as
    // unavailable as one that never answers.
    const timer = setTimeout(() => {
      timedOut = true;
      const reason = new Error('deadline reached');
      outgoing?.destroy(reason);
      incoming?.destroy(reason);
    }, req.timeoutMs);
    try {
      incoming = await new Promise<IncomingMessage>((resolve, reject) => {
        const send = secure ? httpsRequest : httpRequest;
        outgoing = send(
          url,
          { method: req.method, headers, agent: secure ? this.#https : this.#http },
          resolve,
        );
        outgoing.on('error', reject);
        outgoing.end(body);
      });
      const replyHeaders = flatten(incoming.headers);
      const status = incoming.statusCode ?? 0;
      const bytes = await readCappedBody(incoming, {
        limit: req.maxBytes,
        declaredLength: replyHeaders['content-length'],
      }).catch((err: unknown) => {
        if (!(err instanceof BodyTooLargeError)) throw err;
        incoming?.destroy();
        throw new WechatTransportError(
          'TOO_LARGE',
          `reply from ${url.host} larger than ${req.maxBytes} bytes`,
          {
            httpStatus: status,
            requestId: replyHeaders['request-id'],
          },
        );
      });
      return { status, headers: replyHeaders, text: bytes.toString('utf8') };
    } catch (err) {
      if (err instanceof WechatError) throw err;
      if (timedOut) {
        throw new WechatTransportError('TIMEOUT', `${url.host} did not answer within ${req.timeoutMs} ms`);
      }
      // The message names the host only: a URL's query can hold a secret (code2Session's does).
      const code = (err as NodeJS.ErrnoException | undefined)?.code ?? (err as Error | undefined)?.message;
      throw new WechatTransportError('NETWORK', `could not reach ${url.host} (${code})`, { cause: err });
    } finally {
      clearTimeout(timer);
    }
  }

  /** Closes pooled connections (idle keep-alive sockets never hold the process open anyway). */
  close(): void {
    this.#http.destroy();
    this.#https.destroy();
  }
}

function flatten(headers: IncomingMessage['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) out[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';

/**
 * HTTP without a client's helpfulness: exact bytes, any headers, no automatic decompression, one fresh
 * connection per request (a hostile request must not be able to poison a pooled connection for the next one).
 */
export interface RawReply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export interface RawRequest {
  method?: string;
  path: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
}

export function send(baseUrl: string, req: RawRequest): Promise<RawReply> {
  const url = new URL(req.path, baseUrl);
  return new Promise((resolve, reject) => {
    const r = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        method: req.method ?? 'POST',
        path: `${url.pathname}${url.search}`,
        headers: req.headers ?? {},
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        res.on('error', reject);
      },
    );
    r.on('error', reject);
    r.end(req.body);
  });
}

/** Bytes straight onto a socket, for what no HTTP client will send (bad header bytes, huge headers). */
export function sendBytes(baseUrl: string, bytes: Buffer): Promise<RawReply> {
  const url = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname);
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', reject);
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('latin1');
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1] ?? 0);
      const body = text.slice(text.indexOf('\r\n\r\n') + 4);
      resolve({ status, headers: {}, body });
    });
    socket.end(bytes);
  });
}

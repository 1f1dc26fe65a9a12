import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type ServerOptions as HttpsServerOptions } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { afterAll, beforeAll, beforeEach, expect } from 'vitest';
import { buildXml, parseXml, signV2, type SignType } from '../src/v2/index.ts';

export interface Received {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
  /** HTTPS with a client certificate: its subject CN (undefined otherwise). */
  clientCertCn: string | undefined;
}

export type Handler = (req: Received, res: ServerResponse) => unknown;

export interface FakeWechat {
  url: string;
  received: Received[];
  setHandler(handler: Handler): void;
  close(): Promise<void>;
}

/**
 * A throwaway server on port 0 standing in for WeChat; each test sets `handler`. With `tls` it is an HTTPS
 * server (e.g. one that requires a client certificate, like WeChat's /secapi/ paths).
 */
export async function startFakeWechat(tls?: HttpsServerOptions): Promise<FakeWechat> {
  let handler: Handler = (_req, res) => {
    res.statusCode = 500;
    res.end('no handler');
  };
  const received: Received[] = [];
  const listener = (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const socket = req.socket as Partial<TLSSocket>;
      const cn = socket.getPeerCertificate?.()?.subject?.CN;
      const r = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        clientCertCn: typeof cn === 'string' ? cn : undefined,
      };
      received.push(r);
      void Promise.resolve(handler(r, res)).catch((err: unknown) => {
        res.statusCode = 500;
        res.end(String(err));
      });
    });
  };
  const server: Server = tls ? createHttpsServer(tls, listener) : createServer(listener);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `${tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    received,
    setHandler(h) {
      handler = h;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * The fake of one test file: started before its tests, closed after them, and its `received` emptied before each
 * test, so a test sees only its own requests. The returned object reads through to the running fake (usable from
 * the tests and hooks, not at module load).
 */
export function fakeWechatPerFile(tls?: HttpsServerOptions): FakeWechat {
  let fake: FakeWechat | undefined;
  const running = (): FakeWechat => {
    if (!fake) throw new Error('the fake WeChat is not running (used outside the tests?)');
    return fake;
  };
  beforeAll(async () => {
    fake = await startFakeWechat(tls);
  });
  afterAll(() => fake?.close());
  beforeEach(() => {
    if (fake) fake.received.length = 0;
  });
  return {
    get url() {
      return running().url;
    },
    get received() {
      return running().received;
    },
    setHandler: (handler) => running().setHandler(handler),
    close: () => running().close(),
  };
}

/** A handler that answers `body` as JSON (WeChat's login and message APIs answer JSON, errors included). */
export function jsonReply(body: unknown, status = 200): Handler {
  return (_req, res) => {
    res.statusCode = status;
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(body));
  };
}

/** What a client's call rejected with, checked to be a `type`; a call that resolves fails the test. */
export async function rejectionOf<E>(
  promise: Promise<unknown>,
  type: abstract new (...args: never[]) => E,
): Promise<E> {
  const error = await promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(type);
  return error as E;
}

/**
 * A v2 reply as WeChat signs it: with the merchant key and the request's sign type, naming the request's appid
 * (unless `fields` says otherwise) and the given mch_id.
 */
export function signedV2Reply(
  req: Received,
  fields: Record<string, string>,
  merchant: { key: string; mchId: string },
): string {
  const request = parseXml(req.body);
  const signType = (request.sign_type as SignType | undefined) ?? 'MD5';
  const reply: Record<string, string> = {
    return_code: 'SUCCESS',
    return_msg: 'OK',
    appid: request.appid ?? '',
    mch_id: merchant.mchId,
    nonce_str: 'replyNonce123',
    result_code: 'SUCCESS',
    ...fields,
  };
  reply.sign = signV2(reply, merchant.key, signType);
  return buildXml(reply);
}

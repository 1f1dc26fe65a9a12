/**
 * The notify fast path (src/http/notify-fast-path.ts) answers POST /wechatpay/notify in front of Koa. Two servers
 * on one Redis prefix and one sandbox, one with the fast path and one without (the Koa route, the reference),
 * get the same requests and must give the same answers: status, body, headers (but the date and the request
 * id), the same access line and the same metrics; a paid order is paid once whichever carried its notifications.
 */
import { request } from 'node:http';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../src/index.ts';
import { notificationXml } from './helpers/notification.ts';
import { TEST_REDIS_URL } from './helpers/redis.ts';
import { createdOrder, paidEvents, signIn, startStack, storedStatus, type Stack } from './helpers/stack.ts';

const PATH = '/wechatpay/notify';
type Way = 'fast' | 'koa';

interface Answer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

interface Line {
  msg: string;
  requestId?: string;
  [field: string]: unknown;
}

let stack: Stack;
let koaServer: RunningServer;
const lines: string[] = [];
beforeAll(async () => {
  stack = await startStack({ label: 'fastpath', logs: lines });
  koaServer = await startServer({
    port: 0,
    notifyFastPath: false,
    env: {
      NODE_ENV: 'test',
      SANDBOX_PORT: new URL(stack.sandbox.url).port,
      SANDBOX_TLS_PORT: new URL(stack.sandbox.tlsUrl).port,
      REDIS_URL: TEST_REDIS_URL,
      REDIS_PREFIX: stack.prefix,
      WORKER_ENABLED: 'false',
      LOG_LEVEL: 'debug',
    },
    logStream: new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
        done();
      },
    }),
  });
});
afterAll(async () => {
  await koaServer?.close();
  await stack?.close();
});

const serverOf = (way: Way) => (way === 'fast' ? stack.server : koaServer);

/** node:http, so the raw headers are seen as sent (fetch hides some) and a body can be streamed in chunks. */
function send(way: Way, body: string | string[], headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const url = new URL(serverOf(way).url);
    const chunked = Array.isArray(body);
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        path: PATH,
        method: 'POST',
        // One connection per request: a refused upload may end its connection.
        agent: false,
        headers: {
          'content-type': 'text/xml',
          ...(chunked ? {} : { 'content-length': String(Buffer.byteLength(body)) }),
          ...headers,
        },
      },
      (res) => {
        const parts: Buffer[] = [];
        res.on('data', (c: Buffer) => parts.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers as Record<string, string>,
            body: Buffer.concat(parts).toString('utf8'),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    if (chunked) for (const part of body) req.write(part);
    else req.write(body);
    req.end();
  });
}

/** What must be equal both ways: everything but the date and the request id. */
function comparable(answer: Answer) {
  const { date: _date, 'x-request-id': _id, ...headers } = answer.headers;
  return { status: answer.status, headers, body: answer.body };
}

function accessLine(requestId: string | undefined) {
  const line = lines
    .map((l) => JSON.parse(l) as Line)
    .find((l) => l.msg === 'request' && l.requestId === requestId);
  if (!line) throw new Error(`no access line for ${requestId}`);
  const { time: _t, requestId: _r, ms, pid: _p, hostname: _h, ...rest } = line;
  expect(typeof ms).toBe('number');
  return rest;
}

async function pendingOrder(user: string) {
  const token = await signIn(stack, user);
  return (await createdOrder(stack.server, token)).order;
}

describe('the notify fast path answers as the Koa route does', () => {
  it('pays an order (SUCCESS only once recorded) and acknowledges the duplicate, the same both ways', async () => {
    const key = stack.server.config.wechatpay.key;
    const answers: Answer[] = [];
    for (const way of ['fast', 'koa'] as const) {
      const order = await pendingOrder(`fastpath-${way}`);
      const xml = notificationXml(
        stack.server,
        { outTradeNo: order.outTradeNo, totalFee: order.totalFen },
        key,
      );
      const first = await send(way, xml);
      expect(await storedStatus(stack.server, order.id)).toBe('PAID');
      const again = await send(way, xml);
      answers.push(first, again);
      expect(await paidEvents(stack.server, order.id)).toHaveLength(1);
    }
    const [fastPaid, fastDup, koaPaid, koaDup] = answers.map(comparable);
    expect(fastPaid?.body).toMatch(/SUCCESS/);
    expect(fastPaid).toEqual(koaPaid);
    expect(fastDup).toEqual(koaDup);
    expect(fastPaid?.headers).toMatchObject({
      'content-type': 'text/xml; charset=utf-8',
      'x-content-type-options': 'nosniff',
      'cache-control': 'no-store',
    });
  });

  it.each([
    ['a forged signature', 'forged'],
    ['an unknown order', 'unknown'],
    ['a hostile body (DOCTYPE)', 'doctype'],
  ])('refuses %s with the same answer and access line', async (_what, kind) => {
    const key = stack.server.config.wechatpay.key;
    const outTradeNo = '20260101120000ABCDEFGHJKLMNPQR99';
    const xml =
      kind === 'doctype'
        ? '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY x "y">]><xml><a>&x;</a></xml>'
        : notificationXml(
            stack.server,
            { outTradeNo, totalFee: 1 },
            kind === 'forged' ? 'f'.repeat(32) : key,
          );
    const fast = await send('fast', xml);
    const koa = await send('koa', xml);
    expect(fast.status).toBeGreaterThanOrEqual(400);
    expect(comparable(fast)).toEqual(comparable(koa));
    const fastLine = accessLine(fast.headers['x-request-id']);
    expect(fastLine).toEqual(accessLine(koa.headers['x-request-id']));
    expect(fastLine).toMatchObject({ method: 'POST', route: PATH, path: PATH, status: fast.status });
    expect(fastLine.error).toMatch(/^rejected_|unknown_order/);
  });

  it('refuses a body declared over the cap with 413 and the reason logged, before reading it', async () => {
    const limit = stack.server.config.http.notifyLimitBytes;
    const body = 'x'.repeat(limit + 1);
    const fast = await send('fast', body);
    const koa = await send('koa', body);
    expect(fast.status).toBe(413);
    expect(comparable(fast)).toEqual(comparable(koa));
    const fastLine = accessLine(fast.headers['x-request-id']);
    expect(fastLine).toEqual(accessLine(koa.headers['x-request-id']));
    expect(fastLine).toMatchObject({
      error: 'payload_too_large',
      reason: `body over the ${limit}-byte cap (Content-Length ${limit + 1})`,
    });
  });

  it('stops reading a chunked body once it streams past the cap, as the Koa route does', async () => {
    const limit = stack.server.config.http.notifyLimitBytes;
    const chunks = Array.from({ length: 8 }, () => 'x'.repeat(Math.ceil(limit / 4)));
    const outcome = (way: Way) =>
      send(way, chunks).then(
        (a) => a.status,
        (err: NodeJS.ErrnoException) => err.code,
      );
    const fast = await outcome('fast');
    expect(fast).toBe(await outcome('koa'));
    const refusals = lines
      .map((l) => JSON.parse(l) as Line)
      .filter(
        (l) => l.msg === 'request' && l.reason === `body over the ${limit}-byte cap (streamed past it)`,
      );
    expect(refusals).toHaveLength(2);
    expect(refusals.every((l) => l.status === 413 && l.error === 'payload_too_large')).toBe(true);
  });

  it('echoes a sane X-Request-Id and replaces an insane one', async () => {
    const kept = await send('fast', '<xml/>', { 'x-request-id': 'proxy-id-12345678' });
    expect(kept.headers['x-request-id']).toBe('proxy-id-12345678');
    const replaced = await send('fast', '<xml/>', { 'x-request-id': 'no spaces allowed here' });
    expect(replaced.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('feeds the same metrics: notifications by outcome and request duration by route', async () => {
    const scrape = async () =>
      Promise.all([stack.server, koaServer].map(async (s) => (await fetch(s.metricsUrl)).text()));
    const count = (text: string, re: RegExp) => Number(re.exec(text)?.[1] ?? 0);
    const outcome =
      /^mppay_notifications_total\{kind="payment",api="v2",outcome="rejected_signature"\} (\d+)$/m;
    const duration =
      /^mppay_http_request_duration_seconds_count\{method="POST",route="\/wechatpay\/notify",status_class="4xx"\} (\d+)$/m;
    const forged = notificationXml(
      stack.server,
      { outTradeNo: '20260101120000ABCDEFGHJKLMNPQR98', totalFee: 1 },
      'e'.repeat(32),
    );
    const before = await scrape();
    await send('fast', forged);
    await send('koa', forged);
    const after = await scrape();
    // Each server counted its one request, in the same series.
    for (const i of [0, 1]) {
      expect(count(after[i] ?? '', outcome) - count(before[i] ?? '', outcome)).toBe(1);
      expect(count(after[i] ?? '', duration) - count(before[i] ?? '', duration)).toBe(1);
    }
  });

  it('leaves every other method and path to Koa (405 with Allow)', async () => {
    const res = await fetch(`${stack.server.url}${PATH}`);
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('POST');
  });
});

/**
 * HTTP hygiene and what the access log says: 405 with Allow for a known path asked with another method (404 for
 * unknown paths), in the one error envelope; one access line per request with the route pattern, the error id
 * of a refused request, a cut long path, never a query string (OAuth's `code`); the notify 413 with its reason;
 * the sandbox named when it is not reachable (startup warning, /readyz); pretty logs still redacted.
 */
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.ts';
import { createLogger } from '../src/logger.ts';
import { startServer } from '../src/index.ts';
import { freePort } from './helpers/free-port.ts';
import { notificationXml } from './helpers/notification.ts';
import { bearer, post, signIn, startStack, type Stack } from './helpers/stack.ts';

interface Line {
  level: number;
  msg: string;
  requestId?: string;
  method?: string;
  route?: string;
  path?: string;
  status?: number;
  ms?: number;
  error?: string;
  reason?: string;
  [field: string]: unknown;
}

const parse = (lines: string[]) => lines.map((line) => JSON.parse(line) as Line);
const accessLine = (lines: string[], requestId: string | null) =>
  parse(lines).find((l) => l.msg === 'request' && l.requestId === requestId);

describe('405, the envelope and the access log', () => {
  const lines: string[] = [];
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ label: 'hygiene', redis: false, logs: lines });
  });
  afterAll(async () => {
    await stack?.close();
  });
  const url = (path: string) => `${stack.server.url}${path}`;

  it.each([
    ['DELETE', '/api/products', 'GET'],
    ['PUT', '/api/orders', 'POST'],
    ['POST', '/api/orders/20260101120000ABCDEFGHJKLMNPQR', 'GET'],
    ['GET', '/wechatpay/notify', 'POST'],
    ['POST', '/readyz', 'GET'],
    ['DELETE', '/metrics', 'GET'],
  ])('%s %s → 405, Allow lists %s', async (method, path, allowed) => {
    const res = await fetch(url(path), { method });
    expect(res.status).toBe(405);
    const allow = (res.headers.get('allow') ?? '').split(/,\s*/);
    expect(allow).toContain(allowed);
    expect(allow).not.toContain(method);
    const requestId = res.headers.get('x-request-id');
    expect(await res.json()).toEqual({
      error: 'method_not_allowed',
      message: expect.stringContaining(method),
      requestId,
    });
    expect(accessLine(lines, requestId)).toMatchObject({ status: 405, error: 'method_not_allowed' });
  });

  it('keeps unknown paths 404 (no Allow) and answers OPTIONS with the methods', async () => {
    const unknown = await fetch(url('/api/nothing-here'), { method: 'DELETE' });
    expect(unknown.status).toBe(404);
    expect(unknown.headers.get('allow')).toBeNull();
    expect(await unknown.json()).toMatchObject({ error: 'not_found' });
    const options = await fetch(url('/api/products'), { method: 'OPTIONS' });
    expect(options.status).toBe(204);
    expect(options.headers.get('allow')).toMatch(/GET/);
  });

  it('logs the route pattern, the status, the time and, for a refusal, the error id', async () => {
    const token = await signIn(stack, 'hygiene-buyer');
    const id = '20260101120000ABCDEFGHJKLMNPQR';
    const res = await fetch(url(`/api/orders/${id}`), { headers: bearer(token) });
    expect(res.status).toBe(404);
    const line = accessLine(lines, res.headers.get('x-request-id'));
    expect(line).toMatchObject({
      method: 'GET',
      route: '/api/orders/:id',
      path: `/api/orders/${id}`,
      status: 404,
      error: 'order_not_found',
    });
    expect(typeof line?.ms).toBe('number');

    const unauthorized = await fetch(url('/api/orders'), { headers: { authorization: 'Bearer nope' } });
    expect(accessLine(lines, unauthorized.headers.get('x-request-id'))).toMatchObject({
      route: '/api/orders',
      status: 401,
      error: 'session_expired',
    });

    const ok = await fetch(url('/api/products'));
    const okLine = accessLine(lines, ok.headers.get('x-request-id'));
    expect(okLine).toMatchObject({ route: '/api/products', status: 200 });
    expect(okLine).not.toHaveProperty('error');
  });

  it('cuts long paths', async () => {
    const long = `/api/${'a'.repeat(5000)}`;
    const res = await fetch(url(long));
    expect(res.status).toBe(404);
    const line = accessLine(lines, res.headers.get('x-request-id'));
    expect(line?.path).toBe(`${long.slice(0, 200)}…[cut ${long.length - 200} chars]`);
    expect(line).not.toHaveProperty('route');
    expect(lines.some((l) => l.includes('a'.repeat(300)))).toBe(false);
  });

  it('never logs a query string: no OAuth code, even through a failed exchange', async () => {
    const code = 'OAUTHCODE-must-not-be-logged-7f3a9c';
    const start = await fetch(url('/web/oauth/start?next=/shop/'), { redirect: 'manual' });
    expect(start.status).toBe(302);
    const state = new URL(start.headers.get('location') as string).searchParams.get('state');
    const cookie = (start.headers.get('set-cookie') as string).split(';')[0] as string;
    const callback = await fetch(url(`/web/oauth/callback?code=${code}&state=${state}`), {
      redirect: 'manual',
      headers: { cookie },
    });
    expect(callback.status).toBe(302);
    const line = accessLine(lines, callback.headers.get('x-request-id'));
    expect(line).toMatchObject({ route: '/web/oauth/callback', path: '/web/oauth/callback', status: 302 });
    // The code did reach WeChat's exchange (and was refused there), the path where it could leak.
    const metrics = await (await fetch(stack.server.metricsUrl)).text();
    expect(metrics).toMatch(
      /^mppay_wechat_api_calls_total\{endpoint="oauth",api="sns",outcome="errcode_\d+"\} 1$/m,
    );
    expect(lines.join('\n')).not.toContain(code);
    expect(lines.join('\n')).not.toContain(state);
  });

  it('logs the notify 413 with the size cap as its reason', async () => {
    const limit = stack.server.config.http.notifyLimitBytes;
    const res = await fetch(url('/wechatpay/notify'), {
      method: 'POST',
      headers: { 'content-type': 'text/xml' },
      body: 'x'.repeat(limit + 1),
    });
    expect(res.status).toBe(413);
    expect(accessLine(lines, res.headers.get('x-request-id'))).toMatchObject({
      route: '/wechatpay/notify',
      status: 413,
      error: 'payload_too_large',
      reason: `body over the ${limit}-byte cap (Content-Length ${limit + 1})`,
    });
  });

  it('logs a refused notification with its outcome as the error id', async () => {
    const forged = notificationXml(
      stack.server,
      { outTradeNo: '20260101120000ABCDEFGHJKLMNPQR01', totalFee: 1 },
      'f'.repeat(32),
    );
    const res = await fetch(url('/wechatpay/notify'), {
      method: 'POST',
      headers: { 'content-type': 'text/xml' },
      body: forged,
    });
    expect(res.status).toBe(400);
    expect(accessLine(lines, res.headers.get('x-request-id'))).toMatchObject({
      route: '/wechatpay/notify',
      status: 400,
      error: 'rejected_signature',
    });
  });

  it('answers JSON API refusals in the envelope with the request id', async () => {
    const res = await fetch(url('/api/session'), post({ code: 42 }));
    expect(res.status).toBe(400);
    const requestId = res.headers.get('x-request-id');
    expect(await res.json()).toEqual({ error: 'invalid_request', message: expect.any(String), requestId });
  });
});

describe('the sandbox not reachable', () => {
  it('is named at startup and by /readyz', async () => {
    const lines: string[] = [];
    const port = await freePort();
    const server = await startServer({
      port: 0,
      env: { NODE_ENV: 'test', LOG_LEVEL: 'info', SANDBOX_PORT: String(port), WORKER_ENABLED: 'false' },
      logStream: new Writable({
        write(chunk: Buffer, _enc, done) {
          lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
          done();
        },
      }),
    });
    try {
      const warning = parse(lines).find((l) => l.level === 40 && /sandbox is not reachable/.test(l.msg));
      expect(warning).toMatchObject({ check: `unreachable: ECONNREFUSED 127.0.0.1:${port}` });
      const ready = await fetch(`${server.url}/readyz`);
      expect(ready.status).toBe(503);
      expect(await ready.json()).toEqual({
        status: 'unavailable',
        ready: false,
        store: 'memory',
        checks: { store: 'ok', sandbox: `unreachable: ECONNREFUSED 127.0.0.1:${port}` },
      });
    } finally {
      await server.close();
    }
  });
});

describe('LOG_FORMAT=pretty', () => {
  it('writes readable lines, still without secrets', () => {
    const out: string[] = [];
    const config = loadConfig({ LOG_LEVEL: 'info', LOG_FORMAT: 'pretty' });
    const log = createLogger(
      config,
      new Writable({
        write(chunk: Buffer, _e, done) {
          out.push(chunk.toString());
          done();
        },
      }),
    );
    log.info({ token: 'T-1234567890', orderId: 'o-1' }, `hello with the key ${config.wechatpay.key}`);
    const text = out.join('');
    expect(text).toMatch(/INFO.*hello with the key \[redacted\]/);
    expect(text).toContain('orderId: "o-1"');
    expect(text).not.toContain('T-1234567890');
    expect(text).not.toContain(config.wechatpay.key);
    expect(() => JSON.parse(text.split('\n')[0] as string)).toThrow();
  });
});

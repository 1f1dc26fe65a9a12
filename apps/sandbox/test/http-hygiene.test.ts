/**
 * HTTP hygiene of the sandbox: a known path asked with another method gets 405 and `Allow` (in the error
 * envelope, or APIv3's own shape on /v3/ paths); an unknown path stays 404; the control API's errors share the
 * merchant server's envelope `{error, message}`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type RunningSandbox } from '../src/index.ts';

let sandbox: RunningSandbox;
beforeAll(async () => {
  sandbox = await startSandbox({ port: 0 });
});
afterAll(async () => {
  await sandbox.close();
});

const call = async (method: string, path: string, body?: string) => {
  const res = await fetch(`${sandbox.url}${path}`, { method, ...(body === undefined ? {} : { body }) });
  const text = await res.text();
  return {
    status: res.status,
    allow: res.headers.get('allow'),
    text,
    json: () => JSON.parse(text) as unknown,
  };
};

describe('a known path with the wrong method', () => {
  it.each([
    ['DELETE', '/sandbox/login-codes', ['POST']],
    ['PUT', '/sandbox/clock', ['GET', 'POST']],
    ['PATCH', '/sandbox/faults', ['GET', 'POST', 'DELETE']],
    ['POST', '/sandbox/orders/1234', ['GET']],
    ['POST', '/sns/jscode2session', ['GET']],
  ])('%s %s → 405 with Allow and the envelope', async (method, path, allowed) => {
    const res = await call(method, path);
    expect(res.status).toBe(405);
    const allow = (res.allow ?? '').split(/,\s*/);
    for (const m of allowed) expect(allow).toContain(m);
    expect(allow).not.toContain(method);
    expect(res.json()).toEqual({ error: 'METHOD_NOT_ALLOWED', message: expect.stringContaining(path) });
  });

  it('answers /v3/ paths in APIv3 error shape', async () => {
    const res = await call('GET', '/v3/pay/transactions/jsapi');
    expect(res.status).toBe(405);
    expect(res.allow).toContain('POST');
    expect(res.json()).toEqual({ code: 'METHOD_NOT_ALLOWED', message: expect.any(String) });
  });

  it('keeps unknown paths 404 and WeChat’s any-method pay paths untouched', async () => {
    const unknown = await call('DELETE', '/sandbox/nothing-here');
    expect(unknown.status).toBe(404);
    expect(unknown.allow).toBeNull();
    expect(unknown.json()).toEqual({
      error: 'NOT_FOUND',
      message: expect.stringContaining('/sandbox/nothing-here'),
    });
    // WeChat answers a GET on a v2 pay path with its own XML (请使用post方法), not an HTTP 405.
    const pay = await call('GET', '/pay/unifiedorder');
    expect(pay.status).toBe(200);
    expect(pay.text).toContain('请使用post方法');
  });
});

describe('control API errors', () => {
  it('use the envelope {error, message}', async () => {
    const bad = await call('POST', '/sandbox/clock', '{"advance_ms":-1}');
    expect(bad.status).toBe(400);
    expect(bad.json()).toEqual({ error: 'BAD_REQUEST', message: expect.stringContaining('advance_ms') });

    const unknownApp = await call('POST', '/sandbox/login-codes', '{"appid":"wx_nobody"}');
    expect(unknownApp.status).toBe(404);
    expect(unknownApp.json()).toEqual({
      error: 'UNKNOWN_APPID',
      message: expect.stringContaining('wx_nobody'),
    });

    const noOrder = await call('GET', '/sandbox/orders/NOPE0001');
    expect(noOrder.status).toBe(404);
    expect(noOrder.json()).toEqual({ error: 'ORDERNOTEXIST', message: expect.stringContaining('NOPE0001') });

    const unknownMerchant = await call('GET', '/sandbox/v3/public-key?mch_id=999');
    expect(unknownMerchant.json()).toEqual({ error: 'UNKNOWN_MCH_ID', message: expect.any(String) });
  });
});

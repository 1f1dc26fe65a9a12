/**
 * The HTTP shell on the memory store (what `pnpm start` runs without REDIS_URL): sign-in errors, sessions,
 * error shapes, body limits and health endpoints.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ErrorBody } from '@mp-pay/shared/api';
import {
  bearer,
  createdOrder,
  json,
  payInSandbox,
  post,
  signIn,
  startStack,
  waitForStatus,
  type Stack,
} from './helpers/stack.ts';

let stack: Stack;
beforeAll(async () => {
  // Real-time sandbox: at the stacks' usual 1000× a login code lives 300 ms, and a loaded machine can take that
  // long between a code's use and its reuse, which then reads as expired instead of used.
  stack = await startStack({
    label: 'api',
    redis: false,
    env: { SESSION_TTL_SECONDS: '2' },
    sandbox: { timeScale: 1 },
  });
});
afterAll(async () => {
  await stack?.close();
});

const url = (path: string) => `${stack.server.url}${path}`;

describe('HTTP API on the memory store', () => {
  it('pays an order end to end without Redis', async () => {
    expect(stack.server.store.kind).toBe('memory');
    const token = await signIn(stack, 'mem-buyer');
    const { order, payment } = await createdOrder(stack.server, token);
    expect(await payInSandbox(stack, payment)).toBe('requestPayment:ok');
    await waitForStatus(stack.server, order.id, 'PAID');
  });

  it('maps login failures to clear error ids', async () => {
    const invalid = await fetch(url('/api/session'), post({ code: 'never-issued' }));
    expect(invalid.status).toBe(401);
    expect(await json(invalid)).toMatchObject({ error: 'login_code_invalid' });

    const login = await json<{ code: string }>(
      await fetch(
        `${stack.sandbox.url}/sandbox/login-codes`,
        post({ appid: stack.server.config.wechat.appId }),
      ),
    );
    const first = await fetch(url('/api/session'), post({ code: login.code }));
    expect(first.status).toBe(201);
    const session = await json<{ token: string; expiresIn: number }>(first);
    expect(session.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(session.expiresIn).toBe(2);
    expect(JSON.stringify(session)).not.toMatch(/session_key|sessionKey|openid/);
    const reused = await fetch(url('/api/session'), post({ code: login.code }));
    expect(reused.status).toBe(401);
    expect(await json(reused)).toMatchObject({ error: 'login_code_used' });
  });

  it('needs a session for orders; an expired session is 401 session_expired', async () => {
    const none = await fetch(url('/api/orders'));
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Bearer');
    expect(await json(none)).toMatchObject({ error: 'unauthorized' });

    const token = await signIn(stack, 'short-lived');
    expect((await fetch(url('/api/orders'), { headers: bearer(token) })).status).toBe(200);
    await sleep(2300); // the TTL is 2 s of inactivity
    const expired = await fetch(url('/api/orders'), { headers: bearer(token) });
    expect(expired.status).toBe(401);
    expect(await json(expired)).toMatchObject({ error: 'session_expired' });
    const forged = await fetch(url('/api/orders'), { headers: bearer('A'.repeat(43)) });
    expect(await json(forged)).toMatchObject({ error: 'session_expired' });
  });

  it('shapes every error as {error, message, requestId} and echoes the request id', async () => {
    const missing = await fetch(url('/nowhere'), { headers: { 'x-request-id': 'trace-12345678' } });
    expect(missing.status).toBe(404);
    expect(missing.headers.get('x-request-id')).toBe('trace-12345678');
    expect(await json<ErrorBody>(missing)).toEqual({
      error: 'not_found',
      message: expect.any(String),
      requestId: 'trace-12345678',
    });

    const badJson = await fetch(url('/api/session'), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"code":',
    });
    expect(badJson.status).toBe(400);
    expect(await json(badJson)).toMatchObject({ error: 'invalid_request' });

    const form = await fetch(url('/api/session'), {
      method: 'POST',
      body: new URLSearchParams({ code: 'x' }),
    });
    expect(form.status).toBe(415);
    expect(await json(form)).toMatchObject({ error: 'unsupported_media_type' });

    const big = await fetch(url('/api/session'), post({ code: 'x'.repeat(40_000) }));
    expect(big.status).toBe(413);
    expect(await json(big)).toMatchObject({ error: 'payload_too_large' });

    const wrongType = await fetch(url('/api/session'), post({ code: 42 }));
    expect(wrongType.status).toBe(400);
    expect((await json<ErrorBody>(wrongType)).message).toMatch(/body\.code/);
  });

  it('reports health and readiness', async () => {
    expect(await json(await fetch(url('/healthz')))).toEqual({ status: 'ok' });
    expect(await json(await fetch(url('/readyz')))).toEqual({
      status: 'ready',
      ready: true,
      store: 'memory',
      checks: { store: 'ok', sandbox: 'ok' },
    });
  });
});

describe('spbill_create_ip', () => {
  it('ignores X-Forwarded-For by default and honours it for TRUST_PROXY hops', async () => {
    const proxied = await startStack({ label: 'proxy', redis: false, env: { TRUST_PROXY: '1' } });
    try {
      for (const [target, expected] of [
        [stack, '127.0.0.1'],
        [proxied, '203.0.113.9'],
      ] as const) {
        const token = await signIn(target, 'proxy-buyer');
        const res = await fetch(
          `${target.server.url}/api/orders`,
          post(
            { items: [{ productId: 'sample', quantity: 1 }] },
            { ...bearer(token), 'x-forwarded-for': '203.0.113.9' },
          ),
        );
        expect(res.status).toBe(201);
        const { order } = await json<{ order: { outTradeNo: string } }>(res);
        expect((await target.server.store.attempts.getAttempt(order.outTradeNo))?.clientIp).toBe(expected);
      }
    } finally {
      await proxied.close();
    }
  });
});

describe('HMAC-SHA256 merchants', () => {
  it('pay end to end: HMAC-signed unified order, paySign and notification', async () => {
    const hmac = await startStack({
      label: 'hmac',
      redis: false,
      env: { WECHATPAY_SIGN_TYPE: 'HMAC-SHA256' },
    });
    try {
      const token = await signIn(hmac, 'hmac-buyer');
      const { order, payment } = await createdOrder(hmac.server, token);
      expect(payment.signType).toBe('HMAC-SHA256');
      expect(payment.paySign).toMatch(/^[0-9A-F]{64}$/);
      expect(await payInSandbox(hmac, payment)).toBe('requestPayment:ok');
      await waitForStatus(hmac.server, order.id, 'PAID');
    } finally {
      await hmac.close();
    }
  });
});

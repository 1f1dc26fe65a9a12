/**
 * Graceful shutdown: a request in flight when close() is called still completes (here an order whose unified
 * order WeChat answers slowly), new connections are refused afterwards, and the store is closed last.
 * Also the tightened HTTP timeouts: a client that never finishes its headers is cut off.
 */
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from './helpers/redis.ts';
import { placeOrder, setFaults, signIn, startStack, type Stack } from './helpers/stack.ts';

describe('graceful shutdown', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ label: 'shutdown' });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('finishes in-flight requests, then refuses new ones', async () => {
    const token = await signIn(stack, 'shutdown-buyer');
    await setFaults(stack, { mch_id: stack.server.config.wechatpay.mchId }, { slowReplyMs: 800 });
    const inFlight = placeOrder(stack.server, token);
    // Wait until the server is inside the request (the order exists, unifiedorder is pending at WeChat).
    await waitFor(
      async () =>
        (await stack.server.store.orders.listOrders(await userIdOf(token), { limit: 1 })).orders.length === 1,
      'the order to be created',
    );
    const closing = stack.server.close();
    // No new connections; a request on a kept-alive one learns that the process is draining.
    const ready = await fetch(`${stack.server.url}/readyz`).catch((err: unknown) => err);
    if (ready instanceof Response) expect(ready.status, 'readyz while draining').toBe(503);
    const done = await inFlight.catch((err: unknown) => {
      throw new Error(`the in-flight order request was cut during shutdown: ${String(err)}`, { cause: err });
    });
    expect(done.status, JSON.stringify(done.body)).toBe(201);
    expect(done.body.payment.paySign).toBeTruthy();
    await closing;
    await expect(fetch(`${stack.server.url}/healthz`)).rejects.toThrow();
  });

  async function userIdOf(token: string): Promise<string> {
    const { createHash } = await import('node:crypto');
    const session = await stack.server.store.sessions.touchSession(
      createHash('sha256').update(token).digest('hex'),
      60,
    );
    return session?.userId ?? '';
  }
});

describe('HTTP timeouts', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({
      label: 'timeouts',
      redis: false,
      env: { HTTP_HEADERS_TIMEOUT_MS: '1000', HTTP_REQUEST_TIMEOUT_MS: '1000' },
    });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('drops a client that never finishes its headers (slowloris)', async () => {
    const { port } = new URL(stack.server.url);
    const socket = connect(Number(port), '127.0.0.1');
    const received: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => received.push(chunk));
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: 1');
    const started = Date.now();
    await new Promise<void>((resolve) => socket.once('close', () => resolve()));
    expect(Date.now() - started).toBeLessThan(5000);
    expect(Buffer.concat(received).toString()).toMatch(/^HTTP\/1\.1 408/);
  });
});

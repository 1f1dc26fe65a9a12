import { afterEach, describe, expect, test } from 'vitest';
import { FAKE_APP_ID, makeOrder, ORDER_ID_RE, orderId, OUT_TRADE_NO_RE } from '../support/fake-backend.ts';
import { uninstallWx } from '../support/fake-wx.ts';
import { API_BASE, FakeBackend, freshServices, wxLoginStub } from './setup.ts';

afterEach(() => uninstallWx());

function sessionPosts(backend: FakeBackend) {
  return backend.requests.filter((r) => r.method === 'POST' && r.path === '/api/session');
}

describe('auth + api (live mode)', () => {
  test('the public catalogue loads without logging in or sending a token', async () => {
    const backend = new FakeBackend();
    // No wx.login stub and no stored token: a login attempt would throw.
    const s = await freshServices(backend);
    expect((await s.orders.listProducts()).map((p) => p.id)).toEqual(['tea', 'cup']);
    expect(backend.requests.map((r) => r.path)).toEqual(['/api/products']);
    expect(backend.requests[0]?.header.Authorization).toBeUndefined();
  });

  test('the first call logs in with wx.login, stores the token and sends it as a Bearer token', async () => {
    const backend = new FakeBackend();
    const s = await freshServices(backend, wxLoginStub());
    backend.orders = [makeOrder({ id: orderId(1) })];
    const page = await s.orders.listOrders(null);
    expect(page.orders.map((o) => o.id)).toEqual([orderId(1)]);
    expect(backend.loginCodes).toEqual(['wx-code-1']);
    expect(s.fake.storage.get(s.auth.TOKEN_STORAGE_KEY)).toBe('token-1');
    const listCall = backend.requests.find((r) => r.path === '/api/orders');
    expect(listCall?.header.Authorization).toBe('Bearer token-1');
    // The session request itself carries no token.
    expect(sessionPosts(backend)[0]?.header.Authorization).toBeUndefined();
  });

  test('a stored token is used without logging in', async () => {
    const backend = new FakeBackend();
    backend.tokens.add('kept');
    const storage = new Map<string, unknown>([['mp-pay:token', 'kept']]);
    // No wx.login stub: calling it would throw.
    const s = await freshServices(backend, {}, storage);
    await s.orders.listOrders(null);
    expect(sessionPosts(backend)).toHaveLength(0);
    expect(s.fake.calls).not.toContain('login');
  });

  test('on 401 it logs in again once and retries with the new token', async () => {
    const backend = new FakeBackend();
    const storage = new Map<string, unknown>([['mp-pay:token', 'expired']]);
    const s = await freshServices(backend, wxLoginStub(), storage);
    await s.orders.listOrders(null);
    const calls = backend.requests.filter((r) => r.path === '/api/orders');
    expect(calls.map((r) => r.header.Authorization)).toEqual(['Bearer expired', 'Bearer token-1']);
    expect(storage.get('mp-pay:token')).toBe('token-1');
  });

  test('a second 401 is reported, not retried forever', async () => {
    const backend = new FakeBackend();
    backend.intercept((req) =>
      req.path === '/api/orders'
        ? { status: 401, body: { error: 'session_expired', message: 'expired', requestId: 'r9' } }
        : undefined,
    );
    const s = await freshServices(backend, wxLoginStub());
    const err = await s.orders.listOrders(null).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(s.errors.ApiError);
    expect(err).toMatchObject({ id: 'session_expired', status: 401, requestId: 'r9' });
    // One login for the missing token, one for the 401, then it gives up.
    expect(sessionPosts(backend)).toHaveLength(2);
    expect(backend.requests.filter((r) => r.path === '/api/orders')).toHaveLength(2);
  });

  test('requests that all hit 401 together share one login', async () => {
    const backend = new FakeBackend();
    backend.orders = [makeOrder({ id: orderId(1) }), makeOrder({ id: orderId(2) })];
    const storage = new Map<string, unknown>([['mp-pay:token', 'expired']]);
    const s = await freshServices(backend, wxLoginStub(), storage);
    const [a, b, list] = await Promise.all([
      s.orders.getOrder(orderId(1)),
      s.orders.getOrder(orderId(2)),
      s.orders.listOrders(null),
    ]);
    expect([a.id, b.id, list.orders.length]).toEqual([orderId(1), orderId(2), 2]);
    expect(sessionPosts(backend)).toHaveLength(1);
  });

  test('wx.login failing becomes login_failed', async () => {
    const backend = new FakeBackend();
    const s = await freshServices(backend, wxLoginStub([]));
    await expect(s.orders.listOrders(null)).rejects.toMatchObject({ id: 'login_failed' });
    expect(s.errors.describeError(await s.orders.listOrders(null).catch((e: unknown) => e))).toBe(
      '微信登录失败，请重试',
    );
  });
});

describe('auth in sandbox mode', () => {
  function sandboxBackend() {
    const backend = new FakeBackend();
    backend.mode = { mode: 'sandbox', sandboxUrl: 'http://sandbox.test/', appId: 'wxsandbox' };
    const sandboxCalls: { url: string; data: unknown }[] = [];
    backend.intercept((req) => {
      if (!req.url.startsWith('http://sandbox.test')) return undefined;
      sandboxCalls.push({ url: req.url, data: req.data });
      if (req.url === 'http://sandbox.test/sandbox/login-codes') {
        return { status: 200, body: { code: `sandbox-code-${sandboxCalls.length}`, openid: 'o-1' } };
      }
      return { status: 404, body: {} };
    });
    return { backend, sandboxCalls };
  }

  test('gets the login code from the sandbox for a device user kept in storage, never from wx.login', async () => {
    const { backend, sandboxCalls } = sandboxBackend();
    const storage = new Map<string, unknown>();
    // No wx.login stub: DevTools' real code would be useless to the sandbox.
    const s = await freshServices(backend, {}, storage);
    await s.orders.listOrders(null);
    expect(backend.loginCodes).toEqual(['sandbox-code-1']);
    const user = storage.get('mp-pay:sandbox-user');
    expect(typeof user).toBe('string');
    expect(sandboxCalls[0]?.data).toEqual({ appid: 'wxsandbox', user });

    // Next launch, token gone: same device, same sandbox user.
    storage.delete('mp-pay:token');
    const again = await freshServices(backend, {}, storage);
    await again.orders.listOrders(null);
    expect(sandboxCalls[1]?.data).toEqual({ appid: 'wxsandbox', user });
  });

  test('a sandbox that refuses a code makes login fail clearly', async () => {
    const backend = new FakeBackend();
    backend.mode = { mode: 'sandbox', sandboxUrl: 'http://sandbox.test', appId: 'wxsandbox' };
    backend.intercept((req) =>
      req.url.startsWith('http://sandbox.test') ? { status: 400, body: { error: 'bad appid' } } : undefined,
    );
    const s = await freshServices(backend);
    await expect(s.orders.listOrders(null)).rejects.toMatchObject({ id: 'login_failed', status: 400 });
  });
});

describe('http errors', () => {
  test('no response is network_error; an error body keeps the server id; a wrong body is bad_response', async () => {
    const backend = new FakeBackend();
    backend.tokens.add('t');
    const storage = new Map<string, unknown>([['mp-pay:token', 't']]);
    const x = orderId(7);
    let reply: 'network' | 'missing' | 'garbage' = 'network';
    backend.intercept((req) => {
      if (req.path !== `/api/orders/${x}`) return undefined;
      if (reply === 'network') return { networkError: 'timeout' };
      if (reply === 'missing') return undefined;
      return { status: 200, body: { order: { id: x, totalFen: 12.5 } } };
    });
    const s = await freshServices(backend, {}, storage);
    await expect(s.orders.getOrder(x)).rejects.toMatchObject({ id: 'network_error', status: 0 });
    reply = 'missing';
    await expect(s.orders.getOrder(x)).rejects.toMatchObject({
      id: 'order_not_found',
      status: 404,
      requestId: 'req-order_not_found',
    });
    reply = 'garbage';
    await expect(s.orders.getOrder(x)).rejects.toMatchObject({ id: 'bad_response' });
  });

  test('a failed GET /api/config is not remembered', async () => {
    const backend = new FakeBackend();
    let down = true;
    backend.intercept((req) =>
      req.path === '/api/config' && down ? { networkError: 'refused' } : undefined,
    );
    const s = await freshServices(backend, wxLoginStub());
    await expect(s.orders.listOrders(null)).rejects.toMatchObject({ id: 'network_error' });
    down = false;
    await expect(s.orders.listOrders(null)).resolves.toEqual({ orders: [], nextCursor: null });
  });

  test('the base URL comes from config.ts', async () => {
    const backend = new FakeBackend();
    const s = await freshServices(backend, wxLoginStub());
    await s.orders.listProducts();
    await s.orders.listOrders(null);
    expect(backend.requests.length).toBeGreaterThanOrEqual(4);
    expect(backend.requests.every((r) => r.url.startsWith(API_BASE))).toBe(true);
    expect(s.config.apiBaseUrls.develop).toBe(API_BASE);
  });

  test('order list pages pass limit and cursor', async () => {
    const backend = new FakeBackend();
    backend.orders = Array.from({ length: 12 }, (_, i) => makeOrder({ id: orderId(i) }));
    const s = await freshServices(backend, wxLoginStub());
    const first = await s.orders.listOrders(null);
    expect(first.orders).toHaveLength(10);
    expect(first.nextCursor).toBe('10');
    const second = await s.orders.listOrders(first.nextCursor);
    expect(second.orders.map((o) => o.id)).toEqual([orderId(10), orderId(11)]);
    expect(second.nextCursor).toBeNull();
    expect(backend.requests.filter((r) => r.path === '/api/orders').map((r) => r.query)).toEqual([
      { limit: '10' },
      { limit: '10', cursor: '10' },
    ]);
  });

  test('creating an order sends only product, quantity and the mini-program channel, with the idempotency key', async () => {
    const backend = new FakeBackend();
    const s = await freshServices(backend, wxLoginStub());
    const { order, payment } = await s.orders.createOrder([{ productId: 'cup', quantity: 3 }], 'key-1');
    expect(order.totalFen).toBe(3615);
    expect(order.id).toMatch(ORDER_ID_RE);
    expect(order.outTradeNo).toMatch(OUT_TRADE_NO_RE);
    expect(order.outTradeNo.startsWith(order.id)).toBe(true);
    expect(payment).toMatchObject({ kind: 'jsapi', appId: FAKE_APP_ID });
    const post = backend.requests.find((r) => r.method === 'POST' && r.path === '/api/orders');
    expect(post?.data).toEqual({ items: [{ productId: 'cup', quantity: 3 }], channel: 'miniprogram' });
    expect(post?.header['Idempotency-Key']).toBe('key-1');
    const again = await s.orders.createOrder([{ productId: 'cup', quantity: 3 }], 'key-1');
    expect(again.order.id).toBe(order.id);
  });

  test('a reply whose payment is not a launch of the contract is a bad response', async () => {
    const backend = new FakeBackend();
    backend.orders = [makeOrder({ id: orderId(1) })];
    const s = await freshServices(backend, wxLoginStub());
    // The old shape: the five fields without a kind.
    backend.paymentFor = () => {
      const { kind: _kind, appId: _appId, ...five } = backend.jsapiFor(backend.orders[0]!);
      return five as never;
    };
    await expect(s.orders.renewPayment(orderId(1))).rejects.toMatchObject({ id: 'bad_response' });
    backend.paymentFor = () => ({ kind: 'qr' }) as never;
    await expect(s.orders.renewPayment(orderId(1))).rejects.toMatchObject({ id: 'bad_response' });
    // A well-formed launch of another kind passes the guard; paying with it is refused later (payment.ts).
    backend.paymentFor = () => ({ kind: 'native', codeUrl: 'weixin://wxpay/bizpayurl?pr=abc123' });
    await expect(s.orders.renewPayment(orderId(1))).resolves.toMatchObject({ payment: { kind: 'native' } });
  });
});

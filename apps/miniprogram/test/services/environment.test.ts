/**
 * Release readiness: the version-dependent guards (services/environment.ts, server-config.ts), the real-time
 * log of failed requests and the buyer's message for each kind of failure (http.ts, errors.ts).
 */
import { afterEach, describe, expect, test, vi } from 'vitest';
import { HTTPS_API_BASE, makeOrder, orderId } from '../support/fake-backend.ts';
import { envStub, uninstallWx, type WxStubs } from '../support/fake-wx.ts';
import { API_BASE, FakeBackend, freshServices, wxLoginStub } from './setup.ts';

afterEach(() => {
  uninstallWx();
  vi.restoreAllMocks();
});

async function services(env: string, stubs: WxStubs = {}, backend = new FakeBackend()) {
  vi.spyOn(console, 'warn').mockImplementation(() => {});
  vi.spyOn(console, 'error').mockImplementation(() => {});
  backend.tokens.add('t');
  const s = await freshServices(
    backend,
    { ...envStub(env), ...stubs },
    new Map<string, unknown>([['mp-pay:token', 't']]),
  );
  s.config.apiBaseUrls.trial = HTTPS_API_BASE;
  s.config.apiBaseUrls.release = HTTPS_API_BASE;
  const environment = await import('../../miniprogram/services/environment.ts');
  const http = await import('../../miniprogram/services/http.ts');
  const { envVersion } = await import('../../miniprogram/services/env-version.ts');
  return { ...s, backend, environment, envVersion, http };
}

function offline(): WxStubs {
  return {
    getNetworkType: ((opts: WechatMiniprogram.GetNetworkTypeOption) => {
      setTimeout(() => opts.success?.({ networkType: 'none', errMsg: 'getNetworkType:ok' } as never), 0);
    }) as never,
  };
}

describe('the running version', () => {
  test.each([
    ['develop', 'develop'],
    ['trial', 'trial'],
    ['release', 'release'],
    ['something-new', 'release'],
    [undefined, 'release'],
  ])('envVersion %s reads as %s (anything unknown is the strictest, release)', async (given, expected) => {
    const s = await services(String(given), given === undefined ? envStub(undefined as never) : {});
    expect(s.envVersion()).toBe(expected);
  });

  test('without wx.getAccountInfoSync (a failing call) the build counts as release', async () => {
    const s = await services('develop', {
      getAccountInfoSync: (() => {
        throw new Error('getAccountInfoSync:fail');
      }) as never,
    });
    expect(s.envVersion()).toBe('release');
  });
});

describe('the server URL per version', () => {
  test('each version uses its own base URL, without a trailing slash', async () => {
    const s = await services('develop');
    s.config.apiBaseUrls = {
      develop: 'http://127.0.0.1:3000/',
      trial: 'https://t.example/',
      release: 'https://r.example',
    };
    expect(s.environment.apiBaseFor('develop')).toBe('http://127.0.0.1:3000');
    expect(s.environment.apiBaseFor('trial')).toBe('https://t.example');
    expect(s.environment.apiBaseFor('release')).toBe('https://r.example');
  });

  test('the shipped config.ts: http only for develop, https for trial and release', async () => {
    const s = await services('develop');
    vi.resetModules();
    const { config } = await import('../../miniprogram/config.ts');
    expect(config.apiBaseUrls.develop).toMatch(/^http:\/\//);
    expect(config.apiBaseUrls.trial).toMatch(/^https:\/\//);
    expect(config.apiBaseUrls.release).toMatch(/^https:\/\//);
    expect(s.environment.sandboxAllowed('release')).toBe(false);
  });

  test.each(['trial', 'release'] as const)('%s refuses an http base URL with a clear error', async (env) => {
    const s = await services(env);
    s.config.apiBaseUrls[env] = 'http://192.168.1.20:3000';
    expect(() => s.environment.apiBaseFor(env)).toThrow(
      /only requests https URLs.*http:\/\/192\.168\.1\.20:3000/,
    );
    await expect(s.orders.listProducts()).rejects.toMatchObject({ id: 'config_error', status: 0 });
    // Refused before wx.request: nothing reached the server.
    expect(s.backend.requests).toEqual([]);
    expect(s.fake.calls).not.toContain('request');
  });

  test('develop accepts http (DevTools, LAN preview with 开发调试)', async () => {
    const s = await services('develop');
    expect(() => s.environment.checkRequestUrl('develop', 'http://192.168.1.20:3000/api')).not.toThrow();
    expect(await s.orders.listProducts()).toHaveLength(2);
    expect(s.backend.requests[0]?.url).toBe(`${API_BASE}/api/products`);
  });

  test('trial and release reach the https server', async () => {
    for (const env of ['trial', 'release']) {
      const s = await services(env);
      expect(await s.orders.listProducts()).toHaveLength(2);
      expect(s.backend.requests[0]?.url).toBe(`${HTTPS_API_BASE}/api/products`);
    }
  });

  test('outside develop an http sandbox URL is refused too, not only the server', async () => {
    const s = await services('trial');
    await expect(
      s.http.send({ method: 'POST', url: 'http://sandbox.test/sandbox/login-codes', data: {} }),
    ).rejects.toMatchObject({ id: 'config_error' });
    expect(s.fake.calls).not.toContain('request');
    expect(s.fake.realtimeLog[0]?.args[1]).toMatchObject({
      url: 'http://sandbox.test/sandbox/login-codes',
      status: 0,
    });
  });
});

describe('sandbox mode per version', () => {
  function sandboxBackend() {
    const backend = new FakeBackend();
    backend.mode = { mode: 'sandbox', sandboxUrl: 'https://sandbox.test', appId: 'wxsandbox' };
    backend.intercept((req) =>
      req.url === 'https://sandbox.test/sandbox/login-codes'
        ? { status: 200, body: { code: 'sandbox-code', openid: 'o-1' } }
        : undefined,
    );
    return backend;
  }

  test('release refuses a server in sandbox mode whatever /api/config says, and logs it', async () => {
    const backend = sandboxBackend();
    const s = await services('release', wxLoginStub(), backend);
    s.fake.storage.delete('mp-pay:token');
    await expect(s.auth.login()).rejects.toMatchObject({ id: 'sandbox_refused' });
    // No login code was asked of the sandbox, and no wx.login either: the build stops at the mode.
    expect(backend.requests.map((r) => r.url)).toEqual([`${HTTPS_API_BASE}/api/config`]);
    expect(s.fake.calls).not.toContain('login');
    expect(
      s.fake.realtimeLog.some((e) => e.level === 'error' && String(e.args[0]).includes('sandbox refused')),
    ).toBe(true);
    expect(s.errors.describeError(new s.errors.ApiError('sandbox_refused', 'x'))).toBe(
      '支付服务配置有误，请联系客服',
    );
  });

  test('release refuses to pay through the sandbox: no sheet, no payer', async () => {
    const backend = sandboxBackend();
    backend.orders = [makeOrder({ id: orderId(1) })];
    const s = await services('release', {}, backend);
    const order = backend.orders[0]!;
    const result = await s.payment.requestPayment(backend.jsapiFor(order));
    expect(result).toEqual({ kind: 'fail', detail: '支付服务配置有误，请联系客服' });
    expect(s.fake.calls).not.toContain('showActionSheet');
    expect(s.fake.calls).not.toContain('requestPayment');
  });

  test.each(['develop', 'trial'])('%s follows the server into sandbox mode', async (env) => {
    const backend = sandboxBackend();
    await services(env, {}, backend);
    const { getServerMode } = await import('../../miniprogram/services/server-config.ts');
    await expect(getServerMode()).resolves.toEqual({
      mode: 'sandbox',
      sandboxUrl: 'https://sandbox.test',
      appId: 'wxsandbox',
    });
  });
});

describe('request failures', () => {
  test.each([
    'request:fail url not in domain list',
    'request:fail ssl hand shake error',
    'request:fail -2:net::ERR_FAILED',
    'request:fail -202:net::ERR_CERT_AUTHORITY_INVALID',
    'request:fail errcode:-207 cronet_error_code:-207 error_msg:net::ERR_CERT_COMMON_NAME_INVALID certificate',
  ])('"%s" is the developer\'s problem (domain list / TLS)', async (errMsg) => {
    const s = await services('develop');
    expect(s.http.isBlockedRequest(errMsg)).toBe(true);
  });

  test.each(['request:fail timeout', 'request:fail ', 'request:fail -20', 'request:fail -2002 something'])(
    '"%s" is not',
    async (errMsg) => {
      const s = await services('develop');
      expect(s.http.isBlockedRequest(errMsg)).toBe(false);
    },
  );

  async function failing(env: string, errMsg: string, stubs: WxStubs = {}) {
    const backend = new FakeBackend();
    backend.intercept((req) => (req.path === '/api/products' ? { networkError: errMsg } : undefined));
    const s = await services(env, stubs, backend);
    const err = await s.orders.listProducts().then(
      () => {
        throw new Error('expected a failure');
      },
      (e: unknown) => e,
    );
    return { s, err };
  }

  test.each(['develop', 'trial'])('%s: a blocked domain tells the developer what to fix', async (env) => {
    const { s, err } = await failing(env, 'url not in domain list');
    expect(err).toMatchObject({ id: 'request_blocked', status: 0 });
    expect(s.errors.describeError(err)).toMatch(/request 合法域名/);
    expect(s.fake.calls).not.toContain('getNetworkType');
  });

  test('release: a blocked domain reads as an outage to the buyer', async () => {
    const { s, err } = await failing('release', 'ssl hand shake error');
    expect(err).toMatchObject({ id: 'request_blocked' });
    expect(s.errors.describeError(err)).toBe('服务暂时不可用，请稍后重试');
  });

  test('no network on the phone: offline, whatever the version', async () => {
    for (const env of ['develop', 'release']) {
      const { s, err } = await failing(env, 'timeout', offline());
      expect(err).toMatchObject({ id: 'offline' });
      expect(s.errors.describeError(err)).toBe('当前没有网络，请连接网络后重试');
    }
  });

  test('a network but no answer: network_error', async () => {
    const { s, err } = await failing('release', 'timeout');
    expect(err).toMatchObject({ id: 'network_error' });
    expect(s.fake.calls).toContain('getNetworkType');
    expect(s.errors.describeError(err)).toBe('网络连接失败，请检查网络后重试');
  });

  test('when wx.getNetworkType fails the failure stays network_error', async () => {
    const { err } = await failing('develop', 'timeout', {
      getNetworkType: ((opts: WechatMiniprogram.GetNetworkTypeOption) => {
        setTimeout(() => opts.fail?.({ errMsg: 'getNetworkType:fail' }), 0);
      }) as never,
    });
    expect(err).toMatchObject({ id: 'network_error' });
  });

  test('a failure goes to the real-time log with errMsg, status and the URL without its query', async () => {
    const backend = new FakeBackend();
    backend.intercept((req) =>
      req.path === '/api/orders' ? { networkError: 'url not in domain list' } : undefined,
    );
    const s = await services('trial', {}, backend);
    await expect(s.orders.listOrders('cursor-secret')).rejects.toMatchObject({ id: 'request_blocked' });
    const entry = s.fake.realtimeLog.find((e) => e.level === 'error');
    expect(entry?.args[1]).toEqual({
      method: 'GET',
      url: `${HTTPS_API_BASE}/api/orders`,
      status: 0,
      errMsg: 'request:fail url not in domain list',
    });
    expect(JSON.stringify(s.fake.realtimeLog)).not.toContain('cursor-secret');
  });

  test('a 5xx reply is logged with its status; a 4xx business refusal is not', async () => {
    const backend = new FakeBackend();
    backend.intercept((req) =>
      req.path === '/api/products'
        ? { status: 503, body: { error: 'service_unavailable', message: 'down', requestId: 'r1' } }
        : undefined,
    );
    const s = await services('develop', {}, backend);
    await expect(s.orders.listProducts()).rejects.toMatchObject({ id: 'service_unavailable', status: 503 });
    expect(s.fake.realtimeLog).toHaveLength(1);
    expect(s.fake.realtimeLog[0]?.args[1]).toMatchObject({ status: 503, url: `${API_BASE}/api/products` });
    await expect(s.orders.getOrder(orderId(9))).rejects.toMatchObject({ id: 'order_not_found' });
    expect(s.fake.realtimeLog).toHaveLength(1);
  });

  test('a missing real-time log manager does not break the request path', async () => {
    const { err } = await failing('develop', 'timeout', {
      getRealtimeLogManager: (() => {
        throw new Error('not supported');
      }) as never,
    });
    expect(err).toMatchObject({ id: 'network_error' });
  });
});

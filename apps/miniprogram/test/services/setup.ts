/** Fresh service modules (no cached token, server mode or login) talking to a FakeBackend through a fake wx. */
import { vi } from 'vitest';
import { API_BASE, FakeBackend } from '../support/fake-backend.ts';
import { installFakeWx, type FakeWx, type WxStubs } from '../support/fake-wx.ts';

export async function freshServices(
  backend: FakeBackend,
  stubs: WxStubs = {},
  storage?: Map<string, unknown>,
) {
  vi.resetModules();
  const fake: FakeWx = installFakeWx({ ...backend.requestStub(), ...stubs }, storage);
  const { config } = await import('../../miniprogram/config.ts');
  config.apiBaseUrls.develop = API_BASE;
  config.paymentConfirm = { firstDelayMs: 5, maxDelayMs: 20, timeoutMs: 300 };
  return {
    fake,
    config,
    api: await import('../../miniprogram/services/api.ts'),
    auth: await import('../../miniprogram/services/auth.ts'),
    orders: await import('../../miniprogram/services/orders.ts'),
    payment: await import('../../miniprogram/services/payment.ts'),
    errors: await import('../../miniprogram/services/errors.ts'),
  };
}

/** wx.login answering with successive codes. */
export function wxLoginStub(codes = ['wx-code-1', 'wx-code-2', 'wx-code-3', 'wx-code-4']): WxStubs {
  let i = 0;
  return {
    login: ((opts: WechatMiniprogram.LoginOption) => {
      const code = codes[i++];
      setTimeout(() => {
        if (code) opts.success?.({ code, errMsg: 'login:ok' });
        else opts.fail?.({ errMsg: 'login:fail no more codes' } as WechatMiniprogram.RequestFailCallbackErr);
      }, 0);
    }) as never,
  };
}

export { API_BASE, FakeBackend };

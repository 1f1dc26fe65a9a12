/**
 * The channel configuration (docs/channels.md): the demo official account and app, SANDBOX_H5_DOMAINS,
 * SANDBOX_OAUTH_DOMAINS, SANDBOX_NATIVE_CALLBACK_URL, SANDBOX_PUBLIC_URL and the official account / app
 * AppIDs shared with the server; bad values name the variable to fix.
 */
import { describe, expect, it } from 'vitest';
import { SANDBOX_DEMO, SANDBOX_DEMO_CHANNELS } from '@mp-pay/shared/wechatpay';
import { loadSandboxConfig, SandboxConfigError } from '../src/index.ts';
import { Accounts } from '../src/accounts.ts';

describe('channel configuration', () => {
  it('defaults to the demo official account and app, bound to the main merchant', () => {
    const config = loadSandboxConfig({});
    expect(config).toMatchObject({
      officialAccount: SANDBOX_DEMO_CHANNELS.officialAccount,
      app: SANDBOX_DEMO_CHANNELS.app,
      h5Domains: [...SANDBOX_DEMO_CHANNELS.h5Domains],
      oauthDomains: [...SANDBOX_DEMO_CHANNELS.h5Domains],
      nativeCallbackUrl: 'http://127.0.0.1:3000/wechatpay/native-scan',
    });
    expect(config.publicUrl).toBeUndefined();
    const accounts = new Accounts(config);
    expect(accounts.kind(SANDBOX_DEMO.appId)).toBe('miniprogram');
    expect(accounts.kind(SANDBOX_DEMO_CHANNELS.officialAccount.appId)).toBe('official_account');
    expect(accounts.kind(SANDBOX_DEMO_CHANNELS.app.appId)).toBe('app');
    expect(accounts.bound(SANDBOX_DEMO_CHANNELS.app.appId, SANDBOX_DEMO.mchId)).toBe(true);
    expect(accounts.bound(SANDBOX_DEMO_CHANNELS.officialAccount.appId, SANDBOX_DEMO.mchId)).toBe(true);
    expect(accounts.app(SANDBOX_DEMO_CHANNELS.officialAccount.appId)?.secret).toBe(
      SANDBOX_DEMO_CHANNELS.officialAccount.secret,
    );
  });

  it('reads the variables', () => {
    const config = loadSandboxConfig({
      WECHAT_OA_APPID: 'wx1111111111111111',
      WECHAT_OA_SECRET: 'b'.repeat(32),
      WECHAT_APP_APPID: 'wx2222222222222222',
      SANDBOX_H5_DOMAINS: 'shop.example, M.Shop.Example',
      SANDBOX_OAUTH_DOMAINS: 'shop.example',
      SANDBOX_NATIVE_CALLBACK_URL: 'https://shop.example/wechatpay/native-scan',
      SANDBOX_PUBLIC_URL: 'http://192.168.1.20:4010/',
    });
    expect(config).toMatchObject({
      officialAccount: { appId: 'wx1111111111111111', secret: 'b'.repeat(32) },
      app: { appId: 'wx2222222222222222' },
      h5Domains: ['shop.example', 'm.shop.example'],
      oauthDomains: ['shop.example'],
      nativeCallbackUrl: 'https://shop.example/wechatpay/native-scan',
      publicUrl: 'http://192.168.1.20:4010',
    });
  });

  it.each([
    ['SANDBOX_H5_DOMAINS', 'https://shop.example'],
    ['SANDBOX_OAUTH_DOMAINS', 'shop.example/path'],
    ['SANDBOX_NATIVE_CALLBACK_URL', '/wechatpay/native-scan'],
    ['SANDBOX_PUBLIC_URL', 'ftp://192.168.1.20'],
    ['WECHAT_OA_APPID', 'not-an-appid'],
    ['WECHAT_APP_APPID', 'wx12'],
  ])('refuses a bad %s, naming it', (name, value) => {
    expect(() => loadSandboxConfig({ [name]: value })).toThrow(SandboxConfigError);
    expect(() => loadSandboxConfig({ [name]: value })).toThrow(name);
  });
});

import { readFileSync } from 'node:fs';
import { parseEnv } from 'node:util';
import { SANDBOX_DEMO } from '@mp-pay/shared/wechatpay';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.ts';

const live = {
  WECHAT_API_BASE: 'https://api.weixin.qq.com',
  WECHATPAY_API_BASE: 'https://api.mch.weixin.qq.com',
  WECHAT_APPID: 'wx0123456789abcdef',
  WECHAT_SECRET: 'a'.repeat(32),
  WECHATPAY_MCHID: '1230000109',
  WECHATPAY_KEY: 'b'.repeat(32),
  PUBLIC_BASE_URL: 'https://shop.example.com',
  REDIS_URL: 'redis://redis.internal:6379',
};

function problems(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('runs with no configuration: sandbox mode, demo merchant, memory store', () => {
    const config = loadConfig({});
    expect(config.mode).toBe('sandbox');
    expect(config.sandboxUrl).toBe('http://127.0.0.1:4010');
    expect(config.wechat).toEqual({
      appId: SANDBOX_DEMO.appId,
      secret: SANDBOX_DEMO.secret,
      apiBase: config.sandboxUrl,
    });
    expect(config.wechatpay).toMatchObject({
      mchId: SANDBOX_DEMO.mchId,
      key: SANDBOX_DEMO.key,
      signType: 'MD5',
    });
    expect(config.redis).toMatchObject({ url: undefined, prefix: 'mp-pay:' });
    expect(config.port).toBe(3000);
    expect(config.publicBaseUrl).toBeUndefined();
  });

  it('takes the root .env.example as it is (the README says `cp .env.example .env` works)', () => {
    const example = parseEnv(readFileSync(new URL('../../../.env.example', import.meta.url), 'utf8'));
    const config = loadConfig(example);
    expect(config.mode).toBe('sandbox');
    expect(config.wechatpay.key).toBe(SANDBOX_DEMO.key);
    // notify_url must follow the port the server really listens on: a PUBLIC_BASE_URL pinned in the example
    // kept pointing at :3000 after someone changed PORT, and the sandbox's notifications went nowhere.
    expect(config.publicBaseUrl).toBeUndefined();
    expect(loadConfig({ ...example, WECHATPAY_SIGN_TYPE: 'HMAC-SHA256' }).wechatpay.signType).toBe(
      'HMAC-SHA256',
    );
  });

  it('follows SANDBOX_PORT and treats empty values as unset', () => {
    const config = loadConfig({ SANDBOX_PORT: '4999', PORT: '', WECHATPAY_SIGN_TYPE: 'HMAC-SHA256' });
    expect(config.wechatpay.apiBase).toBe('http://127.0.0.1:4999');
    expect(config.port).toBe(3000);
    expect(config.wechatpay.signType).toBe('HMAC-SHA256');
  });

  it('treats a base URL that is not WeChat Pay as a simulator (sandbox mode), unless told otherwise', () => {
    const bases = {
      WECHAT_API_BASE: 'http://sandbox.internal:4010',
      WECHATPAY_API_BASE: 'http://sandbox.internal:4010/',
    };
    const config = loadConfig(bases);
    expect(config.mode).toBe('sandbox');
    expect(config.sandboxUrl).toBe('http://sandbox.internal:4010');
    expect(config.wechatpay.apiBase).toBe('http://sandbox.internal:4010');
    expect(config.wechat.appId).toBe(SANDBOX_DEMO.appId);
    expect(problems({ ...bases, WECHATPAY_MODE: 'live' }).join()).toMatch(
      /WECHAT_APPID is required outside sandbox mode/,
    );
    expect(problems({ WECHATPAY_MODE: 'live' }).join()).toMatch(/WECHATPAY_MODE=live needs/);
  });

  it('accepts a complete live production configuration', () => {
    const config = loadConfig({ ...live, NODE_ENV: 'production', TRUST_PROXY: '2' });
    expect(config.mode).toBe('live');
    expect(config.sandboxUrl).toBeUndefined();
    expect(config.trustProxy).toBe(2);
    expect(config.host).toBe('0.0.0.0');
  });

  it('says how to fix bad values', () => {
    expect(problems({ PORT: 'abc' }).join()).toMatch(/PORT must be a whole number \(e\.g\. PORT=3000\)/);
    expect(problems({ WECHATPAY_KEY: 'short' }).join()).toMatch(
      /WECHATPAY_KEY must be the 32-character APIv2 key/,
    );
    expect(problems({ REDIS_URL: 'http://x' }).join()).toMatch(/REDIS_URL must be a redis:\/\//);
    expect(problems({ PUBLIC_BASE_URL: 'shop.example.com' })).toEqual([
      expect.stringMatching(
        /^PUBLIC_BASE_URL must be an absolute http\(s\) URL \(e\.g\. PUBLIC_BASE_URL=https:/,
      ),
    ]);
    expect(problems({ PUBLIC_BASE_URL: 'https://shop.example.com/?a=1' }).join()).toMatch(
      /PUBLIC_BASE_URL must not have a query string/,
    );
    expect(problems({ WECHAT_API_BASE: 'https://api.weixin.qq.com' }).join()).toMatch(
      /set both WECHAT_API_BASE/,
    );
    expect(problems({ ...live, WECHATPAY_KEY: '' }).join()).toMatch(/WECHATPAY_KEY is required/);
    expect(problems({ ...live, PUBLIC_BASE_URL: '' }).join()).toMatch(/PUBLIC_BASE_URL is required/);
  });

  it('refuses the sandbox, demo credentials, the memory store and plain http in production', () => {
    expect(problems({ NODE_ENV: 'production' }).join('\n')).toMatch(/cannot run against the sandbox/);
    expect(problems({ NODE_ENV: 'production' }).join('\n')).toMatch(/refuses the in-memory store/);
    const demo = problems({ ...live, NODE_ENV: 'production', WECHATPAY_KEY: SANDBOX_DEMO.key });
    expect(demo.join()).toMatch(/WECHATPAY_KEY is the sandbox demo value/);
    const http = problems({ ...live, NODE_ENV: 'production', PUBLIC_BASE_URL: 'http://shop.example.com' });
    expect(http.join()).toMatch(/PUBLIC_BASE_URL must be https/);
  });

  it('refuses a worker lease shorter than the longest background job', () => {
    expect(problems({ WORKER_LEASE_MS: '5000' }).join()).toMatch(
      /WORKER_LEASE_MS must be at least .* \(28000 with the current values\)/,
    );
    expect(problems({ WECHATPAY_TIMEOUT_MS: '20000' }).join()).toMatch(/48000 with the current values/);
    expect(loadConfig({ WORKER_LEASE_MS: '5000', WORKER_ENABLED: 'false' }).worker.leaseMs).toBe(5000);
    expect(
      loadConfig({ WORKER_LEASE_MS: '3000', WECHATPAY_TIMEOUT_MS: '1000', REDIS_COMMAND_TIMEOUT_MS: '200' })
        .worker,
    ).toMatchObject({ enabled: true, leaseMs: 3000 });
  });

  it('never puts a secret into an error message', () => {
    const secret = 'Z'.repeat(31);
    const list = problems({ WECHAT_SECRET: secret, WECHATPAY_KEY: secret });
    expect(list.join()).not.toContain(secret);
  });
});

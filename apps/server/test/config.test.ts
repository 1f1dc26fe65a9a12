import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseEnv } from 'node:util';
import {
  SANDBOX_DEMO,
  SANDBOX_DEMO_CHANNELS,
  SANDBOX_DEMO_ADMIN_TOKEN,
  SANDBOX_DEMO_TLS,
  SANDBOX_DEMO_COMBINE_SUB_MERCHANTS,
  SANDBOX_DEMO_V3,
} from '@mp-pay/shared/wechatpay';
import { afterAll, describe, expect, it } from 'vitest';
import { SANDBOX_DEMO_SUBSCRIBE_TEMPLATE } from '@mp-pay/shared/login';
import { CONFIG_VARIABLES, ConfigError, loadConfig, type ServerConfig } from '../src/config.ts';

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

const fileText = (path: string) => readFileSync(new URL(path, import.meta.url), 'utf8');

/** The rows of the variable table in apps/server/README.md's "## Configuration": names and default cells. */
function documentedVariables(): { names: string[]; defaults: string[] }[] {
  const section = fileText('../README.md').split('\n## Configuration\n')[1]?.split('\n## ')[0] ?? '';
  const table = section.split('\n| Variable | Default | Meaning |\n')[1]?.split('\n\n')[0] ?? '';
  return table
    .split('\n')
    .filter((line) => line.startsWith('| `'))
    .map((line) => {
      const [names = '', defaults = ''] = line
        .split('|')
        .slice(1, -1)
        .map((cell) => cell.trim());
      const list = (cell: string) => [...cell.matchAll(/`([A-Z0-9_]+)`/g)].map((m) => m[1] as string);
      // `A` / `B` | `1` / `2`: one default per name; `A`, `B` | text: the same text for all.
      if (names.includes(' / ')) {
        return { names: names.split(' / ').flatMap(list), defaults: defaults.split(' / ') };
      }
      const all = list(names);
      return { names: all, defaults: all.map(() => defaults) };
    });
}

describe('loadConfig', () => {
  it('takes every default from the schema: an empty environment is the documented configuration', () => {
    const sandbox = 'http://127.0.0.1:4010';
    const expected = {
      nodeEnv: 'development',
      mode: 'sandbox',
      host: '127.0.0.1',
      port: 3000,
      publicBaseUrl: undefined,
      trustProxy: 0,
      logLevel: 'info',
      wechat: { appId: SANDBOX_DEMO.appId, secret: SANDBOX_DEMO.secret, apiBase: sandbox },
      wechatpay: {
        mchId: SANDBOX_DEMO.mchId,
        key: SANDBOX_DEMO.key,
        signType: 'MD5',
        appIds: [
          SANDBOX_DEMO.appId,
          SANDBOX_DEMO_CHANNELS.officialAccount.appId,
          SANDBOX_DEMO_CHANNELS.app.appId,
        ],
        apiBase: sandbox,
        timeoutMs: 10_000,
        apiVersion: 'v2',
        v3: {
          apiV3Key: SANDBOX_DEMO_V3.apiV3Key,
          privateKey: SANDBOX_DEMO_V3.mchPrivateKey,
          certSerial: SANDBOX_DEMO_V3.mchCertSerial,
          publicKey: { id: SANDBOX_DEMO_V3.platformPublicKeyId, pem: SANDBOX_DEMO_V3.platformPublicKey },
          platformCertificates: false,
        },
        merchantName: 'mp-pay tea house',
        // APIv2 sells the shop's own goods only: other merchants need APIv3 (combine payments).
        subMerchants: [],
        refundTls: {
          clientCertificate: { cert: SANDBOX_DEMO_TLS.clientCertPem, key: SANDBOX_DEMO_TLS.clientKeyPem },
          ca: SANDBOX_DEMO_TLS.caCert,
          secureBaseUrl: 'https://127.0.0.1:4011',
        },
      },
      channels: {
        miniprogram: { appId: SANDBOX_DEMO.appId },
        officialAccount: { ...SANDBOX_DEMO_CHANNELS.officialAccount },
        app: { appId: SANDBOX_DEMO_CHANNELS.app.appId },
        oauthBase: sandbox,
        h5: { wapUrl: undefined, wapName: 'mp-pay shop', requirePublicIp: false },
        native: { mode: 2 },
      },
      sandboxUrl: sandbox,
      redis: {
        url: undefined,
        clusterNodes: undefined,
        prefix: 'mp-pay:',
        commandTimeoutMs: 2000,
        shards: 16,
        eventsMaxLen: 1_000_000,
      },
      logFormat: 'pretty',
      metrics: { port: undefined },
      sessions: { ttlSeconds: 7200 },
      guests: { sessionsPerIpPerHour: 20, ordersPerHour: 30 },
      refunds: { policy: 'review', windowMs: 7 * 86_400_000 },
      admins: [{ name: 'demo', token: SANDBOX_DEMO_ADMIN_TOKEN }],
      orders: { ttlSeconds: 1800, refreshAfterMs: 5000, idempotencyTtlSeconds: 86_400 },
      reconcile: { atMinute: 630, enabled: true },
      worker: {
        enabled: true,
        intervalMs: 1000,
        leaseMs: 30_000,
        batchSize: 20,
        queryDelayMs: 60_000,
        queryMaxBackoffMs: 600_000,
      },
      http: {
        jsonLimitBytes: 16_384,
        notifyLimitBytes: 65_536,
        requestTimeoutMs: 15_000,
        headersTimeoutMs: 10_000,
        keepAliveTimeoutMs: 5000,
      },
      subscribe: { paymentSucceeded: SANDBOX_DEMO_SUBSCRIBE_TEMPLATE.id, miniprogramState: 'formal' },
      shutdownGraceMs: 10_000,
    } satisfies ServerConfig;
    expect(loadConfig({})).toStrictEqual(expected);
    // The defaults that depend on another variable.
    expect(loadConfig({ NODE_ENV: 'test' }).logLevel).toBe('silent');
    expect(loadConfig({ ...live, LOG_LEVEL: '' })).toMatchObject({ host: '0.0.0.0', logLevel: 'info' });
  });

  it('documents every variable, with the default the schema really has (README table)', () => {
    const rows = documentedVariables();
    const documented = rows.flatMap((row) => row.names);
    expect([...documented].sort()).toEqual([...CONFIG_VARIABLES].sort());
    // Setting a variable to its documented default changes nothing.
    const defaults = loadConfig({});
    let compared = 0;
    for (const { names, defaults: cells } of rows) {
      names.forEach((name, i) => {
        const literal = /^`([^`]*)`$/.exec(cells[i] ?? '')?.[1];
        if (literal === undefined) return; // "unset = …", "`info` (`silent` when …)": tested above
        expect({ name, config: loadConfig({ [name]: literal }) }).toStrictEqual({ name, config: defaults });
        compared++;
      });
    }
    expect(compared).toBeGreaterThanOrEqual(20);
  });

  it('limits guests per hour; 0 guest sessions turns guests off, 0 orders per guest is refused', () => {
    expect(
      loadConfig({ GUEST_SESSIONS_PER_IP_PER_HOUR: '0', GUEST_ORDERS_PER_HOUR: '5' }).guests,
    ).toStrictEqual({ sessionsPerIpPerHour: 0, ordersPerHour: 5 });
    expect(problems({ GUEST_SESSIONS_PER_IP_PER_HOUR: '-1', GUEST_ORDERS_PER_HOUR: '0' })).toEqual([
      expect.stringMatching(/^GUEST_SESSIONS_PER_IP_PER_HOUR must be at least 0 \(.*0 = no guest sessions/),
      expect.stringMatching(/^GUEST_ORDERS_PER_HOUR must be at least 1 \(orders one guest session/),
    ]);
    expect(problems({ GUEST_SESSIONS_PER_IP_PER_HOUR: 'many' })).toEqual([
      expect.stringMatching(/^GUEST_SESSIONS_PER_IP_PER_HOUR must be a whole number/),
    ]);
  });

  it('takes the extra AppIDs of WECHATPAY_APPIDS: the mini-program first, trimmed, without repeats', () => {
    const demoAppIds = [
      SANDBOX_DEMO.appId,
      SANDBOX_DEMO_CHANNELS.officialAccount.appId,
      SANDBOX_DEMO_CHANNELS.app.appId,
    ];
    expect(loadConfig({}).wechatpay.appIds).toEqual(demoAppIds);
    const config = loadConfig({
      ...live,
      WECHATPAY_APPIDS: ` wx1111111111111111,wx0123456789abcdef, ,wx2222222222222222,wx1111111111111111,`,
    });
    expect(config.wechatpay.appIds).toEqual([
      'wx0123456789abcdef',
      'wx1111111111111111',
      'wx2222222222222222',
    ]);
    expect(config.wechat.appId).toBe('wx0123456789abcdef');
    expect(loadConfig({ WECHATPAY_APPIDS: '' }).wechatpay.appIds).toEqual(demoAppIds);
    // The official account's and the app's AppIDs are the merchant's too: their notifications are accepted.
    const channels = loadConfig({
      ...live,
      WECHAT_OA_APPID: 'wx3333333333333333',
      WECHAT_OA_SECRET: 'o'.repeat(32),
      WECHAT_APP_APPID: 'wx4444444444444444',
    });
    expect(channels.wechatpay.appIds).toEqual([
      'wx0123456789abcdef',
      'wx3333333333333333',
      'wx4444444444444444',
    ]);
    expect(channels.channels.officialAccount).toEqual({
      appId: 'wx3333333333333333',
      secret: 'o'.repeat(32),
    });
    expect(channels.channels.h5.requirePublicIp).toBe(true);
    expect(loadConfig(live).channels).toMatchObject({ officialAccount: undefined, app: undefined });
  });

  it('refuses half an official account, mode-1 Native links with APIv3 and demo channel AppIDs in production', () => {
    expect(problems({ WECHAT_OA_APPID: 'wx3333333333333333' })).toEqual([
      expect.stringMatching(/^set WECHAT_OA_APPID and WECHAT_OA_SECRET together/),
    ]);
    expect(problems({ WECHATPAY_NATIVE_MODE: '1', WECHATPAY_API_VERSION: 'v3' })).toEqual([
      expect.stringMatching(/^WECHATPAY_NATIVE_MODE=1 .* exists only in APIv2/),
    ]);
    expect(problems({ WECHATPAY_NATIVE_MODE: '3' })).toEqual([
      expect.stringMatching(/^WECHATPAY_NATIVE_MODE must be 2/),
    ]);
    expect(loadConfig({ WECHATPAY_NATIVE_MODE: '1' }).channels.native.mode).toBe(1);
    const production = problems({
      ...live,
      NODE_ENV: 'production',
      WECHAT_APP_APPID: SANDBOX_DEMO_CHANNELS.app.appId,
    });
    expect(production).toContainEqual(expect.stringMatching(/^WECHAT_APP_APPID is the sandbox demo value/));
  });

  it('names each wrong WECHATPAY_APPIDS entry by its position, by the shared AppID rule, without echoing it', () => {
    const secret = 'S'.repeat(32);
    const list = problems({ WECHATPAY_APPIDS: `wx1111111111111111,${secret},wx22` });
    expect(list).toEqual([
      expect.stringMatching(/^WECHATPAY_APPIDS entry 2 of 3 must look like an AppID: "wx" followed by 16/),
      expect.stringMatching(/^WECHATPAY_APPIDS entry 3 of 3 must look like an AppID/),
    ]);
    expect(list.join()).not.toContain(secret);
    // The same rule as WECHAT_APPID (and the sandbox): 18 characters, "wx" first.
    expect(problems({ WECHATPAY_APPIDS: 'wx012345678901234' }).join()).toMatch(/entry 1 of 1/);
    expect(problems({ WECHATPAY_APPIDS: 'WX0123456789abcdef' }).join()).toMatch(/entry 1 of 1/);
  });

  it('reports every problem at once: bad values and the rules across them', () => {
    expect(
      problems({
        NODE_ENV: 'production',
        PORT: 'abc',
        WECHATPAY_KEY: 'short',
        WECHATPAY_APPIDS: 'nope',
        HTTP_HEADERS_TIMEOUT_MS: '20000',
      }),
    ).toEqual([
      'PORT must be a whole number (e.g. PORT=3000)',
      'WECHATPAY_KEY must be the 32-character APIv2 key (letters and digits) set in the merchant console (API安全)',
      'WECHATPAY_APPIDS entry 1 of 1 must look like an AppID: "wx" followed by 16 letters or digits (mp.weixin.qq.com → 开发管理)',
      'NODE_ENV=production cannot run against the sandbox: set WECHAT_API_BASE=https://api.weixin.qq.com and ' +
        'WECHATPAY_API_BASE=https://api.mch.weixin.qq.com',
      'NODE_ENV=production refuses the in-memory store: set REDIS_URL, e.g. redis://127.0.0.1:6379',
      'HTTP_HEADERS_TIMEOUT_MS must not exceed HTTP_REQUEST_TIMEOUT_MS',
    ]);
    expect(
      problems({
        ...live,
        NODE_ENV: 'production',
        WECHATPAY_API_BASE: 'http://api.mch.weixin.qq.com',
        WECHAT_APPID: SANDBOX_DEMO.appId,
        WECHATPAY_KEY: '',
        REDIS_URL: '',
        WORKER_LEASE_MS: '5000',
      }),
    ).toEqual([
      'WECHAT_APPID is the sandbox demo value; set your real one for NODE_ENV=production',
      'WECHATPAY_KEY is required outside sandbox mode (live WeChat Pay)',
      'WECHATPAY_API_BASE must be https:// in production',
      'NODE_ENV=production refuses the in-memory store: set REDIS_URL, e.g. redis://127.0.0.1:6379',
      expect.stringMatching(/^WORKER_LEASE_MS must be at least .* \(28000 with the current values\)/),
    ]);
  });

  it('skips a rule that needs a value already reported as wrong, instead of guessing', () => {
    // The lease rule needs WECHATPAY_TIMEOUT_MS; the production rules need NODE_ENV; the mode needs the base.
    expect(problems({ WECHATPAY_TIMEOUT_MS: 'soon', WORKER_LEASE_MS: '100' })).toEqual([
      'WECHATPAY_TIMEOUT_MS must be a whole number (milliseconds, e.g. 10000)',
    ]);
    expect(problems({ NODE_ENV: 'prod' })).toEqual(['NODE_ENV must be development, test or production']);
    expect(problems({ WECHAT_API_BASE: 'https://api.weixin.qq.com', WECHATPAY_API_BASE: 'api.mch' })).toEqual(
      [expect.stringMatching(/^WECHATPAY_API_BASE must be an absolute http\(s\) URL/)],
    );
    // A wrong value is still a set one: "set both … or neither" and "required" are not claimed for it.
    expect(problems({ ...live, WECHAT_SECRET: 'x' })).toEqual([
      expect.stringMatching(/^WECHAT_SECRET must be the 32-character AppSecret/),
    ]);
  });

  it('accepts every commented-out example of .env.example', () => {
    const text = fileText('../../../.env.example');
    const examples = Object.fromEntries(
      [...text.matchAll(/^# ([A-Z][A-Z0-9_]*)=(\S+)$/gm)].map((m) => [m[1] as string, m[2] as string]),
    );
    expect(Object.keys(examples)).toContain('WECHATPAY_APPIDS');
    const config = loadConfig({ ...parseEnv(text), ...examples });
    expect(config.wechatpay.appIds.length).toBeGreaterThan(1);
  });

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

describe('APIv3 settings', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mp-pay-config-v3-'));
  const file = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };
  const key = file('apiclient_key.pem', SANDBOX_DEMO_V3.mchPrivateKey);
  const cert = file('apiclient_cert.pem', SANDBOX_DEMO_V3.mchCertificate);
  const shortKey = file(
    'short.pem',
    generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({
      type: 'pkcs8',
      format: 'pem',
    }) as string,
  );
  const problemsOf = (env: Record<string, string>) => {
    try {
      loadConfig(env);
      return [];
    } catch (err) {
      return (err as ConfigError).problems;
    }
  };
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('defaults to the sandbox demo keys in sandbox mode, v2 unless asked', () => {
    expect(loadConfig({}).wechatpay.apiVersion).toBe('v2');
    const v3 = loadConfig({ WECHATPAY_API_VERSION: 'v3' }).wechatpay;
    expect(v3.apiVersion).toBe('v3');
    expect(v3.v3.publicKey?.id).toBe(SANDBOX_DEMO_V3.platformPublicKeyId);
  });

  it('reads the key files and checks what can be checked before any request', () => {
    const config = loadConfig({
      WECHATPAY_API_VERSION: 'v3',
      WECHATPAY_PRIVATE_KEY: key,
      WECHATPAY_CERT: cert,
    });
    expect(config.wechatpay.v3.privateKey).toBe(SANDBOX_DEMO_V3.mchPrivateKey);
    expect(
      problemsOf({ WECHATPAY_API_VERSION: 'v3', WECHATPAY_PRIVATE_KEY: join(dir, 'missing.pem') }),
    ).toEqual(['WECHATPAY_PRIVATE_KEY cannot be read (ENOENT): give the path of the PEM file']);
    expect(problemsOf({ WECHATPAY_API_VERSION: 'v3', WECHATPAY_PRIVATE_KEY: cert })).toEqual([
      'WECHATPAY_PRIVATE_KEY is not a PEM private key (apiclient_key.pem)',
    ]);
    expect(problemsOf({ WECHATPAY_API_VERSION: 'v3', WECHATPAY_PRIVATE_KEY: shortKey })).toEqual([
      'WECHATPAY_PRIVATE_KEY must be an RSA key of at least 2048 bits (got rsa 1024)',
    ]);
    expect(problemsOf({ WECHATPAY_API_VERSION: 'v3', WECHATPAY_APIV3_KEY: 'short' })[0]).toMatch(
      /WECHATPAY_APIV3_KEY must be the 32-byte APIv3 key/,
    );
    expect(problemsOf({ WECHATPAY_API_VERSION: 'v3', WECHATPAY_PUBLIC_KEY: key })).toContain(
      'set WECHATPAY_PUBLIC_KEY (the file) and WECHATPAY_PUBLIC_KEY_ID (PUB_KEY_ID_…) together',
    );
  });

  it('checks the merchant certificate against the private key and the serial', () => {
    const v3 = { WECHATPAY_API_VERSION: 'v3', WECHATPAY_CERT: cert };
    expect(
      problemsOf({ ...v3, WECHATPAY_PRIVATE_KEY: key, WECHATPAY_CERT_SERIAL: SANDBOX_DEMO_V3.mchCertSerial }),
    ).toEqual([]);
    expect(problemsOf({ ...v3, WECHATPAY_CERT_SERIAL: '0123456789ABCDEF' })[0]).toMatch(
      /WECHATPAY_CERT_SERIAL does not match WECHATPAY_CERT \(whose serial is [0-9A-F]+\): use that serial/,
    );
    const otherKey = file(
      'other.pem',
      generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({
        type: 'pkcs8',
        format: 'pem',
      }) as string,
    );
    expect(problemsOf({ ...v3, WECHATPAY_PRIVATE_KEY: otherKey })).toEqual([
      'WECHATPAY_PRIVATE_KEY is not the key of WECHATPAY_CERT: download both from the same application',
    ]);
  });

  it('outside the sandbox requires the keys and a way to verify WeChat, and refuses the demo values in production', () => {
    const live = {
      WECHATPAY_API_VERSION: 'v3',
      WECHAT_API_BASE: 'https://api.weixin.qq.com',
      WECHATPAY_API_BASE: 'https://api.mch.weixin.qq.com',
      WECHAT_APPID: 'wx1234567890abcdef',
      WECHAT_SECRET: 'a'.repeat(32),
      WECHATPAY_MCHID: '1230000109',
      PUBLIC_BASE_URL: 'https://shop.example.com',
    };
    expect(problemsOf(live)).toEqual([
      'WECHATPAY_APIV3_KEY is required for WECHATPAY_API_VERSION=v3 outside sandbox mode',
      'WECHATPAY_PRIVATE_KEY is required for WECHATPAY_API_VERSION=v3 outside sandbox mode',
      'WECHATPAY_CERT_SERIAL is required for WECHATPAY_API_VERSION=v3 outside sandbox mode',
      'WECHATPAY_API_VERSION=v3 needs the WeChat Pay public key (WECHATPAY_PUBLIC_KEY and WECHATPAY_PUBLIC_KEY_ID) ' +
        'or WECHATPAY_PLATFORM_CERTS=auto (platform certificates), or both during a migration',
    ]);
    const demo = problemsOf({
      ...live,
      NODE_ENV: 'production',
      REDIS_URL: 'redis://127.0.0.1:6379',
      WECHATPAY_APIV3_KEY: SANDBOX_DEMO_V3.apiV3Key,
      WECHATPAY_PRIVATE_KEY: key,
      WECHATPAY_CERT_SERIAL: SANDBOX_DEMO_V3.mchCertSerial,
      WECHATPAY_PLATFORM_CERTS: 'auto',
    });
    expect(demo).toContain(
      'WECHATPAY_APIV3_KEY is the sandbox demo value; set your real one for NODE_ENV=production',
    );
  });
});

describe('WECHATPAY_SUB_MERCHANTS (combine payments, docs/combine.md)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mp-pay-config-subs-'));
  const file = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const demo = SANDBOX_DEMO_COMBINE_SUB_MERCHANTS[0] as (typeof SANDBOX_DEMO_COMBINE_SUB_MERCHANTS)[number];
  const keyPath = file('sub_key.pem', demo.mchPrivateKey);
  const entry = {
    seller: 'teaware',
    name: 'Teaware',
    mchId: demo.mchId,
    apiV3Key: demo.apiV3Key,
    privateKey: keyPath,
    certSerial: demo.mchCertSerial,
  };

  it('sandbox mode with APIv3 sells for the demo merchants; APIv2 for the shop alone', () => {
    expect(loadConfig({}).wechatpay.subMerchants).toEqual([]);
    const sellers = loadConfig({ WECHATPAY_API_VERSION: 'v3' }).wechatpay.subMerchants.map((m) => [
      m.seller,
      m.mchId,
    ]);
    expect(sellers).toEqual(
      SANDBOX_DEMO_COMBINE_SUB_MERCHANTS.map((m, i) => [['teaware', 'snacks'][i], m.mchId]),
    );
  });

  it('reads the file with each merchant’s key, and says what is wrong with a bad one', () => {
    const good = file('good.json', JSON.stringify([entry]));
    const subs = loadConfig({ WECHATPAY_API_VERSION: 'v3', WECHATPAY_SUB_MERCHANTS: good }).wechatpay
      .subMerchants;
    expect(subs).toEqual([{ ...entry, privateKey: demo.mchPrivateKey, publicKey: undefined }]);
    expect(problems({ WECHATPAY_SUB_MERCHANTS: good })).toEqual([
      'WECHATPAY_SUB_MERCHANTS needs WECHATPAY_API_VERSION=v3 (other merchants are paid through APIv3 only)',
    ]);
    const v3 = { WECHATPAY_API_VERSION: 'v3' };
    expect(problems({ ...v3, WECHATPAY_SUB_MERCHANTS: file('bad.json', '[{') })[0]).toMatch(
      /cannot be read as JSON/,
    );
    expect(
      problems({
        ...v3,
        WECHATPAY_SUB_MERCHANTS: file('main.json', JSON.stringify([{ ...entry, seller: 'main' }])),
      }),
    ).toEqual(['WECHATPAY_SUB_MERCHANTS: seller main twice']);
    expect(
      problems({
        ...v3,
        WECHATPAY_SUB_MERCHANTS: file('short.json', JSON.stringify([{ ...entry, apiV3Key: 'x' }])),
      }),
    ).toEqual([
      `WECHATPAY_SUB_MERCHANTS (${join(dir, 'short.json')}): 0.apiV3Key: apiV3Key: the 32-byte APIv3 key`,
    ]);
    const missing = file('missing.json', JSON.stringify([{ ...entry, privateKey: join(dir, 'nope.pem') }]));
    expect(problems({ ...v3, WECHATPAY_SUB_MERCHANTS: missing })[0]).toMatch(
      /teaware's privateKey .* cannot be read/,
    );
    // An error never shows the APIv3 key itself.
    expect(problems({ ...v3, WECHATPAY_SUB_MERCHANTS: missing }).join()).not.toContain(demo.apiV3Key);
  });

  it('refuses a sandbox demo merchant key in production', () => {
    const list = problems({
      ...live,
      NODE_ENV: 'production',
      WECHATPAY_API_VERSION: 'v3',
      WECHATPAY_APIV3_KEY: 'c'.repeat(32),
      WECHATPAY_PRIVATE_KEY: keyPath,
      WECHATPAY_CERT_SERIAL: demo.mchCertSerial,
      WECHATPAY_PUBLIC_KEY: file('pub.pem', SANDBOX_DEMO_V3.platformPublicKey),
      WECHATPAY_PUBLIC_KEY_ID: 'PUB_KEY_ID_0123456789012345',
      WECHATPAY_SUB_MERCHANTS: file('prod.json', JSON.stringify([entry])),
    });
    expect(list.join('\n')).toContain('teaware has a sandbox demo APIv3 key');
  });
});

describe('ADMIN_TOKENS', () => {
  it('takes name:token pairs and refuses short or malformed tokens without echoing them', () => {
    const token = 'x'.repeat(32);
    expect(loadConfig({ ADMIN_TOKENS: `alice:${token}, bob:${token}y` }).admins).toEqual([
      { name: 'alice', token },
      { name: 'bob', token: `${token}y` },
    ]);
    // Sandbox mode without ADMIN_TOKENS: the published demo token, so `pnpm demo --refund` works out of the box.
    expect(loadConfig({}).admins).toEqual([{ name: 'demo', token: SANDBOX_DEMO_ADMIN_TOKEN }]);
    for (const bad of ['alice:short', token, 'alice bob:' + token]) {
      let problems: string[] = [];
      try {
        loadConfig({ ADMIN_TOKENS: bad });
      } catch (err) {
        problems = (err as ConfigError).problems;
      }
      expect(problems.join('\n')).toMatch(/ADMIN_TOKENS/);
      expect(problems.join('\n')).not.toContain(bad);
    }
  });
});

describe('production refuses the published demo material of refunds and the admin API', () => {
  it('refuses the demo admin token and the demo client certificate', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mp-pay-config-tls-'));
    const p12 = join(dir, 'apiclient_cert.p12');
    writeFileSync(p12, Buffer.from(SANDBOX_DEMO_TLS.clientP12Base64, 'base64'));
    try {
      let problems: string[] = [];
      try {
        loadConfig({
          NODE_ENV: 'production',
          ADMIN_TOKENS: `ops:${SANDBOX_DEMO_ADMIN_TOKEN}`,
          WECHATPAY_CERT_P12: p12,
        });
      } catch (err) {
        problems = (err as ConfigError).problems;
      }
      expect(problems).toContain(
        'ADMIN_TOKENS holds the sandbox demo token; set your own tokens for NODE_ENV=production',
      );
      expect(problems).toContain(
        "WECHATPAY_CERT_P12 is the sandbox demo certificate; use your merchant's own for NODE_ENV=production",
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

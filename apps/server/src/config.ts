/**
 * The server's only reader of the environment. Everything is validated once, at startup, into a typed
 * ServerConfig; a bad setting stops the process with a message that says how to fix it.
 *
 * With nothing set, the server runs in sandbox mode against the local mp-pay sandbox with its demo merchant and
 * an in-memory store, so `pnpm start` works on a fresh machine. NODE_ENV=production refuses all three.
 */
import { existsSync } from 'node:fs';
import { SANDBOX_DEFAULT_PORT, SANDBOX_DEMO } from '@mp-pay/shared/wechatpay';
import type { SignType } from '@mp-pay/shared/wechatpay';
import {
  APIV2_KEY_RULE,
  APP_SECRET_RULE,
  APPID_RULE,
  MCH_ID_RULE,
  type CredentialRule,
} from '@mp-pay/shared/core';
import { z } from 'zod';

export type Env = Record<string, string | undefined>;

/**
 * The process environment, after loading `envFile` (the repository's .env) when it exists. Variables already
 * set in the environment win over the file, as with every dotenv tool.
 */
export function processEnv(envFile?: string): Env {
  if (envFile !== undefined && existsSync(envFile)) process.loadEnvFile(envFile);
  return process.env;
}

export interface ServerConfig {
  nodeEnv: 'development' | 'test' | 'production';
  /** `sandbox`: the clients talk to the mp-pay sandbox; `live`: to WeChat (or whatever the API bases say). */
  mode: 'sandbox' | 'live';
  host: string;
  port: number;
  /** Base of notify_url. Undefined: derived from the address the server actually listens on (sandbox only). */
  publicBaseUrl: string | undefined;
  /** Number of reverse-proxy hops whose X-Forwarded-For is trusted for the client address (0 = none). */
  trustProxy: number;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  wechat: { appId: string; secret: string; apiBase: string };
  wechatpay: {
    mchId: string;
    key: string;
    signType: SignType;
    /** Every AppID bound to the merchant: the mini-program's first, then WECHATPAY_APPIDS. */
    appIds: string[];
    apiBase: string;
    timeoutMs: number;
  };
  /** Sandbox mode only: where the sandbox (payer, login codes) lives, reported to the mini-program. */
  sandboxUrl: string | undefined;
  redis: { url: string | undefined; prefix: string; commandTimeoutMs: number };
  sessions: { ttlSeconds: number };
  orders: {
    /** Lifetime of an unpaid order; sent to WeChat as time_expire. */
    ttlSeconds: number;
    /** GET /api/orders/:id asks WeChat about a PENDING order older than this. */
    refreshAfterMs: number;
    idempotencyTtlSeconds: number;
  };
  worker: {
    enabled: boolean;
    intervalMs: number;
    leaseMs: number;
    batchSize: number;
    /** First orderquery of an order that received no notification, counted from its creation. */
    queryDelayMs: number;
    /** Cap of the exponential backoff between orderqueries (and between close attempts). */
    queryMaxBackoffMs: number;
  };
  http: {
    jsonLimitBytes: number;
    notifyLimitBytes: number;
    requestTimeoutMs: number;
    headersTimeoutMs: number;
    keepAliveTimeoutMs: number;
  };
  shutdownGraceMs: number;
}

const WECHATPAY_HOSTS = new Set(['api.mch.weixin.qq.com', 'api2.mch.weixin.qq.com']);

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.problems = problems;
  }
}

// An empty value (`PORT=` in .env) means unset, as in most dotenv tooling.
const optional = <T extends z.ZodType>(s: T) => z.preprocess((v) => (v === '' ? undefined : v), s.optional());
const int = (min: number, max: number, fix: string) =>
  optional(
    z.coerce
      .number({ error: `must be a whole number (${fix})` })
      .int({ error: `must be a whole number (${fix})` })
      .min(min, { error: `must be at least ${min} (${fix})` })
      .max(max, { error: `must be at most ${max} (${fix})` }),
  );
const bool = (fix: string) =>
  optional(z.enum(['true', 'false', '1', '0'], { error: `must be true or false (${fix})` }));
const httpUrl = (fix: string) =>
  optional(
    z
      .url({ protocol: /^https?$/, error: `must be an absolute http(s) URL (${fix})` })
      // zod runs this refinement even when the URL check above failed: only parse what URL can parse, or a
      // typo such as PUBLIC_BASE_URL=shop.example.com escapes as a bare TypeError instead of this message.
      .refine((u) => !URL.canParse(u) || !new URL(u).search, {
        error: `must not have a query string (${fix})`,
      }),
  );

const rule = (r: CredentialRule) => z.string().regex(r.re, r.message);

const schema = z.object({
  NODE_ENV: optional(
    z.enum(['development', 'test', 'production'], { error: 'must be development, test or production' }),
  ),
  HOST: optional(z.string().min(1)),
  PORT: int(0, 65535, 'e.g. PORT=3000'),
  PUBLIC_BASE_URL: httpUrl(
    'e.g. PUBLIC_BASE_URL=https://shop.example.com, where WeChat can reach the server',
  ),
  TRUST_PROXY: optional(
    z.union([z.enum(['true', 'false']), z.coerce.number().int().min(0).max(10)], {
      error: 'must be false, true (one proxy) or the number of trusted proxy hops, e.g. TRUST_PROXY=1',
    }),
  ),
  LOG_LEVEL: optional(
    z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
      error: 'must be one of fatal, error, warn, info, debug, trace, silent',
    }),
  ),
  // The credential rules are shared with the sandbox, which reads the same .env.
  WECHAT_APPID: optional(rule(APPID_RULE)),
  WECHAT_SECRET: optional(rule(APP_SECRET_RULE)),
  WECHATPAY_MCHID: optional(rule(MCH_ID_RULE)),
  WECHATPAY_KEY: optional(rule(APIV2_KEY_RULE)),
  WECHATPAY_APPIDS: optional(
    z
      .string()
      .transform((v) =>
        v
          .split(',')
          .map((id) => id.trim())
          .filter((id) => id !== ''),
      )
      .pipe(z.array(rule(APPID_RULE))),
  ),
  WECHATPAY_SIGN_TYPE: optional(z.enum(['MD5', 'HMAC-SHA256'], { error: 'must be MD5 or HMAC-SHA256' })),
  WECHATPAY_MODE: optional(
    z.enum(['sandbox', 'live'], {
      error: 'must be sandbox or live (default: live only for WeChat Pay’s own hosts)',
    }),
  ),
  WECHAT_API_BASE: httpUrl('e.g. WECHAT_API_BASE=https://api.weixin.qq.com'),
  WECHATPAY_API_BASE: httpUrl('e.g. WECHATPAY_API_BASE=https://api.mch.weixin.qq.com'),
  WECHATPAY_TIMEOUT_MS: int(100, 60_000, 'milliseconds, e.g. 10000'),
  SANDBOX_PORT: int(1, 65535, 'the port the sandbox listens on, default 4010'),
  REDIS_URL: optional(
    z.url({
      protocol: /^rediss?$/,
      error: 'must be a redis:// or rediss:// URL, e.g. redis://127.0.0.1:6379',
    }),
  ),
  REDIS_PREFIX: optional(
    z.string().regex(/^[A-Za-z0-9:_{}.-]{1,64}$/, 'must be 1-64 characters of A-Z a-z 0-9 : _ { } . -'),
  ),
  REDIS_COMMAND_TIMEOUT_MS: int(50, 60_000, 'milliseconds, e.g. 2000'),
  SESSION_TTL_SECONDS: int(1, 30 * 86400, 'seconds of inactivity before a session expires, e.g. 7200'),
  // WeChat refuses a JSAPI time_expire less than 5 minutes ahead when the order reaches it (6 leaves room for
  // clock skew and latency), and a prepay_id lives 2 h, which must cover the whole order.
  ORDER_TTL_SECONDS: int(360, 7200, 'seconds an unpaid order stays payable, 360 to 7200'),
  ORDER_REFRESH_AFTER_MS: int(0, 3_600_000, 'milliseconds, e.g. 5000'),
  IDEMPOTENCY_TTL_SECONDS: int(60, 7 * 86400, 'seconds, e.g. 86400'),
  WORKER_ENABLED: bool('WORKER_ENABLED=false disables background order queries and expiry in this process'),
  WORKER_INTERVAL_MS: int(10, 600_000, 'milliseconds between polls of the due sets, e.g. 1000'),
  WORKER_LEASE_MS: int(100, 3_600_000, 'milliseconds a claimed job stays reserved, e.g. 30000'),
  WORKER_BATCH_SIZE: int(1, 1000, 'jobs claimed per poll, e.g. 20'),
  ORDER_QUERY_DELAY_MS: int(
    0,
    86_400_000,
    'milliseconds after creation before the first orderquery, e.g. 60000',
  ),
  ORDER_QUERY_MAX_BACKOFF_MS: int(10, 86_400_000, 'milliseconds, e.g. 600000'),
  JSON_LIMIT_BYTES: int(256, 1_048_576, 'bytes, e.g. 16384'),
  NOTIFY_LIMIT_BYTES: int(1024, 1_048_576, 'bytes, e.g. 65536'),
  HTTP_REQUEST_TIMEOUT_MS: int(1000, 600_000, 'milliseconds, e.g. 15000'),
  HTTP_HEADERS_TIMEOUT_MS: int(1000, 600_000, 'milliseconds, e.g. 10000'),
  HTTP_KEEPALIVE_TIMEOUT_MS: int(100, 600_000, 'milliseconds, e.g. 5000'),
  SHUTDOWN_GRACE_MS: int(0, 600_000, 'milliseconds, e.g. 10000'),
});

export function loadConfig(env: Env): ServerConfig {
  const result = schema.safeParse(env);
  if (!result.success) {
    throw new ConfigError(result.error.issues.map((i) => `${i.path.join('.')} ${i.message}`));
  }
  const e = result.data;
  const problems: string[] = [];
  const nodeEnv = e.NODE_ENV ?? 'development';
  const production = nodeEnv === 'production';

  const wechatBase = e.WECHAT_API_BASE;
  const payBase = e.WECHATPAY_API_BASE;
  if ((wechatBase === undefined) !== (payBase === undefined)) {
    problems.push(
      'set both WECHAT_API_BASE and WECHATPAY_API_BASE (live WeChat or another simulator) or neither (the local sandbox)',
    );
  }
  // Live means WeChat's own pay hosts (or WECHATPAY_MODE=live, e.g. behind an egress proxy); any other base is
  // a simulator such as the mp-pay sandbox, whose URL the mini-program needs for its payer.
  const mode: ServerConfig['mode'] =
    e.WECHATPAY_MODE ??
    (payBase !== undefined && WECHATPAY_HOSTS.has(new URL(payBase).hostname) ? 'live' : 'sandbox');
  const sandboxUrl =
    mode === 'sandbox'
      ? (payBase?.replace(/\/+$/, '') ?? `http://127.0.0.1:${e.SANDBOX_PORT ?? SANDBOX_DEFAULT_PORT}`)
      : undefined;
  if (mode === 'live' && payBase === undefined) {
    problems.push(
      'WECHATPAY_MODE=live needs WECHAT_API_BASE and WECHATPAY_API_BASE (e.g. https://api.mch.weixin.qq.com)',
    );
  }

  const creds = {
    appId: e.WECHAT_APPID,
    secret: e.WECHAT_SECRET,
    mchId: e.WECHATPAY_MCHID,
    key: e.WECHATPAY_KEY,
  };
  const names = {
    appId: 'WECHAT_APPID',
    secret: 'WECHAT_SECRET',
    mchId: 'WECHATPAY_MCHID',
    key: 'WECHATPAY_KEY',
  };
  for (const field of Object.keys(names) as (keyof typeof names)[]) {
    if (creds[field] === undefined) {
      if (mode === 'sandbox') creds[field] = SANDBOX_DEMO[field];
      else problems.push(`${names[field]} is required outside sandbox mode (live WeChat Pay)`);
    } else if (production && creds[field] === SANDBOX_DEMO[field]) {
      problems.push(`${names[field]} is the sandbox demo value; set your real one for NODE_ENV=production`);
    }
  }

  const redisUrl = e.REDIS_URL;
  const publicBaseUrl = e.PUBLIC_BASE_URL?.replace(/\/+$/, '');
  if (production) {
    if (mode === 'sandbox') {
      problems.push(
        'NODE_ENV=production cannot run against the sandbox: set WECHAT_API_BASE=https://api.weixin.qq.com and ' +
          'WECHATPAY_API_BASE=https://api.mch.weixin.qq.com',
      );
    }
    for (const [name, url] of [
      ['WECHAT_API_BASE', wechatBase],
      ['WECHATPAY_API_BASE', payBase],
      ['PUBLIC_BASE_URL', publicBaseUrl],
    ] as const) {
      if (url !== undefined && !url.startsWith('https://'))
        problems.push(`${name} must be https:// in production`);
    }
    if (!redisUrl) {
      problems.push(
        'NODE_ENV=production refuses the in-memory store: set REDIS_URL, e.g. redis://127.0.0.1:6379',
      );
    }
  }
  if (mode === 'live' && !publicBaseUrl) {
    problems.push('PUBLIC_BASE_URL is required outside sandbox mode: notify_url must be reachable by WeChat');
  }
  const queryDelayMs = e.ORDER_QUERY_DELAY_MS ?? 60_000;
  const queryMaxBackoffMs = e.ORDER_QUERY_MAX_BACKOFF_MS ?? 600_000;
  const headersTimeoutMs = e.HTTP_HEADERS_TIMEOUT_MS ?? 10_000;
  const requestTimeoutMs = e.HTTP_REQUEST_TIMEOUT_MS ?? 15_000;
  if (headersTimeoutMs > requestTimeoutMs) {
    problems.push('HTTP_HEADERS_TIMEOUT_MS must not exceed HTTP_REQUEST_TIMEOUT_MS');
  }
  const workerEnabled = !['false', '0'].includes(e.WORKER_ENABLED ?? 'true');
  const leaseMs = e.WORKER_LEASE_MS ?? 30_000;
  const payTimeoutMs = e.WECHATPAY_TIMEOUT_MS ?? 10_000;
  const redisTimeoutMs = e.REDIS_COMMAND_TIMEOUT_MS ?? 2000;
  // The longest job (closeorder answering ORDERPAID, then orderquery, plus a few Redis commands) must end within
  // its lease, or another process claims the same order while the first still works on it.
  const minLeaseMs = 2 * payTimeoutMs + 4 * redisTimeoutMs;
  if (workerEnabled && leaseMs < minLeaseMs) {
    problems.push(
      `WORKER_LEASE_MS must be at least 2 × WECHATPAY_TIMEOUT_MS + 4 × REDIS_COMMAND_TIMEOUT_MS (${minLeaseMs} ` +
        'with the current values), so a background job ends before another process may claim its order',
    );
  }
  if (problems.length > 0) throw new ConfigError(problems);

  const trust = e.TRUST_PROXY;
  return {
    nodeEnv,
    mode,
    host: e.HOST ?? (mode === 'sandbox' ? '127.0.0.1' : '0.0.0.0'),
    port: e.PORT ?? 3000,
    publicBaseUrl,
    trustProxy: trust === undefined || trust === 'false' ? 0 : trust === 'true' ? 1 : Number(trust),
    logLevel: e.LOG_LEVEL ?? (nodeEnv === 'test' ? 'silent' : 'info'),
    wechat: {
      appId: creds.appId as string,
      secret: creds.secret as string,
      apiBase: (wechatBase?.replace(/\/+$/, '') ?? sandboxUrl) as string,
    },
    wechatpay: {
      mchId: creds.mchId as string,
      key: creds.key as string,
      signType: e.WECHATPAY_SIGN_TYPE ?? 'MD5',
      appIds: [...new Set([creds.appId as string, ...(e.WECHATPAY_APPIDS ?? [])])],
      apiBase: (payBase?.replace(/\/+$/, '') ?? sandboxUrl) as string,
      timeoutMs: payTimeoutMs,
    },
    sandboxUrl,
    redis: {
      url: redisUrl,
      prefix: e.REDIS_PREFIX ?? 'mp-pay:',
      commandTimeoutMs: redisTimeoutMs,
    },
    sessions: { ttlSeconds: e.SESSION_TTL_SECONDS ?? 7200 },
    orders: {
      ttlSeconds: e.ORDER_TTL_SECONDS ?? 1800,
      refreshAfterMs: e.ORDER_REFRESH_AFTER_MS ?? 5000,
      idempotencyTtlSeconds: e.IDEMPOTENCY_TTL_SECONDS ?? 86_400,
    },
    worker: {
      enabled: workerEnabled,
      intervalMs: e.WORKER_INTERVAL_MS ?? 1000,
      leaseMs,
      batchSize: e.WORKER_BATCH_SIZE ?? 20,
      queryDelayMs,
      queryMaxBackoffMs,
    },
    http: {
      jsonLimitBytes: e.JSON_LIMIT_BYTES ?? 16 * 1024,
      notifyLimitBytes: e.NOTIFY_LIMIT_BYTES ?? 64 * 1024,
      requestTimeoutMs,
      headersTimeoutMs,
      keepAliveTimeoutMs: e.HTTP_KEEPALIVE_TIMEOUT_MS ?? 5000,
    },
    shutdownGraceMs: e.SHUTDOWN_GRACE_MS ?? 10_000,
  };
}

/**
 * The server's only reader of the environment. Everything is validated once, at startup, into a typed
 * ServerConfig; a bad setting stops the process with a message that says how to fix it.
 *
 * One zod schema, `configSchema`, is the whole definition, in three steps:
 * 1. the variables, one object schema per concern, each variable with its check, its fix-it message and its
 *    default (`.default()`);
 * 2. the rules across variables (sandbox or live mode, production refusals, timeouts that must fit together);
 * 3. the mapping onto the nested ServerConfig, whose type is inferred from the schema (`z.output`).
 * Every problem of steps 1 and 2 is reported together, in one ConfigError.
 *
 * With nothing set, the server runs in sandbox mode against the local mp-pay sandbox with its demo merchant and
 * an in-memory store, so `pnpm start` works on a fresh machine. NODE_ENV=production refuses all three.
 */
import { createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import {
  SANDBOX_DEFAULT_PORT,
  SANDBOX_DEMO,
  SANDBOX_DEMO_CHANNELS,
  SANDBOX_DEMO_ADMIN_TOKEN,
  SANDBOX_DEMO_TLS,
  isSandboxDemoTls,
  SANDBOX_DEMO_COMBINE_SUB_MERCHANTS,
  SANDBOX_DEMO_V3,
  SIGN_TYPES,
} from '@mp-pay/shared/wechatpay';
import {
  APIV2_KEY_RULE,
  APP_SECRET_RULE,
  APPID_RULE,
  MCH_ID_RULE,
  type CredentialRule,
} from '@mp-pay/shared/core';
import { SANDBOX_DEMO_SUBSCRIBE_TEMPLATE } from '@mp-pay/shared/login';
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

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.problems = problems;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Building blocks. Messages complete "<VARIABLE> …".

const int = (min: number, max: number, fix: string) =>
  z.coerce
    .number({ error: `must be a whole number (${fix})` })
    .int({ error: `must be a whole number (${fix})` })
    .min(min, { error: `must be at least ${min} (${fix})` })
    .max(max, { error: `must be at most ${max} (${fix})` });

const bool = (fix: string) =>
  z
    .enum(['true', 'false', '1', '0'], { error: `must be true or false (${fix})` })
    .transform((v) => v === 'true' || v === '1');

/** An absolute http(s) URL without a query string; trailing slashes are dropped (`<base>/path` is built on it). */
const httpUrl = (fix: string) =>
  z
    .url({ protocol: /^https?$/, error: `must be an absolute http(s) URL (${fix})` })
    // zod runs this refinement even when the URL check above failed: only parse what URL can parse, or a
    // typo such as PUBLIC_BASE_URL=shop.example.com escapes as a bare TypeError instead of this message.
    .refine((u) => !URL.canParse(u) || !new URL(u).search, {
      error: `must not have a query string (${fix})`,
    })
    .transform((u) => u.replace(/\/+$/, ''));

/** The credential rules are shared with the sandbox, which reads the same .env: both accept the same values. */
const credential = (r: CredentialRule) => z.string().regex(r.re, r.message);

/** A comma-separated list of AppIDs; a wrong entry is named by its position (never echoed: it may be a secret). */
const appIdList = z
  .string()
  .transform((list) =>
    list
      .split(',')
      .map((id) => id.trim())
      .filter((id) => id !== ''),
  )
  .superRefine((ids, ctx) => {
    ids.forEach((id, i) => {
      if (!APPID_RULE.re.test(id)) {
        ctx.addIssue({ code: 'custom', message: `entry ${i + 1} of ${ids.length} ${APPID_RULE.message}` });
      }
    });
  });

const TRUST_PROXY_FIX =
  'must be false, true (one proxy) or the number of trusted proxy hops, e.g. TRUST_PROXY=1';

// ---------------------------------------------------------------------------------------------------------------
// Step 1: the variables, one schema per concern. A default that depends on another variable (HOST, LOG_LEVEL,
// the credentials, the API bases) is resolved in step 3; every other default is here. README.md lists them all.

/** The process: environment, listener, logging. */
const processVars = z.object({
  NODE_ENV: z
    .enum(['development', 'test', 'production'], { error: 'must be development, test or production' })
    .default('development'),
  /** Default: 127.0.0.1 in sandbox mode, else 0.0.0.0. */
  HOST: z.string().min(1).optional(),
  PORT: int(0, 65535, 'e.g. PORT=3000').default(3000),
  /** Default (sandbox mode only): the address the server actually listens on. */
  PUBLIC_BASE_URL: httpUrl(
    'e.g. PUBLIC_BASE_URL=https://shop.example.com, where WeChat can reach the server',
  ).optional(),
  TRUST_PROXY: z
    .union(
      [
        z.enum(['true', 'false']),
        z.coerce
          .number()
          .int({ error: TRUST_PROXY_FIX })
          .min(0, { error: TRUST_PROXY_FIX })
          .max(10, { error: 'must be at most 10 (the number of trusted proxy hops, e.g. TRUST_PROXY=1)' }),
      ],
      { error: TRUST_PROXY_FIX },
    )
    .transform((v) => (v === 'false' ? 0 : v === 'true' ? 1 : v))
    .default(0),
  /** Default: info, silent when NODE_ENV=test. */
  LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
      error: 'must be one of fatal, error, warn, info, debug, trace, silent',
    })
    .optional(),
  SHUTDOWN_GRACE_MS: int(0, 600_000, 'milliseconds, e.g. 10000').default(10_000),
  /** Default: pretty when NODE_ENV=development, else json (one JSON object per line, for log collectors). */
  LOG_FORMAT: z.enum(['json', 'pretty'], { error: 'must be json or pretty' }).optional(),
  /** Unset: GET /metrics on the main port. Set: only on this port (keep it off the public network). */
  METRICS_PORT: int(1, 65535, 'e.g. METRICS_PORT=9464').optional(),
});

/** The merchant. Credentials default to the sandbox's demo merchant, in sandbox mode only. */
const merchantVars = z.object({
  WECHAT_APPID: credential(APPID_RULE).optional(),
  WECHAT_SECRET: credential(APP_SECRET_RULE).optional(),
  WECHATPAY_MCHID: credential(MCH_ID_RULE).optional(),
  WECHATPAY_KEY: credential(APIV2_KEY_RULE).optional(),
  /** More AppIDs bound to the merchant (official account, app) whose notifications are accepted. */
  WECHATPAY_APPIDS: appIdList.default([]),
  WECHATPAY_SIGN_TYPE: z.enum(SIGN_TYPES, { error: 'must be MD5 or HMAC-SHA256' }).default('MD5'),
});

/**
 * APIv3 (docs/protocol.md §7): RSA-signed JSON and encrypted notifications. Files hold the keys (paths, never
 * the PEM itself in the environment). Everything defaults to the sandbox's published demo keys in sandbox mode.
 */
const v3Vars = z.object({
  WECHATPAY_API_VERSION: z.enum(['v2', 'v3'], { error: 'must be v2 or v3' }).default('v2'),
  WECHATPAY_APIV3_KEY: z
    .string()
    .refine((v) => Buffer.byteLength(v, 'utf8') === 32, {
      error: 'must be the 32-byte APIv3 key set in the merchant console (API安全 → APIv3密钥)',
    })
    .optional(),
  WECHATPAY_PRIVATE_KEY: z.string().min(1).optional(),
  WECHATPAY_CERT_SERIAL: z
    .string()
    .regex(
      /^[0-9A-Fa-f]{8,40}$/,
      'must be the merchant API certificate serial number (hex, from the console)',
    )
    .optional(),
  /** Optional: the merchant API certificate (apiclient_cert.pem), checked against the key and the serial. */
  WECHATPAY_CERT: z.string().min(1).optional(),
  WECHATPAY_PUBLIC_KEY: z.string().min(1).optional(),
  WECHATPAY_PUBLIC_KEY_ID: z
    .string()
    .regex(/^PUB_KEY_ID_\d{8,64}$/, 'must look like PUB_KEY_ID_ followed by digits (from the console)')
    .optional(),
  WECHATPAY_PLATFORM_CERTS: z
    .enum(['auto'], { error: 'must be auto (download /v3/certificates) or unset' })
    .optional(),
  /**
   * The other merchants whose goods the catalogue sells (combine payments, docs/combine.md): the path of a JSON
   * file listing them with their APIv3 credentials. Sandbox mode with APIv3: the sandbox's two demo merchants.
   */
  WECHATPAY_SUB_MERCHANTS: z.string().min(1).optional(),
  /** How the shop's own merchant is named beside the others (the catalogue's `main` seller). */
  WECHATPAY_MERCHANT_NAME: z.string().min(1).max(40).default('mp-pay tea house'),
});

/** One entry of the WECHATPAY_SUB_MERCHANTS file: a seller of the catalogue and its merchant's APIv3 identity. */
const subMerchantSchema = z
  .object({
    seller: z.string().regex(/^[a-z0-9-]{1,20}$/, 'seller: lower-case letters, digits and dashes'),
    name: z.string().min(1).max(40),
    mchId: z.string().regex(/^\d{8,12}$/, 'mchId: the merchant number (digits)'),
    apiV3Key: z.string().refine((v) => Buffer.byteLength(v, 'utf8') === 32, {
      error: 'apiV3Key: the 32-byte APIv3 key',
    }),
    /** Path of its apiclient_key.pem. */
    privateKey: z.string().min(1),
    certSerial: z.string().regex(/^[0-9A-Fa-f]{8,40}$/, 'certSerial: the certificate serial (hex)'),
    /** Its WeChat Pay public key (path) and id; absent: the main merchant's key set verifies its replies. */
    publicKey: z.string().min(1).optional(),
    publicKeyId: z
      .string()
      .regex(/^PUB_KEY_ID_\d{8,64}$/)
      .optional(),
  })
  .strict();

/**
 * APIv2 refunds go over mutual TLS with the merchant's API certificate (docs/protocol.md §8): WeChat's
 * apiclient_cert.p12 (passphrase: the mch_id unless set) or a PEM certificate and key. In sandbox mode the
 * sandbox's published demo certificate and its TLS port (SANDBOX_TLS_PORT) are used.
 */
const refundTlsVars = z.object({
  WECHATPAY_CERT_P12: z.string().min(1).optional(),
  WECHATPAY_CERT_PASSPHRASE: z.string().min(1).optional(),
  WECHATPAY_CLIENT_CERT: z.string().min(1).optional(),
  WECHATPAY_CLIENT_KEY: z.string().min(1).optional(),
  SANDBOX_TLS_PORT: int(1, 65535, 'the port of the sandbox TLS listener, default 4011').default(4011),
});

/**
 * The payment channels besides the mini-program (docs/channels.md): an official account (OAuth + JSAPI in
 * WeChat's browser), a mobile app (OpenSDK), H5 in other mobile browsers, Native QR codes on desktops. In sandbox
 * mode the official account and the app default to the sandbox's demo ones; live, a channel whose AppID is unset
 * answers channel_not_available.
 */
const channelVars = z.object({
  WECHAT_OA_APPID: credential(APPID_RULE).optional(),
  WECHAT_OA_SECRET: credential(APP_SECRET_RULE).optional(),
  WECHAT_APP_APPID: credential(APPID_RULE).optional(),
  /** Default: https://open.weixin.qq.com live, the sandbox in sandbox mode (its OAuth page). */
  WECHAT_OAUTH_BASE: httpUrl('e.g. WECHAT_OAUTH_BASE=https://open.weixin.qq.com').optional(),
  /** Default: PUBLIC_BASE_URL + /shop/ (the web checkout). */
  H5_WAP_URL: httpUrl('e.g. H5_WAP_URL=https://shop.example.com/shop/').optional(),
  H5_WAP_NAME: z.string().min(1).max(64).default('mp-pay shop'),
  /** Default: true live, false in sandbox mode (a local browser has a loopback address). */
  H5_REQUIRE_PUBLIC_IP: bool('H5_REQUIRE_PUBLIC_IP=false lets private buyer addresses reach MWEB').optional(),
  WECHATPAY_NATIVE_MODE: z
    .enum(['1', '2'], { error: 'must be 2 (code_url) or 1 (signed long link, APIv2 only)' })
    .transform(Number)
    .default(2),
});

/** Where the clients point: WeChat, another simulator, or (both bases unset) the local sandbox. */
const upstreamVars = z.object({
  /** Default: live for WeChat Pay's own hosts, else sandbox. */
  WECHATPAY_MODE: z
    .enum(['sandbox', 'live'], {
      error: 'must be sandbox or live (default: live only for WeChat Pay’s own hosts)',
    })
    .optional(),
  WECHAT_API_BASE: httpUrl('e.g. WECHAT_API_BASE=https://api.weixin.qq.com').optional(),
  WECHATPAY_API_BASE: httpUrl('e.g. WECHATPAY_API_BASE=https://api.mch.weixin.qq.com').optional(),
  WECHATPAY_TIMEOUT_MS: int(100, 60_000, 'milliseconds, e.g. 10000').default(10_000),
  SANDBOX_PORT: int(1, 65535, 'the port the sandbox listens on, default 4010').default(SANDBOX_DEFAULT_PORT),
});

/** The store. No REDIS_URL: the in-memory store (development only). */
const storeVars = z.object({
  REDIS_URL: z
    .url({ protocol: /^rediss?$/, error: 'must be a redis:// or rediss:// URL, e.g. redis://127.0.0.1:6379' })
    .optional(),
  REDIS_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9:_{}.-]{1,64}$/, 'must be 1-64 characters of A-Z a-z 0-9 : _ { } . -')
    .default('mp-pay:'),
  REDIS_COMMAND_TIMEOUT_MS: int(50, 60_000, 'milliseconds, e.g. 2000').default(2000),
  /** Redis Cluster seed nodes (host:port, comma-separated) instead of REDIS_URL: docs/scaling.md. */
  REDIS_CLUSTER_NODES: z
    .string()
    .transform((v) =>
      v
        .split(',')
        .map((node) => node.trim())
        .filter((node) => node !== ''),
    )
    .pipe(
      z
        .array(
          z
            .string()
            .regex(/^[A-Za-z0-9.-]+:\d{1,5}$/, 'entries must be host:port, e.g. 10.0.0.1:7000,10.0.0.2:7000')
            .transform((node) => {
              const at = node.lastIndexOf(':');
              return { host: node.slice(0, at), port: Number(node.slice(at + 1)) };
            }),
        )
        .min(1, 'must name at least one host:port'),
    )
    .optional(),
  /** How many shards the event stream and the due-work queues are split into (hash-tagged; fixed per prefix). */
  REDIS_SHARDS: int(1, 256, 'a whole number of shards, 1-256, e.g. 16').default(16),
  /** Approximate length each event stream shard is trimmed to (XADD MAXLEN ~): docs/scaling.md. */
  EVENTS_MAX_LEN: int(1000, 100_000_000, 'entries per shard, e.g. 1000000').default(1_000_000),
  SESSION_TTL_SECONDS: int(
    1,
    30 * 86400,
    'seconds of inactivity before a session expires, e.g. 7200',
  ).default(7200),
});

/** Orders and the background worker that queries and closes them. */
/**
 * Staff: `name:token` pairs, comma-separated; a token is at least 32 URL-safe characters. Unset: the admin API
 * answers 401 to everyone.
 */
const ADMIN_TOKEN_FIX =
  'must be name:token pairs, comma-separated, each token 32+ characters of A-Z a-z 0-9 _ -';
const adminVars = z.object({
  ADMIN_TOKENS: z
    .string()
    .transform((v) =>
      v
        .split(',')
        .map((pair) => pair.trim())
        .filter((pair) => pair !== ''),
    )
    .pipe(
      z.array(
        z
          .string()
          .regex(/^[A-Za-z0-9._-]{1,40}:[A-Za-z0-9_-]{32,256}$/, ADMIN_TOKEN_FIX)
          .transform((pair) => {
            const at = pair.indexOf(':');
            return { name: pair.slice(0, at), token: pair.slice(at + 1) };
          }),
      ),
    )
    .default([]),
});

/** Buyers' refund requests: `auto` refunds in full at once within the window; `review` waits for staff. */
const refundPolicyVars = z.object({
  REFUND_POLICY: z.enum(['auto', 'review'], { error: 'must be auto or review' }).default('review'),
  REFUND_WINDOW_DAYS: int(1, 365, 'days after payment a buyer gets an automatic refund, e.g. 7').default(7),
});

const orderVars = z.object({
  // WeChat refuses a JSAPI time_expire less than 5 minutes ahead when the order reaches it (6 leaves room for
  // clock skew and latency), and a prepay_id lives 2 h, which must cover the whole order.
  ORDER_TTL_SECONDS: int(360, 7200, 'seconds an unpaid order stays payable, 360 to 7200').default(1800),
  ORDER_REFRESH_AFTER_MS: int(0, 3_600_000, 'milliseconds, e.g. 5000').default(5000),
  IDEMPOTENCY_TTL_SECONDS: int(60, 7 * 86400, 'seconds, e.g. 86400').default(86_400),
  /** Beijing time (HH:MM) after which the worker reconciles yesterday's bill; WeChat's is ready from 10:00. */
  RECONCILE_AT: z
    .string()
    .regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be HH:MM (24 h, Beijing time), e.g. 10:30')
    .default('10:30'),
  RECONCILE_ENABLED: bool('RECONCILE_ENABLED=false leaves reconciliation to `pnpm reconcile`').default(true),
  WORKER_ENABLED: bool(
    'WORKER_ENABLED=false disables background order queries and expiry in this process',
  ).default(true),
  WORKER_INTERVAL_MS: int(10, 600_000, 'milliseconds between polls of the due sets, e.g. 1000').default(1000),
  WORKER_LEASE_MS: int(100, 3_600_000, 'milliseconds a claimed job stays reserved, e.g. 30000').default(
    30_000,
  ),
  WORKER_BATCH_SIZE: int(1, 1000, 'jobs claimed per poll, e.g. 20').default(20),
  ORDER_QUERY_DELAY_MS: int(
    0,
    86_400_000,
    'milliseconds after creation before the first orderquery, e.g. 60000',
  ).default(60_000),
  ORDER_QUERY_MAX_BACKOFF_MS: int(10, 86_400_000, 'milliseconds, e.g. 600000').default(600_000),
});

/**
 * Buyers outside WeChat (docs/channels.md "Guest"): a guest session needs no credential, and each of its orders
 * places a real prepay at WeChat, so both are counted per hour. 0 sessions turns guests off.
 */
const guestVars = z.object({
  GUEST_SESSIONS_PER_IP_PER_HOUR: int(
    0,
    1_000_000,
    'guest sessions one client address may open per hour, 0 = no guest sessions, e.g. 20',
  ).default(20),
  GUEST_ORDERS_PER_HOUR: int(1, 1_000_000, 'orders one guest session may place per hour, e.g. 30').default(
    30,
  ),
});

/**
 * The "payment succeeded" subscribe message (docs/subscribe-messages.md): the template id picked in the
 * mini-program console. Sandbox mode defaults to the sandbox's demo template; `off` (or, live, leaving it unset)
 * turns the feature off.
 */
const subscribeVars = z.object({
  SUBSCRIBE_TEMPLATE_PAID: z
    .string()
    .regex(
      /^[A-Za-z0-9_-]{1,128}$/,
      'must be the template id from the mini-program console (订阅消息 → 我的模板), or off',
    )
    .optional(),
  /** Which version of the mini-program a tapped message opens. */
  SUBSCRIBE_MINIPROGRAM_STATE: z
    .enum(['developer', 'trial', 'formal'], { error: 'must be developer, trial or formal' })
    .default('formal'),
});

/** The HTTP server's limits against large bodies and slow clients. */
const httpVars = z.object({
  JSON_LIMIT_BYTES: int(256, 1_048_576, 'bytes, e.g. 16384').default(16 * 1024),
  NOTIFY_LIMIT_BYTES: int(1024, 1_048_576, 'bytes, e.g. 65536').default(64 * 1024),
  HTTP_REQUEST_TIMEOUT_MS: int(1000, 600_000, 'milliseconds, e.g. 15000').default(15_000),
  HTTP_HEADERS_TIMEOUT_MS: int(1000, 600_000, 'milliseconds, e.g. 10000').default(10_000),
  HTTP_KEEPALIVE_TIMEOUT_MS: int(100, 600_000, 'milliseconds, e.g. 5000').default(5000),
});

const envSchema = z.object({
  ...processVars.shape,
  ...merchantVars.shape,
  ...channelVars.shape,
  ...v3Vars.shape,
  ...upstreamVars.shape,
  ...refundTlsVars.shape,
  ...storeVars.shape,
  ...orderVars.shape,
  ...adminVars.shape,
  ...refundPolicyVars.shape,
  ...guestVars.shape,
  ...subscribeVars.shape,
  ...httpVars.shape,
});
type ParsedEnv = z.output<typeof envSchema>;
type Variable = keyof ParsedEnv;
type Mode = NonNullable<ParsedEnv['WECHATPAY_MODE']>;
type LogLevel = NonNullable<ParsedEnv['LOG_LEVEL']>;

/** Every variable the server reads (documented in apps/server/README.md). */
export const CONFIG_VARIABLES: readonly string[] = Object.freeze(Object.keys(envSchema.shape));

// ---------------------------------------------------------------------------------------------------------------
// Step 2: the rules across variables. They run even when some variables failed step 1, so that one start
// reports everything; a rule that needs the value of a failed variable is skipped (it is reported already).

const WECHATPAY_HOSTS = new Set(['api.mch.weixin.qq.com', 'api2.mch.weixin.qq.com']);

/**
 * Live means WeChat's own pay hosts (or WECHATPAY_MODE=live, e.g. behind an egress proxy); any other base is a
 * simulator such as the mp-pay sandbox, whose URL the mini-program needs for its payer.
 */
function modeOf(e: ParsedEnv): Mode {
  if (e.WECHATPAY_MODE !== undefined) return e.WECHATPAY_MODE;
  const payBase = e.WECHATPAY_API_BASE;
  return payBase !== undefined && WECHATPAY_HOSTS.has(new URL(payBase).hostname) ? 'live' : 'sandbox';
}

const CREDENTIALS = [
  ['WECHAT_APPID', 'appId'],
  ['WECHAT_SECRET', 'secret'],
  ['WECHATPAY_MCHID', 'mchId'],
  ['WECHATPAY_KEY', 'key'],
] as const;

/** `invalid`: the variables that failed step 1; their values in `e` must not be used. */
function crossFieldProblems(e: ParsedEnv, invalid: ReadonlySet<Variable>): string[] {
  const problems: string[] = [];
  const valid = (...names: Variable[]) => names.every((name) => !invalid.has(name));
  // Empty values were dropped before step 1: a variable that failed it is set.
  const isSet = (name: Variable) => invalid.has(name) || e[name] !== undefined;
  const production = valid('NODE_ENV') ? e.NODE_ENV === 'production' : undefined;
  const mode = valid('WECHATPAY_MODE', 'WECHATPAY_API_BASE') ? modeOf(e) : undefined;

  if (isSet('WECHAT_API_BASE') !== isSet('WECHATPAY_API_BASE')) {
    problems.push(
      'set both WECHAT_API_BASE and WECHATPAY_API_BASE (live WeChat or another simulator) or neither (the local sandbox)',
    );
  }
  if (mode === 'live' && !isSet('WECHATPAY_API_BASE')) {
    problems.push(
      'WECHATPAY_MODE=live needs WECHAT_API_BASE and WECHATPAY_API_BASE (e.g. https://api.mch.weixin.qq.com)',
    );
  }
  for (const [name, field] of CREDENTIALS) {
    // The APIv2 key signs nothing for a merchant on APIv3.
    const needed = name !== 'WECHATPAY_KEY' || e.WECHATPAY_API_VERSION !== 'v3';
    if (!isSet(name)) {
      if (mode === 'live' && needed)
        problems.push(`${name} is required outside sandbox mode (live WeChat Pay)`);
    } else if (production && valid(name) && e[name] === SANDBOX_DEMO[field]) {
      problems.push(`${name} is the sandbox demo value; set your real one for NODE_ENV=production`);
    }
  }
  if (production) {
    if (mode === 'sandbox') {
      problems.push(
        'NODE_ENV=production cannot run against the sandbox: set WECHAT_API_BASE=https://api.weixin.qq.com and ' +
          'WECHATPAY_API_BASE=https://api.mch.weixin.qq.com',
      );
    }
    for (const name of ['WECHAT_API_BASE', 'WECHATPAY_API_BASE', 'PUBLIC_BASE_URL'] as const) {
      const url = e[name];
      if (valid(name) && url !== undefined && !url.startsWith('https://')) {
        problems.push(`${name} must be https:// in production`);
      }
    }
    if (!isSet('REDIS_URL') && !isSet('REDIS_CLUSTER_NODES')) {
      problems.push(
        'NODE_ENV=production refuses the in-memory store: set REDIS_URL, e.g. redis://127.0.0.1:6379',
      );
    }
  }
  problems.push(...channelProblems(e, invalid, production));
  problems.push(...v3Problems(e, invalid, mode, production));
  problems.push(...refundTlsProblems(e, invalid));
  if (production) problems.push(...productionRefusals(e, invalid));
  if (mode === 'live' && !isSet('PUBLIC_BASE_URL')) {
    problems.push('PUBLIC_BASE_URL is required outside sandbox mode: notify_url must be reachable by WeChat');
  }
  if (isSet('REDIS_URL') && isSet('REDIS_CLUSTER_NODES')) {
    problems.push('set REDIS_URL (one Redis) or REDIS_CLUSTER_NODES (a Redis Cluster), not both');
  }
  if (
    valid('HTTP_HEADERS_TIMEOUT_MS', 'HTTP_REQUEST_TIMEOUT_MS') &&
    e.HTTP_HEADERS_TIMEOUT_MS > e.HTTP_REQUEST_TIMEOUT_MS
  ) {
    problems.push('HTTP_HEADERS_TIMEOUT_MS must not exceed HTTP_REQUEST_TIMEOUT_MS');
  }
  // The longest job (closeorder answering ORDERPAID, then orderquery, plus a few Redis commands) must end within
  // its lease, or another process claims the same order while the first still works on it.
  if (valid('WORKER_ENABLED', 'WORKER_LEASE_MS', 'WECHATPAY_TIMEOUT_MS', 'REDIS_COMMAND_TIMEOUT_MS')) {
    const minLeaseMs = 2 * e.WECHATPAY_TIMEOUT_MS + 4 * e.REDIS_COMMAND_TIMEOUT_MS;
    if (e.WORKER_ENABLED && e.WORKER_LEASE_MS < minLeaseMs) {
      problems.push(
        `WORKER_LEASE_MS must be at least 2 × WECHATPAY_TIMEOUT_MS + 4 × REDIS_COMMAND_TIMEOUT_MS (${minLeaseMs} ` +
          'with the current values), so a background job ends before another process may claim its order',
      );
    }
  }
  return problems;
}

/** A PEM file's text, or a problem naming the variable and the fix. */
function readPem(name: string, path: string): { pem: string } | { problem: string } {
  try {
    return { pem: readFileSync(path, 'utf8') };
  } catch (err) {
    return {
      problem: `${name} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'}): give the path of the PEM file`,
    };
  }
}

/** What can be checked of the APIv3 keys before any request: they parse, are RSA and long enough. */
function v3Problems(
  e: ParsedEnv,
  invalid: ReadonlySet<Variable>,
  mode: Mode | undefined,
  production: boolean | undefined,
): string[] {
  if (invalid.has('WECHATPAY_API_VERSION') || e.WECHATPAY_API_VERSION !== 'v3') return [];
  const problems: string[] = [];
  const isSet = (name: Variable) => invalid.has(name) || e[name] !== undefined;
  if (mode === 'live') {
    for (const name of ['WECHATPAY_APIV3_KEY', 'WECHATPAY_PRIVATE_KEY', 'WECHATPAY_CERT_SERIAL'] as const) {
      if (!isSet(name))
        problems.push(`${name} is required for WECHATPAY_API_VERSION=v3 outside sandbox mode`);
    }
    if (!isSet('WECHATPAY_PUBLIC_KEY') && !isSet('WECHATPAY_PLATFORM_CERTS')) {
      problems.push(
        'WECHATPAY_API_VERSION=v3 needs the WeChat Pay public key (WECHATPAY_PUBLIC_KEY and WECHATPAY_PUBLIC_KEY_ID) ' +
          'or WECHATPAY_PLATFORM_CERTS=auto (platform certificates), or both during a migration',
      );
    }
  }
  if (isSet('WECHATPAY_PUBLIC_KEY') !== isSet('WECHATPAY_PUBLIC_KEY_ID')) {
    problems.push('set WECHATPAY_PUBLIC_KEY (the file) and WECHATPAY_PUBLIC_KEY_ID (PUB_KEY_ID_…) together');
  }
  const rsa = (name: 'WECHATPAY_PRIVATE_KEY' | 'WECHATPAY_PUBLIC_KEY', kind: 'private' | 'public') => {
    const path = e[name];
    if (invalid.has(name) || path === undefined) return;
    const read = readPem(name, path);
    if ('problem' in read) return problems.push(read.problem);
    try {
      const key = kind === 'private' ? createPrivateKey(read.pem) : createPublicKey(read.pem);
      const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
      if (key.asymmetricKeyType !== 'rsa' || bits < 2048) {
        problems.push(
          `${name} must be an RSA key of at least 2048 bits (got ${key.asymmetricKeyType} ${bits})`,
        );
      }
    } catch {
      problems.push(
        `${name} is not a PEM ${kind} key (${kind === 'private' ? 'apiclient_key.pem' : 'pub_key.pem'})`,
      );
    }
    return undefined;
  };
  rsa('WECHATPAY_PRIVATE_KEY', 'private');
  rsa('WECHATPAY_PUBLIC_KEY', 'public');
  problems.push(...certificateProblems(e, invalid));
  if (production) {
    if (e.WECHATPAY_APIV3_KEY === SANDBOX_DEMO_V3.apiV3Key) {
      problems.push(
        'WECHATPAY_APIV3_KEY is the sandbox demo value; set your real one for NODE_ENV=production',
      );
    }
    if (e.WECHATPAY_PUBLIC_KEY_ID === SANDBOX_DEMO_V3.platformPublicKeyId) {
      problems.push(
        'WECHATPAY_PUBLIC_KEY_ID is the sandbox demo value; set your real one for NODE_ENV=production',
      );
    }
  }
  return problems;
}

/**
 * The merchant certificate, when given, must be the one of the private key and carry the configured serial: a
 * mismatch is the classic cause of every request failing with SIGN_ERROR.
 */
function certificateProblems(e: ParsedEnv, invalid: ReadonlySet<Variable>): string[] {
  const path = e.WECHATPAY_CERT;
  if (invalid.has('WECHATPAY_CERT') || path === undefined) return [];
  const read = readPem('WECHATPAY_CERT', path);
  if ('problem' in read) return [read.problem];
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(read.pem);
  } catch {
    return ['WECHATPAY_CERT is not a PEM certificate (apiclient_cert.pem)'];
  }
  const problems: string[] = [];
  const serial = e.WECHATPAY_CERT_SERIAL;
  if (
    !invalid.has('WECHATPAY_CERT_SERIAL') &&
    serial !== undefined &&
    serial.toUpperCase() !== certificate.serialNumber.toUpperCase()
  ) {
    problems.push(
      `WECHATPAY_CERT_SERIAL does not match WECHATPAY_CERT (whose serial is ${certificate.serialNumber}): use that serial`,
    );
  }
  const keyPath = e.WECHATPAY_PRIVATE_KEY;
  if (!invalid.has('WECHATPAY_PRIVATE_KEY') && keyPath !== undefined) {
    try {
      if (!certificate.checkPrivateKey(createPrivateKey(readFileSync(keyPath, 'utf8')))) {
        problems.push(
          'WECHATPAY_PRIVATE_KEY is not the key of WECHATPAY_CERT: download both from the same application',
        );
      }
    } catch {
      // An unreadable or unparsable key is reported by its own check.
    }
  }
  return problems;
}

/** The published demo material that a production server must not run with. */
function productionRefusals(e: ParsedEnv, invalid: ReadonlySet<Variable>): string[] {
  const problems: string[] = [];
  if (!invalid.has('ADMIN_TOKENS') && e.ADMIN_TOKENS.some((a) => a.token === SANDBOX_DEMO_ADMIN_TOKEN)) {
    problems.push('ADMIN_TOKENS holds the sandbox demo token; set your own tokens for NODE_ENV=production');
  }
  for (const name of ['WECHATPAY_CERT_P12', 'WECHATPAY_CLIENT_CERT'] as const) {
    const path = e[name];
    if (invalid.has(name) || path === undefined) continue;
    try {
      if (isSandboxDemoTls(readFileSync(path))) {
        problems.push(
          `${name} is the sandbox demo certificate; use your merchant's own for NODE_ENV=production`,
        );
      }
    } catch {
      // Unreadable: reported by refundTlsProblems.
    }
  }
  return problems;
}

/** An official account needs its secret (OAuth), mode-1 Native links exist only in APIv2, demo values never live. */
function channelProblems(
  e: ParsedEnv,
  invalid: ReadonlySet<Variable>,
  production: boolean | undefined,
): string[] {
  const problems: string[] = [];
  const isSet = (name: Variable) => invalid.has(name) || e[name] !== undefined;
  if (isSet('WECHAT_OA_APPID') !== isSet('WECHAT_OA_SECRET')) {
    problems.push(
      'set WECHAT_OA_APPID and WECHAT_OA_SECRET together (the official account signs buyers in by OAuth)',
    );
  }
  if (
    !invalid.has('WECHATPAY_NATIVE_MODE') &&
    e.WECHATPAY_NATIVE_MODE === 1 &&
    e.WECHATPAY_API_VERSION === 'v3'
  ) {
    problems.push(
      'WECHATPAY_NATIVE_MODE=1 (signed long links) exists only in APIv2: use 2 with WECHATPAY_API_VERSION=v3',
    );
  }
  if (production) {
    const demo = SANDBOX_DEMO_CHANNELS;
    const values: [Variable, string][] = [
      ['WECHAT_OA_APPID', demo.officialAccount.appId],
      ['WECHAT_OA_SECRET', demo.officialAccount.secret],
      ['WECHAT_APP_APPID', demo.app.appId],
    ];
    for (const [name, value] of values) {
      if (!invalid.has(name) && e[name] === value) {
        problems.push(`${name} is the sandbox demo value; set your real one for NODE_ENV=production`);
      }
    }
  }
  return problems;
}

/** The channels this process serves and with which AppIDs (docs/channels.md). */
function channelConfig(e: ParsedEnv, mode: Mode, miniProgramAppId: string, wechatApiBase: string) {
  const sandbox = mode === 'sandbox';
  const oa =
    e.WECHAT_OA_APPID !== undefined && e.WECHAT_OA_SECRET !== undefined
      ? { appId: e.WECHAT_OA_APPID, secret: e.WECHAT_OA_SECRET }
      : sandbox
        ? { ...SANDBOX_DEMO_CHANNELS.officialAccount }
        : undefined;
  const appAppId = e.WECHAT_APP_APPID ?? (sandbox ? SANDBOX_DEMO_CHANNELS.app.appId : undefined);
  return {
    miniprogram: { appId: miniProgramAppId },
    /** Official-account pages: OAuth snsapi_base for the openid, then JSAPI with this AppID. Secret never logged. */
    officialAccount: oa,
    /** The mobile app's own (open platform) AppID. */
    app: appAppId === undefined ? undefined : { appId: appAppId },
    /** Where the buyer's browser is sent to authorise (the sandbox's OAuth page in sandbox mode). */
    oauthBase: e.WECHAT_OAUTH_BASE ?? (sandbox ? wechatApiBase : 'https://open.weixin.qq.com'),
    h5: {
      /** Undefined: PUBLIC_BASE_URL (or the listening address) + /shop/. */
      wapUrl: e.H5_WAP_URL,
      wapName: e.H5_WAP_NAME,
      /** Refuse MWEB for a missing, private or loopback buyer address before WeChat sees it. */
      requirePublicIp: e.H5_REQUIRE_PUBLIC_IP ?? !sandbox,
    },
    /** 2: code_url from unifiedorder / v3 native; 1: a signed long link and the scan callback (APIv2). */
    native: { mode: e.WECHATPAY_NATIVE_MODE as 1 | 2 },
  };
}

/** The client certificate files must exist and come as a .p12 or as a PEM pair. */
function refundTlsProblems(e: ParsedEnv, invalid: ReadonlySet<Variable>): string[] {
  const problems: string[] = [];
  const isSet = (name: Variable) => invalid.has(name) || e[name] !== undefined;
  if (isSet('WECHATPAY_CLIENT_CERT') !== isSet('WECHATPAY_CLIENT_KEY')) {
    problems.push(
      'set WECHATPAY_CLIENT_CERT and WECHATPAY_CLIENT_KEY together (or WECHATPAY_CERT_P12 alone)',
    );
  }
  if (isSet('WECHATPAY_CERT_P12') && isSet('WECHATPAY_CLIENT_CERT')) {
    problems.push('set WECHATPAY_CERT_P12 or WECHATPAY_CLIENT_CERT/WECHATPAY_CLIENT_KEY, not both');
  }
  for (const name of ['WECHATPAY_CERT_P12', 'WECHATPAY_CLIENT_CERT', 'WECHATPAY_CLIENT_KEY'] as const) {
    const path = e[name];
    if (invalid.has(name) || path === undefined) continue;
    try {
      readFileSync(path);
    } catch (err) {
      problems.push(
        `${name} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'}): give the path of the file`,
      );
    }
  }
  return problems;
}

/** The client certificate for v2 refunds, and where they go; the sandbox's demo ones in sandbox mode. */
function refundTlsConfig(e: ParsedEnv, mode: Mode, payApiBase: string) {
  const file = (path: string) => readFileSync(path);
  if (e.WECHATPAY_CERT_P12 !== undefined) {
    return {
      clientCertificate: {
        pfx: file(e.WECHATPAY_CERT_P12),
        passphrase: e.WECHATPAY_CERT_PASSPHRASE ?? e.WECHATPAY_MCHID ?? '',
      },
      ca: undefined,
      secureBaseUrl: payApiBase,
    };
  }
  if (e.WECHATPAY_CLIENT_CERT !== undefined && e.WECHATPAY_CLIENT_KEY !== undefined) {
    return {
      clientCertificate: { cert: file(e.WECHATPAY_CLIENT_CERT), key: file(e.WECHATPAY_CLIENT_KEY) },
      ca: undefined,
      secureBaseUrl: payApiBase,
    };
  }
  if (mode === 'sandbox' && e.WECHATPAY_API_BASE === undefined) {
    return {
      clientCertificate: { cert: SANDBOX_DEMO_TLS.clientCertPem, key: SANDBOX_DEMO_TLS.clientKeyPem },
      /** The sandbox's own CA signs its TLS listener: trusted for that listener only. */
      ca: SANDBOX_DEMO_TLS.caCert,
      secureBaseUrl: `https://127.0.0.1:${e.SANDBOX_TLS_PORT}`,
    };
  }
  // No certificate: payments work; a v2 refund is refused (logged with what to configure) until one is set.
  return { clientCertificate: undefined, ca: undefined, secureBaseUrl: payApiBase };
}

/** A merchant the shop sells for besides its own (docs/combine.md): never logged (it holds keys). */
export interface SubMerchant {
  seller: string;
  name: string;
  mchId: string;
  apiV3Key: string;
  /** PEM text. */
  privateKey: string;
  certSerial: string;
  publicKey: { id: string; pem: string } | undefined;
}

/**
 * The other merchants: the WECHATPAY_SUB_MERCHANTS file, or in sandbox mode with APIv3 the sandbox's demo
 * merchants (SANDBOX_DEMO_COMBINE_SUB_MERCHANTS). APIv2 sells the shop's own goods only.
 */
function subMerchantsConfig(e: ParsedEnv, mode: 'sandbox' | 'live'): SubMerchant[] {
  if (e.WECHATPAY_API_VERSION !== 'v3') {
    if (e.WECHATPAY_SUB_MERCHANTS === undefined) return [];
    throw new ConfigError([
      'WECHATPAY_SUB_MERCHANTS needs WECHATPAY_API_VERSION=v3 (other merchants are paid through APIv3 only)',
    ]);
  }
  if (e.WECHATPAY_SUB_MERCHANTS === undefined) {
    if (mode !== 'sandbox') return [];
    return SANDBOX_DEMO_COMBINE_SUB_MERCHANTS.map((sub, i) => ({
      seller: SANDBOX_SELLERS[i]?.seller ?? `seller-${i + 1}`,
      name: SANDBOX_SELLERS[i]?.name ?? `Sandbox merchant ${sub.mchId}`,
      mchId: sub.mchId,
      apiV3Key: sub.apiV3Key,
      privateKey: sub.mchPrivateKey,
      certSerial: sub.mchCertSerial,
      publicKey: undefined,
    }));
  }
  const file = e.WECHATPAY_SUB_MERCHANTS;
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ConfigError([
      `WECHATPAY_SUB_MERCHANTS (${file}) cannot be read as JSON: ${(err as Error).message}`,
    ]);
  }
  const parsed = z.array(subMerchantSchema).max(9).safeParse(json);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    throw new ConfigError([`WECHATPAY_SUB_MERCHANTS (${file}): ${first?.path.join('.')}: ${first?.message}`]);
  }
  const sellers = new Set<string>(['main']);
  return parsed.data.map((m) => {
    if (sellers.has(m.seller)) throw new ConfigError([`WECHATPAY_SUB_MERCHANTS: seller ${m.seller} twice`]);
    const demo = SANDBOX_DEMO_COMBINE_SUB_MERCHANTS.some((d) => d.apiV3Key === m.apiV3Key);
    if (demo && e.NODE_ENV === 'production') {
      throw new ConfigError([
        `WECHATPAY_SUB_MERCHANTS: ${m.seller} has a sandbox demo APIv3 key; set its real one for NODE_ENV=production`,
      ]);
    }
    sellers.add(m.seller);
    const read = (path: string, what: string) => {
      try {
        return readFileSync(path, 'utf8');
      } catch {
        throw new ConfigError([`WECHATPAY_SUB_MERCHANTS: ${m.seller}'s ${what} (${path}) cannot be read`]);
      }
    };
    const keyPem = m.publicKey === undefined ? undefined : read(m.publicKey, 'publicKey');
    return {
      seller: m.seller,
      name: m.name,
      mchId: m.mchId,
      apiV3Key: m.apiV3Key,
      privateKey: read(m.privateKey, 'privateKey'),
      certSerial: m.certSerial,
      publicKey:
        keyPem !== undefined && m.publicKeyId !== undefined ? { id: m.publicKeyId, pem: keyPem } : undefined,
    };
  });
}

/** The catalogue's sellers for the sandbox's demo merchants (src/catalog/products.json). */
const SANDBOX_SELLERS = [
  { seller: 'teaware', name: 'Longquan teaware studio' },
  { seller: 'snacks', name: 'West Lake tea snacks' },
] as const;

/** The APIv3 settings with the demo keys filled in (sandbox mode only: step 2 requires them otherwise). */
function v3Config(e: ParsedEnv) {
  const pem = (path: string | undefined) => (path === undefined ? undefined : readFileSync(path, 'utf8'));
  const publicKeyPem = pem(e.WECHATPAY_PUBLIC_KEY);
  const demoKeys = e.WECHATPAY_PRIVATE_KEY === undefined;
  return {
    apiV3Key: e.WECHATPAY_APIV3_KEY ?? SANDBOX_DEMO_V3.apiV3Key,
    /** PEM text of the merchant's private key (apiclient_key.pem). Never logged. */
    privateKey: pem(e.WECHATPAY_PRIVATE_KEY) ?? SANDBOX_DEMO_V3.mchPrivateKey,
    certSerial: e.WECHATPAY_CERT_SERIAL ?? SANDBOX_DEMO_V3.mchCertSerial,
    /** WeChat Pay public key mode: what replies and notifications are verified with. */
    publicKey:
      publicKeyPem !== undefined && e.WECHATPAY_PUBLIC_KEY_ID !== undefined
        ? { id: e.WECHATPAY_PUBLIC_KEY_ID, pem: publicKeyPem }
        : demoKeys && e.WECHATPAY_PLATFORM_CERTS === undefined
          ? { id: SANDBOX_DEMO_V3.platformPublicKeyId, pem: SANDBOX_DEMO_V3.platformPublicKey }
          : undefined,
    /** Certificate mode: download, verify and refresh /v3/certificates. */
    platformCertificates: e.WECHATPAY_PLATFORM_CERTS === 'auto',
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Step 3: the ServerConfig, from a valid environment. Its type is this function's, inferred by zod below.

function toServerConfig(e: ParsedEnv) {
  const mode = modeOf(e);
  // Both bases or neither (step 2); neither is the local sandbox.
  const localSandbox = `http://127.0.0.1:${e.SANDBOX_PORT}`;
  const wechatApiBase = e.WECHAT_API_BASE ?? localSandbox;
  const payApiBase = e.WECHATPAY_API_BASE ?? localSandbox;
  // Step 2 requires every credential outside sandbox mode: the demo merchant only ever fills in sandbox mode.
  const appId = e.WECHAT_APPID ?? SANDBOX_DEMO.appId;
  const channels = channelConfig(e, mode, appId, wechatApiBase);
  const logLevel: LogLevel = e.LOG_LEVEL ?? (e.NODE_ENV === 'test' ? 'silent' : 'info');
  return {
    nodeEnv: e.NODE_ENV,
    /** `sandbox`: the clients talk to the mp-pay sandbox; `live`: to WeChat (or whatever the API bases say). */
    mode,
    host: e.HOST ?? (mode === 'sandbox' ? '127.0.0.1' : '0.0.0.0'),
    port: e.PORT,
    /** Base of notify_url. Undefined: derived from the address the server actually listens on (sandbox only). */
    publicBaseUrl: e.PUBLIC_BASE_URL,
    /** Number of reverse-proxy hops whose X-Forwarded-For is trusted for the client address (0 = none). */
    trustProxy: e.TRUST_PROXY,
    logLevel,
    wechat: {
      appId,
      secret: e.WECHAT_SECRET ?? SANDBOX_DEMO.secret,
      apiBase: wechatApiBase,
    },
    wechatpay: {
      mchId: e.WECHATPAY_MCHID ?? SANDBOX_DEMO.mchId,
      /** Empty only for a live APIv3 merchant, which has no use for it (step 2). */
      key: e.WECHATPAY_KEY ?? (mode === 'sandbox' ? SANDBOX_DEMO.key : ''),
      signType: e.WECHATPAY_SIGN_TYPE,
      /** Every AppID bound to the merchant: the mini-program's first, then WECHATPAY_APPIDS, without repeats. */
      appIds: [
        ...new Set([
          appId,
          ...(channels.officialAccount ? [channels.officialAccount.appId] : []),
          ...(channels.app ? [channels.app.appId] : []),
          ...e.WECHATPAY_APPIDS,
        ]),
      ],
      apiBase: payApiBase,
      timeoutMs: e.WECHATPAY_TIMEOUT_MS,
      /** Which protocol pays new orders (docs/architecture.md, the gateway boundary). */
      apiVersion: e.WECHATPAY_API_VERSION,
      v3: v3Config(e),
      /** The shop's own merchant in the catalogue (seller `main`). */
      merchantName: e.WECHATPAY_MERCHANT_NAME,
      /** The other merchants the catalogue sells for (APIv3 only; combine payments, docs/combine.md). */
      subMerchants: subMerchantsConfig(e, mode),
      /** v2 refunds (mutual TLS). The key material is never logged. */
      refundTls: refundTlsConfig(e, mode, payApiBase),
    },
    channels,
    /** Sandbox mode only: where the sandbox (payer, login codes) lives, reported to the mini-program. */
    sandboxUrl: mode === 'sandbox' ? payApiBase : undefined,
    redis: {
      url: e.REDIS_URL,
      /** Set: ioredis' Cluster client with these seed nodes (REDIS_URL is then unused). */
      clusterNodes: e.REDIS_CLUSTER_NODES,
      prefix: e.REDIS_PREFIX,
      commandTimeoutMs: e.REDIS_COMMAND_TIMEOUT_MS,
      shards: e.REDIS_SHARDS,
      eventsMaxLen: e.EVENTS_MAX_LEN,
    },
    /** `pretty` (pino-pretty) for people, `json` for machines. */
    logFormat: e.LOG_FORMAT ?? (e.NODE_ENV === 'development' ? 'pretty' : 'json'),
    /** Where GET /metrics is served: undefined = the main port. */
    metrics: { port: e.METRICS_PORT },
    sessions: { ttlSeconds: e.SESSION_TTL_SECONDS },
    /** Limits on buyers without a WeChat identity, per hour (fixed windows, src/http/rate-limit.ts). */
    guests: {
      /** 0: POST /api/session/guest is refused (channel_not_available). */
      sessionsPerIpPerHour: e.GUEST_SESSIONS_PER_IP_PER_HOUR,
      ordersPerHour: e.GUEST_ORDERS_PER_HOUR,
    },
    /** Buyers' refund requests (docs: apps/server/README.md, Refunds). */
    refunds: { policy: e.REFUND_POLICY, windowMs: e.REFUND_WINDOW_DAYS * 86_400_000 },
    /** Staff allowed on /admin: their names (for the audit log) and bearer tokens. Never logged. */
    admins:
      e.ADMIN_TOKENS.length === 0 && mode === 'sandbox'
        ? [{ name: 'demo', token: SANDBOX_DEMO_ADMIN_TOKEN }]
        : e.ADMIN_TOKENS,
    orders: {
      /** Lifetime of an unpaid order; sent to WeChat as time_expire. */
      ttlSeconds: e.ORDER_TTL_SECONDS,
      /** GET /api/orders/:id asks WeChat about a PENDING order older than this. */
      refreshAfterMs: e.ORDER_REFRESH_AFTER_MS,
      idempotencyTtlSeconds: e.IDEMPOTENCY_TTL_SECONDS,
    },
    /** T+1 reconciliation against WeChat's bills (docs/reconciliation.md). */
    reconcile: {
      /** The daily job (in the worker): minutes after Beijing midnight. */
      atMinute: Number(e.RECONCILE_AT.slice(0, 2)) * 60 + Number(e.RECONCILE_AT.slice(3)),
      enabled: e.RECONCILE_ENABLED,
    },
    worker: {
      enabled: e.WORKER_ENABLED,
      intervalMs: e.WORKER_INTERVAL_MS,
      leaseMs: e.WORKER_LEASE_MS,
      batchSize: e.WORKER_BATCH_SIZE,
      /** First orderquery of an order that received no notification, counted from its creation. */
      queryDelayMs: e.ORDER_QUERY_DELAY_MS,
      /** Cap of the exponential backoff between orderqueries (and between close attempts). */
      queryMaxBackoffMs: e.ORDER_QUERY_MAX_BACKOFF_MS,
    },
    /** Subscribe messages; `paymentSucceeded` undefined: the feature is off (no template offered, none sent). */
    subscribe: {
      paymentSucceeded:
        e.SUBSCRIBE_TEMPLATE_PAID === 'off'
          ? undefined
          : (e.SUBSCRIBE_TEMPLATE_PAID ??
            (mode === 'sandbox' ? SANDBOX_DEMO_SUBSCRIBE_TEMPLATE.id : undefined)),
      miniprogramState: e.SUBSCRIBE_MINIPROGRAM_STATE,
    },
    http: {
      jsonLimitBytes: e.JSON_LIMIT_BYTES,
      notifyLimitBytes: e.NOTIFY_LIMIT_BYTES,
      requestTimeoutMs: e.HTTP_REQUEST_TIMEOUT_MS,
      headersTimeoutMs: e.HTTP_HEADERS_TIMEOUT_MS,
      keepAliveTimeoutMs: e.HTTP_KEEPALIVE_TIMEOUT_MS,
    },
    shutdownGraceMs: e.SHUTDOWN_GRACE_MS,
  };
}

// An empty value (`PORT=` in .env) means unset, as in most dotenv tooling.
const withoutEmpty = (env: unknown) =>
  typeof env === 'object' && env !== null
    ? Object.fromEntries(Object.entries(env).filter(([, value]) => value !== ''))
    : env;

export const configSchema = z
  .preprocess(withoutEmpty, envSchema)
  .superRefine(
    (e, ctx) => {
      const invalid = new Set(ctx.issues.map((issue) => issue.path?.[0] as Variable));
      for (const message of crossFieldProblems(e, invalid)) ctx.addIssue({ code: 'custom', message });
    },
    // Also after step 1 failed (by default zod skips a refinement after some kinds of failure): one report.
    { when: (payload) => typeof payload.value === 'object' && payload.value !== null },
  )
  .transform(toServerConfig);

export type ServerConfig = z.output<typeof configSchema>;

export function loadConfig(env: Env): ServerConfig {
  const result = configSchema.safeParse(env);
  if (!result.success) {
    throw new ConfigError(
      result.error.issues.map((i) => (i.path.length > 0 ? `${i.path.join('.')} ${i.message}` : i.message)),
    );
  }
  return result.data;
}

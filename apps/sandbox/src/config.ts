import { createPrivateKey } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import {
  APIV2_KEY_RULE,
  APP_SECRET_RULE,
  APPID_RULE,
  MCH_ID_RULE,
  SANDBOX_DEFAULT_PORT,
  SANDBOX_DEMO,
  SANDBOX_DEMO_CHANNELS,
  SANDBOX_DEMO_V3,
  type CredentialRule,
} from '@mp-pay/shared/wechatpay';

/**
 * The only module that reads the environment. The sandbox reads the same variables as the server (one `.env`
 * at the repo root configures both), so the server's credentials are, by construction, the ones the sandbox
 * accepts. Unset variables fall back to SANDBOX_DEMO, which is what makes `pnpm start` work on a fresh clone.
 */

/** A mini-program bound to a merchant account: what the real WeChat knows about a merchant. */
export interface SandboxAccount {
  appId: string;
  /** AppSecret, checked by jscode2session. */
  secret: string;
  mchId: string;
  /** The 32-character APIv2 key: verifies requests, signs replies and notifications. */
  key: string;
  /** APIv3 key (32 bytes): encrypts notification resources and certificates. Extra accounts default to the main one's. */
  apiV3Key?: string;
  /**
   * The merchant's private key (PEM, apiclient_key.pem). WeChat only knows the public half, from the merchant
   * certificate; the sandbox derives it from this key so one `.env` configures both sides.
   */
  privateKey?: string;
  /** Serial of the merchant API certificate (40 hex digits): the Authorization header's serial_no. */
  certSerial?: string;
  /**
   * What the AppID belongs to: a mini-program (default), an official account (OAuth, JSAPI in WeChat's
   * browser) or a mobile app (open platform, trade_type APP). docs/channels.md.
   */
  kind?: AppKind;
}

export const APP_KINDS = ['miniprogram', 'official_account', 'app'] as const;
export type AppKind = (typeof APP_KINDS)[number];

/** An AppID of another kind than the main mini-program, bound to the main merchant. */
export interface ChannelApp {
  appId: string;
  secret: string;
}

/**
 * How WeChat Pay signs for this merchant (docs/protocol.md §7): `public-key` (the default for new merchants,
 * Wechatpay-Serial = PUB_KEY_ID_…, no /v3/certificates), `certificate` (platform certificates, downloadable),
 * or `migration` (both: replies follow the request's Wechatpay-Serial, notifications switch by a share).
 */
export const V3_KEY_MODES = ['public-key', 'certificate', 'migration'] as const;
export type V3KeyMode = (typeof V3_KEY_MODES)[number];

export interface SandboxConfig extends SandboxAccount {
  apiV3Key: string;
  privateKey: string;
  certSerial: string;
  /** The main merchant's signing mode (SANDBOX_V3_KEY_MODE); POST /sandbox/v3/key-mode changes it at run time. */
  v3KeyMode: V3KeyMode;
  /** In migration mode, the share (0..1) of notifications signed with the public key instead of the certificate. */
  v3PublicKeyShare: number;
  /** Listening port (SANDBOX_PORT, default 4010; 0 = any free port). */
  port: number;
  /**
   * The HTTPS listener for `/secapi/pay/refund` (mutual TLS with the demo client certificate, SANDBOX_TLS_PORT,
   * default 4011; 0 = any free port, the default when `port` is 0).
   */
  tlsPort: number;
  host: string;
  /**
   * Time compression for the waits WeChat imposes (notification retry delays, login code lifetime). 60 makes
   * the 15 s first retry take 0.25 s. Wall-clock times the merchant sends (time_expire) are never scaled.
   */
  timeScale: number;
  /** closeorder refuses orders younger than this (WeChat documents 5 minutes). Not scaled. */
  closeMinAgeMs: number;
  /** Lifetime of a prepay_id (WeChat: 2 hours). Not scaled. */
  prepayTtlMs: number;
  /** How long the sandbox waits for a merchant to answer one notification. */
  notifyTimeoutMs: number;
  /** Return a unionid from jscode2session, as for an app bound to an Open Platform account. */
  unionId: boolean;
  /** Bounds of the in-memory state; the oldest entries are evicted first. */
  maxOrders: number;
  maxCodes: number;
  /** More app/merchant pairs to accept besides the main one (programmatic only, e.g. for mismatch tests). */
  extraAccounts: SandboxAccount[];
  /** How long a refund stays PROCESSING before its outcome (scaled like retries; WeChat: seconds to days). */
  refundDelayMs: number;
  /**
   * Refunds of one order must be this far apart on the sandbox clock (WeChat: 1 minute); not scaled. 0 turns
   * the rule off (concurrency tests).
   */
  refundMinIntervalMs: number;
  /** The refund notify URL set in the merchant console: used when a refund request names none. */
  refundNotifyUrl?: string | undefined;
  /** The official account bound to the main merchant (OAuth, JSAPI in WeChat's browser). */
  officialAccount: ChannelApp;
  /** The mobile app (open platform AppID) bound to the main merchant: trade_type APP. */
  app: ChannelApp;
  /** Hosts registered as H5 payment domains: the cashier refuses a Referer from any other host. */
  h5Domains: string[];
  /** Hosts registered as OAuth web-authorisation domains: redirect_uri must be on one of them. */
  oauthDomains: string[];
  /** The merchant's Native mode-1 scan callback URL (set in the merchant platform at WeChat). */
  nativeCallbackUrl: string;
  /**
   * The sandbox's address as browsers reach it (mweb_url, h5_url, pages); when unset, the Host the merchant
   * called it by (SANDBOX_PUBLIC_URL).
   */
  publicUrl?: string | undefined;
}

/** The HTTPS listener's default port (refunds over mutual TLS): the HTTP port's neighbour. */
export const SANDBOX_DEFAULT_TLS_PORT = 4011;

export const SANDBOX_DEFAULTS: Readonly<SandboxConfig> = Object.freeze({
  ...SANDBOX_DEMO,
  apiV3Key: SANDBOX_DEMO_V3.apiV3Key,
  privateKey: SANDBOX_DEMO_V3.mchPrivateKey,
  certSerial: SANDBOX_DEMO_V3.mchCertSerial,
  v3KeyMode: 'public-key' as V3KeyMode,
  v3PublicKeyShare: 0.5,
  port: SANDBOX_DEFAULT_PORT,
  tlsPort: SANDBOX_DEFAULT_TLS_PORT,
  host: '127.0.0.1',
  timeScale: 1,
  closeMinAgeMs: 5 * 60_000,
  prepayTtlMs: 2 * 60 * 60_000,
  notifyTimeoutMs: 5_000,
  unionId: false,
  maxOrders: 10_000,
  maxCodes: 10_000,
  extraAccounts: [],
  refundDelayMs: 10_000,
  refundMinIntervalMs: 60_000,
  refundNotifyUrl: undefined,
  officialAccount: { ...SANDBOX_DEMO_CHANNELS.officialAccount },
  app: { ...SANDBOX_DEMO_CHANNELS.app },
  h5Domains: [...SANDBOX_DEMO_CHANNELS.h5Domains],
  oauthDomains: [...SANDBOX_DEMO_CHANNELS.h5Domains],
  nativeCallbackUrl: 'http://127.0.0.1:3000/wechatpay/native-scan',
  publicUrl: undefined,
});

/** The credential rules are shared with the server, which reads the same .env: both accept the same values. */
const credential = (rule: CredentialRule) => z.string().regex(rule.re, rule.message);

/** Why a PEM is not a usable merchant private key, in words that say what to do; undefined when it is. */
export function privateKeyProblem(pem: string): string | undefined {
  if (pem.includes('BEGIN CERTIFICATE')) {
    return 'is a certificate (apiclient_cert.pem): point it at the private key, apiclient_key.pem';
  }
  let key;
  try {
    key = createPrivateKey(pem);
  } catch {
    return (
      'is not a readable PEM private key: use apiclient_key.pem from the merchant console ' +
      '(not the .p12, not a public key)'
    );
  }
  if (key.asymmetricKeyType !== 'rsa') {
    return `is a ${key.asymmetricKeyType ?? 'non-RSA'} key: WeChat Pay APIv3 merchant keys are RSA`;
  }
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  if (bits < 2048) return `is a ${bits}-bit RSA key: WeChat Pay requires at least 2048 bits`;
  return undefined;
}

const APIV3_KEY_MESSAGE =
  'must be the APIv3 key, exactly 32 bytes (set in the merchant console, API安全 → APIv3密钥; not the APIv2 key)';
const CERT_SERIAL_MESSAGE =
  'must be the 40-hex-digit serial of the merchant API certificate ' +
  '(openssl x509 -noout -serial -in apiclient_cert.pem), not the WeChat Pay public key id';

const v3Fields = {
  apiV3Key: z.string().refine((value) => Buffer.byteLength(value, 'utf8') === 32, APIV3_KEY_MESSAGE),
  privateKey: z.string().superRefine((pem, ctx) => {
    const problem = privateKeyProblem(pem);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  }),
  certSerial: z.string().regex(/^[0-9A-Fa-f]{40}$/, CERT_SERIAL_MESSAGE),
};

const accountSchema = z.object({
  appId: credential(APPID_RULE),
  secret: credential(APP_SECRET_RULE),
  mchId: credential(MCH_ID_RULE),
  key: credential(APIV2_KEY_RULE),
  apiV3Key: v3Fields.apiV3Key.optional(),
  privateKey: v3Fields.privateKey.optional(),
  certSerial: v3Fields.certSerial.optional(),
  kind: z.enum(APP_KINDS).optional(),
});

const channelAppSchema = z.object({
  appId: credential(APPID_RULE),
  secret: credential(APP_SECRET_RULE),
});

/** A bare host name or address (what a Referer or redirect_uri host is compared with), no scheme or path. */
const hostSchema = z
  .string()
  .regex(
    /^[A-Za-z0-9.-]+$|^\[[0-9A-Fa-f:.]+\]$/,
    'must be host names, e.g. shop.example.com,127.0.0.1 (no scheme, port or path)',
  );

const configSchema = accountSchema
  .extend({
    ...v3Fields,
    v3KeyMode: z.enum(V3_KEY_MODES),
    v3PublicKeyShare: z.number().min(0).max(1),
    port: z.number().int().min(0).max(65535),
    host: z.string().min(1),
    timeScale: z.number().finite().min(1, 'must be at least 1 (1 = real time, 60 = a minute per second)'),
    closeMinAgeMs: z.number().int().min(0),
    prepayTtlMs: z.number().int().positive(),
    notifyTimeoutMs: z.number().int().positive(),
    unionId: z.boolean(),
    maxOrders: z.number().int().min(1),
    maxCodes: z.number().int().min(1),
    extraAccounts: z.array(accountSchema),
    tlsPort: z.number().int().min(0).max(65535),
    refundDelayMs: z.number().int().min(0),
    refundMinIntervalMs: z.number().int().min(0),
    refundNotifyUrl: z
      .url({ protocol: /^https?$/, error: 'must be an absolute http(s) URL (the refund notify URL)' })
      .optional(),
    officialAccount: channelAppSchema,
    app: channelAppSchema,
    h5Domains: z.array(hostSchema),
    oauthDomains: z.array(hostSchema),
    nativeCallbackUrl: z.url({
      protocol: /^https?$/,
      error: "must be an absolute http(s) URL (the merchant server's POST /wechatpay/native-scan)",
    }),
    publicUrl: z
      .url({ protocol: /^https?$/, error: 'must be an absolute http(s) URL, e.g. http://192.168.1.20:4010' })
      .optional(),
  })
  .refine((c) => c.tlsPort === 0 || c.tlsPort !== c.port, {
    path: ['tlsPort'],
    message: 'must differ from SANDBOX_PORT (the HTTPS listener is a second port)',
  });

/** Environment variable that sets each field, for error messages that say what to fix. */
const ENV_NAMES: Partial<Record<keyof SandboxConfig, string>> = {
  appId: 'WECHAT_APPID',
  secret: 'WECHAT_SECRET',
  mchId: 'WECHATPAY_MCHID',
  key: 'WECHATPAY_KEY',
  apiV3Key: 'WECHATPAY_APIV3_KEY',
  privateKey: 'WECHATPAY_PRIVATE_KEY',
  certSerial: 'WECHATPAY_CERT_SERIAL',
  v3KeyMode: 'SANDBOX_V3_KEY_MODE',
  v3PublicKeyShare: 'SANDBOX_V3_PUBLIC_KEY_SHARE',
  port: 'SANDBOX_PORT',
  tlsPort: 'SANDBOX_TLS_PORT',
  refundDelayMs: 'SANDBOX_REFUND_DELAY_MS',
  refundMinIntervalMs: 'SANDBOX_REFUND_MIN_INTERVAL_MS',
  refundNotifyUrl: 'SANDBOX_REFUND_NOTIFY_URL',
  timeScale: 'SANDBOX_TIME_SCALE',
  closeMinAgeMs: 'SANDBOX_CLOSE_MIN_AGE_MS',
  unionId: 'SANDBOX_UNIONID',
  officialAccount: 'WECHAT_OA_APPID / WECHAT_OA_SECRET',
  app: 'WECHAT_APP_APPID',
  h5Domains: 'SANDBOX_H5_DOMAINS',
  oauthDomains: 'SANDBOX_OAUTH_DOMAINS',
  nativeCallbackUrl: 'SANDBOX_NATIVE_CALLBACK_URL',
  publicUrl: 'SANDBOX_PUBLIC_URL',
};

export class SandboxConfigError extends Error {
  override readonly name = 'SandboxConfigError';
}

/** Validates a complete config; throws SandboxConfigError listing every problem with its fix. */
export function validateSandboxConfig(candidate: SandboxConfig): SandboxConfig {
  const parsed = configSchema.safeParse(candidate);
  if (parsed.success) return parsed.data;
  const lines = parsed.error.issues.map((issue) => {
    const field = String(issue.path[0] ?? '');
    const env = ENV_NAMES[field as keyof SandboxConfig];
    return `  - ${issue.path.join('.')}${env ? ` (${env})` : ''}: ${issue.message}`;
  });
  throw new SandboxConfigError(
    `Invalid sandbox configuration:\n${lines.join('\n')}\n` +
      'Fix the values in .env (see .env.example) or unset them to use the sandbox demo credentials.',
  );
}

type Env = Record<string, string | undefined>;

function text(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === undefined || value === '' ? undefined : value;
}

function numberFrom(env: Env, name: string, fallback: number): number {
  const raw = text(env, name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value)) {
    throw new SandboxConfigError(`Invalid sandbox configuration:\n  - ${name}: "${raw}" is not a number`);
  }
  return value;
}

function booleanFrom(env: Env, name: string, fallback: boolean): boolean {
  const raw = text(env, name)?.toLowerCase();
  if (raw === undefined) return fallback;
  if (['1', 'true', 'yes', 'on'].includes(raw)) return true;
  if (['0', 'false', 'no', 'off'].includes(raw)) return false;
  throw new SandboxConfigError(
    `Invalid sandbox configuration:\n  - ${name}: use true or false, not "${raw}"`,
  );
}

/**
 * Why the sandbox must not run here, if it must not: under NODE_ENV=production the shared .env holds the real
 * merchant key and app secret, and a local WeChat that accepts them has no place next to a live server (the root
 * `pnpm start` starts both). undefined when it may run.
 */
export function sandboxRefusal(env: Env = process.env): string | undefined {
  if (env.NODE_ENV !== 'production') return undefined;
  return (
    'mp-pay sandbox: not started because NODE_ENV=production (it is a development tool and would hold your ' +
    'real WECHATPAY_KEY). Deploy the server alone: pnpm --filter @mp-pay/server start'
  );
}

/** Where relative key paths start: the repo root, where the shared `.env` lives. */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/**
 * WECHATPAY_PRIVATE_KEY names the merchant's apiclient_key.pem (relative paths start at the repo root, where the
 * `.env` is); an inline PEM is accepted too. The path is echoed in errors, the key never is.
 */
function privateKeyFrom(env: Env, baseDir: string): string | undefined {
  const raw = text(env, 'WECHATPAY_PRIVATE_KEY');
  if (raw === undefined) return undefined;
  if (raw.startsWith('-----BEGIN')) return raw.replace(/\\n/g, '\n');
  const path = isAbsolute(raw) ? raw : resolve(baseDir, raw);
  if (!existsSync(path)) {
    throw new SandboxConfigError(
      `Invalid sandbox configuration:\n  - WECHATPAY_PRIVATE_KEY: no file at ${path}: set it to the path of ` +
        'apiclient_key.pem (relative paths start at the repo root), or unset it to use the demo key',
    );
  }
  return readFileSync(path, 'utf8');
}

function keyModeFrom(env: Env, fallback: V3KeyMode): V3KeyMode {
  const raw = text(env, 'SANDBOX_V3_KEY_MODE');
  if (raw === undefined) return fallback;
  if ((V3_KEY_MODES as readonly string[]).includes(raw)) return raw as V3KeyMode;
  throw new SandboxConfigError(
    `Invalid sandbox configuration:\n  - SANDBOX_V3_KEY_MODE: use ${V3_KEY_MODES.join(', ')}, not "${raw}"`,
  );
}

/** Builds the sandbox configuration from environment variables (main.ts passes process.env). */
export function loadSandboxConfig(env: Env = process.env, baseDir: string = REPO_ROOT): SandboxConfig {
  const d = SANDBOX_DEFAULTS;
  return validateSandboxConfig({
    ...d,
    appId: text(env, 'WECHAT_APPID') ?? d.appId,
    secret: text(env, 'WECHAT_SECRET') ?? d.secret,
    mchId: text(env, 'WECHATPAY_MCHID') ?? d.mchId,
    key: text(env, 'WECHATPAY_KEY') ?? d.key,
    apiV3Key: text(env, 'WECHATPAY_APIV3_KEY') ?? d.apiV3Key,
    privateKey: privateKeyFrom(env, baseDir) ?? d.privateKey,
    certSerial: text(env, 'WECHATPAY_CERT_SERIAL') ?? d.certSerial,
    v3KeyMode: keyModeFrom(env, d.v3KeyMode),
    v3PublicKeyShare: numberFrom(env, 'SANDBOX_V3_PUBLIC_KEY_SHARE', d.v3PublicKeyShare),
    port: numberFrom(env, 'SANDBOX_PORT', d.port),
    // With SANDBOX_PORT=0 (any free port) the TLS listener picks a free one too, unless told otherwise.
    tlsPort: numberFrom(
      env,
      'SANDBOX_TLS_PORT',
      numberFrom(env, 'SANDBOX_PORT', d.port) === 0 ? 0 : d.tlsPort,
    ),
    host: text(env, 'SANDBOX_HOST') ?? d.host,
    timeScale: numberFrom(env, 'SANDBOX_TIME_SCALE', d.timeScale),
    closeMinAgeMs: numberFrom(env, 'SANDBOX_CLOSE_MIN_AGE_MS', d.closeMinAgeMs),
    unionId: booleanFrom(env, 'SANDBOX_UNIONID', d.unionId),
    extraAccounts: [],
    refundDelayMs: numberFrom(env, 'SANDBOX_REFUND_DELAY_MS', d.refundDelayMs),
    refundMinIntervalMs: numberFrom(env, 'SANDBOX_REFUND_MIN_INTERVAL_MS', d.refundMinIntervalMs),
    refundNotifyUrl: text(env, 'SANDBOX_REFUND_NOTIFY_URL'),
    officialAccount: {
      appId: text(env, 'WECHAT_OA_APPID') ?? d.officialAccount.appId,
      secret: text(env, 'WECHAT_OA_SECRET') ?? d.officialAccount.secret,
    },
    app: {
      appId: text(env, 'WECHAT_APP_APPID') ?? d.app.appId,
      secret: d.app.secret, // never checked: the sandbox has no app login
    },
    h5Domains: listFrom(env, 'SANDBOX_H5_DOMAINS') ?? d.h5Domains,
    oauthDomains: listFrom(env, 'SANDBOX_OAUTH_DOMAINS') ?? d.oauthDomains,
    nativeCallbackUrl: text(env, 'SANDBOX_NATIVE_CALLBACK_URL') ?? d.nativeCallbackUrl,
    publicUrl: text(env, 'SANDBOX_PUBLIC_URL')?.replace(/\/+$/, ''),
  });
}

/** A comma-separated list of hosts (spaces allowed). */
function listFrom(env: Env, name: string): string[] | undefined {
  const raw = text(env, name);
  if (raw === undefined) return undefined;
  return raw
    .split(',')
    .map((item) => item.trim().toLowerCase())
    .filter((item) => item !== '');
}

import { z } from 'zod';
import {
  APIV2_KEY_RULE,
  APP_SECRET_RULE,
  APPID_RULE,
  MCH_ID_RULE,
  SANDBOX_DEFAULT_PORT,
  SANDBOX_DEMO,
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
}

export interface SandboxConfig extends SandboxAccount {
  /** Listening port (SANDBOX_PORT, default 4010; 0 = any free port). */
  port: number;
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
}

export const SANDBOX_DEFAULTS: Readonly<SandboxConfig> = Object.freeze({
  ...SANDBOX_DEMO,
  port: SANDBOX_DEFAULT_PORT,
  host: '127.0.0.1',
  timeScale: 1,
  closeMinAgeMs: 5 * 60_000,
  prepayTtlMs: 2 * 60 * 60_000,
  notifyTimeoutMs: 5_000,
  unionId: false,
  maxOrders: 10_000,
  maxCodes: 10_000,
  extraAccounts: [],
});

/** The credential rules are shared with the server, which reads the same .env: both accept the same values. */
const credential = (rule: CredentialRule) => z.string().regex(rule.re, rule.message);

const accountSchema = z.object({
  appId: credential(APPID_RULE),
  secret: credential(APP_SECRET_RULE),
  mchId: credential(MCH_ID_RULE),
  key: credential(APIV2_KEY_RULE),
});

const configSchema = accountSchema.extend({
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
});

/** Environment variable that sets each field, for error messages that say what to fix. */
const ENV_NAMES: Partial<Record<keyof SandboxConfig, string>> = {
  appId: 'WECHAT_APPID',
  secret: 'WECHAT_SECRET',
  mchId: 'WECHATPAY_MCHID',
  key: 'WECHATPAY_KEY',
  port: 'SANDBOX_PORT',
  timeScale: 'SANDBOX_TIME_SCALE',
  closeMinAgeMs: 'SANDBOX_CLOSE_MIN_AGE_MS',
  unionId: 'SANDBOX_UNIONID',
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

/** Builds the sandbox configuration from environment variables (main.ts passes process.env). */
export function loadSandboxConfig(env: Env = process.env): SandboxConfig {
  const d = SANDBOX_DEFAULTS;
  return validateSandboxConfig({
    ...d,
    appId: text(env, 'WECHAT_APPID') ?? d.appId,
    secret: text(env, 'WECHAT_SECRET') ?? d.secret,
    mchId: text(env, 'WECHATPAY_MCHID') ?? d.mchId,
    key: text(env, 'WECHATPAY_KEY') ?? d.key,
    port: numberFrom(env, 'SANDBOX_PORT', d.port),
    host: text(env, 'SANDBOX_HOST') ?? d.host,
    timeScale: numberFrom(env, 'SANDBOX_TIME_SCALE', d.timeScale),
    closeMinAgeMs: numberFrom(env, 'SANDBOX_CLOSE_MIN_AGE_MS', d.closeMinAgeMs),
    unionId: booleanFrom(env, 'SANDBOX_UNIONID', d.unionId),
    extraAccounts: [],
  });
}

import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parseEnv } from 'node:util';
import { UsageError } from './io.ts';

/**
 * The merchant configuration the CLI works with, under the variable names the server reads (apps/server/src/
 * config.ts, README "Configuration"). Three sources, in this order of precedence: command-line flags, an
 * `--env-file`, and — only when `--env` is given — the process environment. This is the one place that reads
 * process.env: the CLI never picks up a key from the environment by surprise.
 */
export const SETTING_VARS = [
  'WECHAT_APPID',
  'WECHATPAY_MCHID',
  'WECHATPAY_KEY',
  'WECHATPAY_SIGN_TYPE',
  'WECHATPAY_API_VERSION',
  'WECHATPAY_APIV3_KEY',
  'WECHATPAY_PRIVATE_KEY',
  'WECHATPAY_CERT_SERIAL',
  'WECHATPAY_CERT',
  'WECHATPAY_PUBLIC_KEY',
  'WECHATPAY_PUBLIC_KEY_ID',
  'WECHATPAY_PLATFORM_CERTS',
  'WECHATPAY_CERT_P12',
  'WECHATPAY_CERT_PASSPHRASE',
  'WECHATPAY_CLIENT_CERT',
  'WECHATPAY_CLIENT_KEY',
  'WECHAT_SECRET',
] as const;
export type SettingVar = (typeof SETTING_VARS)[number];

/** The variables whose value is a file (or an inline PEM), resolved against where the value came from. */
const FILE_VARS: ReadonlySet<SettingVar> = new Set([
  'WECHATPAY_PRIVATE_KEY',
  'WECHATPAY_CERT',
  'WECHATPAY_PUBLIC_KEY',
  'WECHATPAY_CERT_P12',
  'WECHATPAY_CLIENT_CERT',
  'WECHATPAY_CLIENT_KEY',
]);

/** The flag of each variable (`--apiv3-key` for WECHATPAY_APIV3_KEY…). */
export const FLAG_OF: Readonly<Record<SettingVar, string>> = {
  WECHAT_APPID: 'appid',
  WECHATPAY_MCHID: 'mchid',
  WECHATPAY_KEY: 'key',
  WECHATPAY_SIGN_TYPE: 'sign-type',
  WECHATPAY_API_VERSION: 'api-version',
  WECHATPAY_APIV3_KEY: 'apiv3-key',
  WECHATPAY_PRIVATE_KEY: 'private-key',
  WECHATPAY_CERT_SERIAL: 'cert-serial',
  WECHATPAY_CERT: 'cert',
  WECHATPAY_PUBLIC_KEY: 'public-key',
  WECHATPAY_PUBLIC_KEY_ID: 'public-key-id',
  WECHATPAY_PLATFORM_CERTS: 'platform-certs',
  WECHATPAY_CERT_P12: 'p12',
  WECHATPAY_CERT_PASSPHRASE: 'p12-passphrase',
  WECHATPAY_CLIENT_CERT: 'client-cert',
  WECHATPAY_CLIENT_KEY: 'client-key',
  WECHAT_SECRET: 'secret',
};

/** parseArgs option declarations for every setting flag, plus --env-file and --env. */
export const SETTING_OPTIONS = {
  ...Object.fromEntries(SETTING_VARS.map((name) => [FLAG_OF[name], { type: 'string' as const }])),
  'env-file': { type: 'string' as const },
  env: { type: 'boolean' as const },
};

export interface Setting {
  value: string;
  /** `--apiv3-key`, `.env (WECHATPAY_APIV3_KEY)`, `environment (WECHATPAY_APIV3_KEY)`: for messages. */
  source: string;
  /**
   * A file setting whose value looks like the key itself (long base64, no header) rather than a path: set so
   * messages can say so without ever echoing the value.
   */
  looksLikeKey?: boolean;
}

export type Settings = Partial<Record<SettingVar, Setting>>;

export interface SettingSources {
  flags: Readonly<Record<string, unknown>>;
  /** The process environment, passed only when the user asked with --env. */
  environment?: Readonly<Record<string, string | undefined>>;
  cwd?: string;
}

export function loadSettings({ flags, environment, cwd = process.cwd() }: SettingSources): Settings {
  const settings: Settings = {};
  const take = (values: Readonly<Record<string, string | undefined>>, where: string, base: string) => {
    for (const name of SETTING_VARS) {
      const value = values[name];
      if (settings[name] || value === undefined || value === '') continue;
      settings[name] = setting(name, value, base, `${where} (${name})`);
    }
  };
  const fromFlags: Record<string, string | undefined> = {};
  for (const name of SETTING_VARS) {
    const value = flags[FLAG_OF[name]];
    if (typeof value === 'string') fromFlags[name] = value;
  }
  for (const name of SETTING_VARS) {
    const value = fromFlags[name];
    if (value !== undefined && value !== '') {
      settings[name] = setting(name, value, cwd, `--${FLAG_OF[name]}`);
    }
  }
  const envFile = flags['env-file'];
  if (typeof envFile === 'string') {
    let text: string;
    try {
      text = readFileSync(envFile, 'utf8');
    } catch (err) {
      throw new UsageError(
        `cannot read --env-file ${envFile}: ${(err as NodeJS.ErrnoException).code ?? 'unreadable'}`,
      );
    }
    take(parseEnv(text), envFile, dirname(resolve(cwd, envFile)));
  }
  if (flags.env === true && environment) take(environment, 'environment', cwd);
  return settings;
}

function setting(name: SettingVar, value: string, base: string, source: string): Setting {
  const resolved = { value: resolveFile(name, value, base), source };
  return FILE_VARS.has(name) && looksLikeKeyMaterial(value) ? { ...resolved, looksLikeKey: true } : resolved;
}

/**
 * A PEM body or a base64 .p12 pasted where a path belongs: long, base64 characters only (a `\n` typed as two
 * characters allowed), digits and both cases mixed, no dot (key files have an extension, base64 never has a
 * dot) and not starting like a path (`/`, `./`, `~`). Only used to word a message: a file that exists is read.
 */
export function looksLikeKeyMaterial(value: string): boolean {
  const compact = value.replaceAll('\\n', '').replace(/\s/g, '');
  return (
    compact.length >= 64 &&
    /^[A-Za-z0-9+/]+={0,2}$/.test(compact) &&
    /\d/.test(compact) &&
    /[A-Z]/.test(compact) &&
    /[a-z]/.test(compact) &&
    !value.includes('.') &&
    !/^[/~]/.test(value)
  );
}

/** The hint given (as a finding or in the usage error) when a key was pasted where its file belongs. */
export const KEY_MATERIAL_HINT =
  'looks like key material, not a path: pass a file path or the PEM with its header';

/** A relative path is relative to where it was written (the env file's folder, or the working directory). */
function resolveFile(name: SettingVar, value: string, base: string): string {
  if (!FILE_VARS.has(name) || value.includes('-----BEGIN') || isAbsolute(value)) return value;
  return resolve(base, value);
}

/**
 * The process environment, for `--env` only: handed to loadSettings by the command line, which reads nothing
 * from it unless the flag is given.
 */
export function processEnvironment(): Readonly<Record<string, string | undefined>> {
  return process.env;
}

/**
 * A PEM (or other file) setting's content: the inline PEM itself, or the file it names. The error names the
 * setting's source, never its value: the value may be the key itself, pasted without its PEM header.
 */
export function settingContent(setting: Setting): Buffer {
  if (setting.value.includes('-----BEGIN')) return Buffer.from(setting.value.replaceAll('\\n', '\n'), 'utf8');
  try {
    return readFileSync(setting.value);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new UsageError(
      setting.looksLikeKey
        ? `${setting.source}: ${KEY_MATERIAL_HINT}`
        : `cannot read the file given by ${setting.source}: ${code}`,
    );
  }
}

import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { isSignType } from '@mp-pay/shared/v2';
import { diagnoseKeys, keysResult } from './doctor/keys.ts';
import { diagnosePaySign, paySignResult, type PayKind } from './doctor/paysign.ts';
import { diagnoseSign, signResult } from './doctor/sign.ts';
import type { KeyCandidate } from './doctor/v2-variants.ts';
import { diagnoseV3, parseHttpRequest, v3Result } from './doctor/v3.ts';
import { HELP } from './help.ts';
import {
  errorDocument,
  escapeControl,
  EXIT,
  parseParamMap,
  readFileArg,
  readInput,
  UsageError,
  type CommandResult,
} from './io.ts';
import {
  loadSettings,
  processEnvironment,
  settingContent,
  SETTING_OPTIONS,
  type Settings,
} from './config.ts';
import { SCENARIOS, triggerResult } from './trigger.ts';

/** What the CLI touches of the outside world, injectable so tests can run it in-process too. */
export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  stdin: () => string;
  /** The process environment: read only when the user passes --env. */
  environment: Readonly<Record<string, string | undefined>>;
  cwd: string;
}

export const processIo = (): CliIo => ({
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  stdin: () => readFileSync(0, 'utf8'),
  // loadSettings reads it only under --env.
  environment: processEnvironment(),
  cwd: process.cwd(),
});

const COMMON = {
  ...SETTING_OPTIONS,
  json: { type: 'boolean' as const },
  help: { type: 'boolean' as const, short: 'h' },
};

const OPTIONS = {
  'doctor sign': { ...COMMON, sign: { type: 'string' as const }, 'show-key': { type: 'boolean' as const } },
  'doctor paysign': {
    ...COMMON,
    kind: { type: 'string' as const },
    'show-key': { type: 'boolean' as const },
  },
  'doctor v3': {
    ...COMMON,
    request: { type: 'string' as const },
    headers: { type: 'string' as const },
    body: { type: 'string' as const },
    'platform-cert': { type: 'string' as const, multiple: true },
    now: { type: 'string' as const },
  },
  'doctor keys': { ...COMMON, now: { type: 'string' as const } },
  trigger: {
    ...COMMON,
    sandbox: { type: 'string' as const },
    'notify-url': { type: 'string' as const },
    'refund-notify-url': { type: 'string' as const },
    amount: { type: 'string' as const },
    count: { type: 'string' as const },
    'hold-ms': { type: 'string' as const },
    timeout: { type: 'string' as const },
  },
} as const;

type CommandName = keyof typeof OPTIONS;

/** Runs one command line; returns the exit code (see help.ts). */
export async function run(argv: readonly string[], io: CliIo): Promise<number> {
  const [first, second] = argv;
  const name: CommandName | undefined =
    first === 'doctor' && second && `doctor ${second}` in OPTIONS
      ? (`doctor ${second}` as CommandName)
      : first === 'trigger'
        ? 'trigger'
        : undefined;
  if (!name) {
    const asked = first === undefined || first === 'help' || first === '--help' || first === '-h';
    // `mp-pay help doctor sign` is `mp-pay doctor sign --help`.
    const topic = first === 'help' ? HELP[argv.slice(1).join(' ')] : undefined;
    if (topic) {
      io.stdout(`${topic}\n`);
      return EXIT.OK;
    }
    (asked ? io.stdout : io.stderr)(
      `${asked ? '' : `unknown command: ${argv.join(' ') || '(none)'}\n\n`}${HELP.main}\n`,
    );
    return asked ? EXIT.OK : EXIT.USAGE;
  }
  const rest = argv.slice(name === 'trigger' ? 1 : 2);
  let values: Record<string, unknown>;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: [...rest],
      options: OPTIONS[name],
      allowPositionals: true,
      strict: true,
    }));
  } catch (err) {
    const message = escapeControl((err as Error).message);
    if (rest.includes('--json'))
      io.stdout(`${JSON.stringify(errorDocument(EXIT.USAGE, message), null, 2)}\n`);
    io.stderr(`mp-pay ${name}: ${message}\nRun mp-pay ${name} --help.\n`);
    return EXIT.USAGE;
  }
  if (values.help) {
    io.stdout(`${HELP[name]}\n`);
    return EXIT.OK;
  }
  try {
    const settings = loadSettings({ flags: values, environment: io.environment, cwd: io.cwd });
    const result = await execute(name, values, positionals, settings, io);
    io.stdout(values.json ? `${JSON.stringify(result.json, null, 2)}\n` : `${result.text}\n`);
    return result.exitCode;
  } catch (err) {
    const usage = err instanceof UsageError;
    const exitCode = usage ? EXIT.USAGE : EXIT.UNEXPECTED;
    const message = escapeControl((err as Error).message);
    // Under --json stdout is always one JSON document, whatever the exit code: scripts parse it, not stderr.
    if (values.json) io.stdout(`${JSON.stringify(errorDocument(exitCode, message), null, 2)}\n`);
    io.stderr(`mp-pay ${name}: ${message}\n${usage ? `Run mp-pay ${name} --help.\n` : ''}`);
    return exitCode;
  }
}

/** Whether a diagnosis reproduced the sign at all, and with no mistake (for choosing a query string's reading). */
function reproduction(ok: boolean, match: { mistake?: string } | undefined) {
  return {
    reproduced: match !== undefined,
    clean: ok || (match !== undefined && match.mistake === undefined),
  };
}

function keyCandidates(settings: Settings): KeyCandidate[] {
  const keys: KeyCandidate[] = [];
  if (settings.WECHATPAY_KEY)
    keys.push({ label: 'the APIv2 key', flag: '--key', value: settings.WECHATPAY_KEY.value });
  if (settings.WECHATPAY_APIV3_KEY)
    keys.push({ label: 'the APIv3 key', flag: '--apiv3-key', value: settings.WECHATPAY_APIV3_KEY.value });
  if (settings.WECHAT_SECRET)
    keys.push({ label: 'the AppSecret', flag: '--secret', value: settings.WECHAT_SECRET.value });
  return keys;
}

function signTypeSetting(settings: Settings) {
  const value = settings.WECHATPAY_SIGN_TYPE?.value;
  if (value === undefined) return undefined;
  if (!isSignType(value)) throw new UsageError(`--sign-type must be MD5 or HMAC-SHA256, not ${value}`);
  return value;
}

/**
 * --headers: `-` (stdin), a file, or the JSON itself. Only an object of header names is accepted; numbers (a
 * timestamp written as a JSON number) are taken as their decimal text, anything else is named.
 */
function headersArg(arg: string, stdin: () => string): Record<string, string | string[]> {
  let text: string;
  const trimmed = arg.trim();
  if (arg === '-') text = stdin();
  else if (/^[[{"]|^(null|true|false|-?\d[\d.eE+-]*)$/.test(trimmed)) text = arg;
  else text = readFileArg(arg, '--headers').toString('utf8');
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`--headers must be a JSON object: ${(err as Error).message}`);
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data))
    throw new UsageError(
      `--headers must be a JSON object of header names, not ${data === null ? 'null' : Array.isArray(data) ? 'an array' : typeof data}`,
    );
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(data)) {
    if (typeof value === 'string') headers[name] = value;
    else if (typeof value === 'number' && Number.isFinite(value)) headers[name] = String(value);
    else if (Array.isArray(value) && value.every((v) => typeof v === 'string')) headers[name] = value;
    else
      throw new UsageError(
        `--headers: the value of ${name} must be a string (or a number), not ${value === null ? 'null' : typeof value}`,
      );
  }
  return headers;
}

/** --sandbox: an http(s) URL; anything else is a usage error, not an unreachable sandbox. */
function sandboxUrl(value: unknown): string {
  if (typeof value !== 'string') return 'http://127.0.0.1:4010';
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`--sandbox must be an http(s) URL such as http://127.0.0.1:4010, not ${value}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new UsageError(`--sandbox must be an http(s) URL, not ${url.protocol}`);
  return value;
}

/** --now: Unix seconds, milliseconds or an ISO time. */
function parseNow(text: unknown): number | undefined {
  if (typeof text !== 'string') return undefined;
  if (/^\d{1,11}$/.test(text)) return Number(text) * 1000;
  if (/^\d{12,14}$/.test(text)) return Number(text);
  const ms = Date.parse(text);
  if (Number.isNaN(ms)) throw new UsageError(`--now must be Unix seconds or an ISO time, not ${text}`);
  return ms;
}

function positiveInt(text: unknown, flag: string, fallback: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 0) throw new UsageError(`--${flag} must be a whole number`);
  return n;
}

async function execute(
  name: CommandName,
  values: Record<string, unknown>,
  positionals: string[],
  settings: Settings,
  io: CliIo,
): Promise<CommandResult> {
  const text = (setting: keyof Settings) => {
    const s = settings[setting];
    return s ? settingContent(s).toString('utf8') : undefined;
  };
  switch (name) {
    case 'doctor sign':
    case 'doctor paysign': {
      if (positionals.length !== 1)
        throw new UsageError('give exactly one input: a file, - for stdin, or the text');
      const parsed = parseParamMap(readInput(positionals[0] ?? '', io.stdin));
      const keys = keyCandidates(settings);
      const showKey = values['show-key'] === true;
      const signType = signTypeSetting(settings);
      if (name === 'doctor sign' && keys.length === 0)
        throw new UsageError('give a key: --key (APIv2), and optionally --apiv3-key / --secret to compare');
      const kind = values.kind;
      if (kind !== undefined && kind !== 'miniprogram' && kind !== 'app')
        throw new UsageError('--kind must be miniprogram or app');
      const privateKey = name === 'doctor paysign' ? text('WECHATPAY_PRIVATE_KEY') : undefined;
      const merchantPublic = name === 'doctor paysign' ? text('WECHATPAY_CERT') : undefined;
      const diagnose = (
        params: Record<string, string>,
      ): CommandResult & { reproduced: boolean; clean: boolean } => {
        if (name === 'doctor sign') {
          const sign = typeof values.sign === 'string' ? values.sign : undefined;
          const d = diagnoseSign({
            params,
            keys,
            ...(sign ? { given: sign } : {}),
            ...(signType ? { signType } : {}),
          });
          return { ...signResult(d, settings.WECHATPAY_KEY?.value, showKey), ...reproduction(d.ok, d.match) };
        }
        const d = diagnosePaySign({
          params,
          keys,
          ...(kind ? { kind: kind as PayKind } : {}),
          ...(settings.WECHAT_APPID ? { appId: settings.WECHAT_APPID.value } : {}),
          ...(signType ? { signType } : {}),
          ...(privateKey ? { privateKey } : {}),
          ...(merchantPublic ? { merchantPublic } : {}),
          sources: {
            ...(settings.WECHATPAY_PRIVATE_KEY ? { privateKey: settings.WECHATPAY_PRIVATE_KEY.source } : {}),
            ...(settings.WECHATPAY_CERT ? { merchantPublic: settings.WECHATPAY_CERT.source } : {}),
          },
        });
        return {
          ...paySignResult(d, settings.WECHATPAY_KEY?.value, showKey),
          ...reproduction(d.ok, d.v2?.match ?? d.match),
        };
      };
      const decoded = diagnose(parsed.params);
      if (!parsed.raw || JSON.stringify(parsed.raw) === JSON.stringify(parsed.params)) return decoded;
      // A query string is ambiguous: URL-encoded form data (`+` is a space) or a map pasted as k=v&… with its
      // values as they are. Read it both ways and say which one the sign belongs to.
      const raw = diagnose(parsed.raw);
      const useRaw = !decoded.clean && raw.reproduced && (!decoded.reproduced || raw.clean);
      const chosen = useRaw ? raw : decoded;
      const reading = useRaw ? 'raw' : 'decoded';
      const note = useRaw
        ? 'Input read as a query string with its values as written (not URL-decoded): that reading reproduces the sign'
        : `Input read as a query string, URL-decoded (+ as space, %XX)${raw.reproduced ? '' : '; the values as written reproduce nothing either'}`;
      return {
        exitCode: chosen.exitCode,
        text: `${note}\n${chosen.text}`,
        json: { reading, ...(chosen.json as object) },
      };
    }
    case 'doctor v3': {
      let headers: Record<string, string | string[]>;
      let body: Buffer;
      if (typeof values.request === 'string') {
        ({ headers, body } = parseHttpRequest(readFileArg(values.request, '--request')));
      } else if (typeof values.headers === 'string' && typeof values.body === 'string') {
        if (values.headers === '-' && values.body === '-')
          throw new UsageError(
            '--headers and --body cannot both be - (stdin is read once): put one in a file',
          );
        headers = headersArg(values.headers, io.stdin);
        body = values.body === '-' ? Buffer.from(io.stdin(), 'utf8') : readFileArg(values.body, '--body');
      } else {
        throw new UsageError('give --request FILE, or --headers and --body');
      }
      const pub = text('WECHATPAY_PUBLIC_KEY');
      const id = settings.WECHATPAY_PUBLIC_KEY_ID?.value;
      if (pub && !id) throw new UsageError('--public-key needs --public-key-id (PUB_KEY_ID_…)');
      const certs = ((values['platform-cert'] as string[] | undefined) ?? []).map((f) =>
        readFileArg(f, '--platform-cert').toString('utf8'),
      );
      const now = parseNow(values.now);
      const d = diagnoseV3({
        headers,
        body,
        ...(pub && id ? { publicKey: { id, pem: pub } } : {}),
        platformCerts: certs,
        ...(settings.WECHATPAY_APIV3_KEY ? { apiV3Key: settings.WECHATPAY_APIV3_KEY.value } : {}),
        ...(settings.WECHATPAY_KEY ? { v2Key: settings.WECHATPAY_KEY.value } : {}),
        ...(now === undefined ? {} : { now }),
      });
      return v3Result(d);
    }
    case 'doctor keys':
      if (Object.keys(settings).length === 0)
        throw new UsageError('nothing to check: give --env-file, --env or key flags');
      return keysResult(diagnoseKeys(settings, parseNow(values.now)));
    case 'trigger': {
      const scenario = positionals[0];
      if (!scenario || positionals.length > 1) {
        throw new UsageError(`give one scenario: ${Object.keys(SCENARIOS).join(', ')}`);
      }
      if (!(scenario in SCENARIOS))
        throw new UsageError(`unknown scenario ${scenario}: one of ${Object.keys(SCENARIOS).join(', ')}`);
      return triggerResult(scenario, {
        sandbox: sandboxUrl(values.sandbox),
        notifyUrl:
          typeof values['notify-url'] === 'string'
            ? values['notify-url']
            : 'http://127.0.0.1:3000/wechatpay/v3/notify',
        refundNotifyUrl:
          typeof values['refund-notify-url'] === 'string'
            ? values['refund-notify-url']
            : 'http://127.0.0.1:3000/wechatpay/v3/refund-notify',
        amountFen: Math.max(1, positiveInt(values.amount, 'amount', 1)),
        count: Math.max(1, positiveInt(values.count, 'count', 2)),
        holdMs: positiveInt(values['hold-ms'], 'hold-ms', 12_000),
        timeoutMs: positiveInt(values.timeout, 'timeout', 30_000),
        settings,
      });
    }
  }
}

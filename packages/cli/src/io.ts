import { readFileSync } from 'node:fs';
import { parseXml } from '@mp-pay/shared/v2';

/**
 * What every command shares: exit codes scripts can rely on, the usage error, reading an input that is a file
 * path, `-` (stdin) or the text itself, and turning JSON / query string / XML into a flat map.
 */
export const EXIT = Object.freeze({
  /** Everything checked is fine; the signature matches. */
  OK: 0,
  /** The command ran and diagnosed a problem (a mismatch, an expired certificate, a merchant that misbehaved). */
  PROBLEM: 1,
  /** The command line is wrong (unknown option, missing input, unreadable file). */
  USAGE: 2,
  /** The sandbox could not be reached (trigger only). */
  UNREACHABLE: 3,
  /** Something the CLI did not foresee: a bug, or a sandbox reply it does not know. */
  UNEXPECTED: 4,
});

/** The stable `error` id of the --json document printed for exit codes 2, 3 and 4. */
export const ERROR_ID: Readonly<Record<number, string>> = {
  [EXIT.USAGE]: 'USAGE',
  [EXIT.UNREACHABLE]: 'SANDBOX_UNREACHABLE',
  [EXIT.UNEXPECTED]: 'UNEXPECTED',
};

/**
 * The --json document of a command that could not produce its report (exit 2, 3 or 4): the same shape for every
 * command, so a script can always parse stdout and read `exitCode`.
 */
export function errorDocument(exitCode: number, message: string, extra: Record<string, unknown> = {}) {
  return { ok: false, exitCode, error: ERROR_ID[exitCode] ?? 'UNEXPECTED', message, ...extra };
}

/**
 * Untrusted text (a signed string, a sign, a reply from a notify_url) made safe for a terminal: control
 * characters, DEL / C1 and the bidi overrides are shown as JSON-style escapes (\n, \t, \u001b…) instead of
 * moving the cursor, recolouring or reordering what the user reads. Printable text, CJK included, is kept.
 */
export function escapeControl(text: string): string {
  return text.replace(
    // Matching control characters is the point here.
    // eslint-disable-next-line no-control-regex
    /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g,
    (c) => {
      const named: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };
      return named[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
    },
  );
}

export class UsageError extends Error {
  override name = 'UsageError';
}

/** What a command hands back to main: its exit code, the human text and the --json document. */
export interface CommandResult {
  exitCode: number;
  text: string;
  json: unknown;
}

/**
 * An argument that names its input: `-` reads stdin, an existing file is read, anything else is the text
 * itself (inline JSON, a query string, XML). `stdin` is injectable for tests that call modules directly.
 */
export function readInput(arg: string, stdin: () => string = () => readFileSync(0, 'utf8')): string {
  if (arg === '-') return stdin();
  const trimmed = arg.trimStart();
  // Inline input never looks like a path: JSON, XML or a query string with '='.
  if (trimmed.startsWith('{') || trimmed.startsWith('<') || trimmed.includes('=')) return arg;
  try {
    return readFileSync(arg, 'utf8');
  } catch (err) {
    throw new UsageError(
      `cannot read ${arg}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
}

/** A file the user named (a key, a certificate, a body): bytes or a usage error naming it. */
export function readFileArg(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new UsageError(
      `cannot read ${what} ${path}: ${(err as NodeJS.ErrnoException).code ?? 'unreadable'}`,
    );
  }
}

export type InputFormat = 'json' | 'query' | 'xml';

/**
 * A v2 parameter map from JSON (an object of strings and numbers), XML (`<xml>…</xml>`, through the hardened
 * parser the server uses) or a query string (`a=1&b=2`, percent-decoded as a browser would send it). Values are
 * kept exactly (no trimming): whitespace in a value is one of the mistakes the doctor looks for.
 */
export function parseParamMap(text: string): {
  format: InputFormat;
  params: Record<string, string>;
  /** Query strings only: the values exactly as written (no `+` → space, no %XX decoding). */
  raw?: Record<string, string>;
} {
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) {
    let data: unknown;
    try {
      data = JSON.parse(trimmed);
    } catch (err) {
      throw new UsageError(`the input is not valid JSON: ${(err as Error).message}`);
    }
    if (typeof data !== 'object' || data === null || Array.isArray(data)) {
      throw new UsageError('the JSON input must be an object of fields');
    }
    const params: Record<string, string> = {};
    for (const [name, value] of Object.entries(data)) {
      if (value === null || value === undefined) continue;
      if (typeof value === 'object') params[name] = JSON.stringify(value);
      else params[name] = String(value);
    }
    return { format: 'json', params };
  }
  if (trimmed.startsWith('<')) {
    try {
      return { format: 'xml', params: { ...parseXml(trimmed) } };
    } catch (err) {
      throw new UsageError(`the input is not v2 XML: ${(err as Error).message}`);
    }
  }
  if (trimmed.includes('=')) {
    const params: Record<string, string> = {};
    const raw: Record<string, string> = {};
    for (const part of trimmed.replace(/^\?/, '').split('&')) {
      if (part === '') continue;
      const eq = part.indexOf('=');
      const name = eq === -1 ? part : part.slice(0, eq);
      const value = eq === -1 ? '' : part.slice(eq + 1);
      params[decode(name)] = decode(value);
      raw[name] = value;
    }
    return { format: 'query', params, raw };
  }
  throw new UsageError('the input is neither JSON, XML nor a query string (a=1&b=2)');
}

function decode(text: string): string {
  try {
    return decodeURIComponent(text.replaceAll('+', ' '));
  } catch {
    return text;
  }
}

/** A secret shown only by its length and last 4 characters: enough to tell two keys apart, not to use one. */
export function maskSecret(secret: string): string {
  if (secret.length <= 8) return `<${secret.length} characters>`;
  return `${'*'.repeat(4)}…${secret.slice(-4)} (${secret.length} characters)`;
}

/** Indents a block of text under a heading. */
export function indent(text: string, by = '  '): string {
  return text
    .split('\n')
    .map((line) => (line ? by + line : line))
    .join('\n');
}

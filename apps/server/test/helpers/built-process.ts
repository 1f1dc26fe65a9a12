/**
 * A built app (dist/main.js) as production runs it: its own node process, signals sent to that process, its
 * listening URL read from its log. Used by test/build.test.ts and test/deploy.test.ts.
 */
import { spawn, type ChildProcess } from 'node:child_process';

export interface BuiltProcess {
  child: ChildProcess;
  /** Every stdout and stderr line so far. */
  stdout: string[];
  stderr: string[];
  /** Resolves when the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves with the first URL `findUrl` finds in a stdout line. */
  url: Promise<string>;
  /** Kills it if still running (test clean-up). */
  kill(): void;
}

export interface StartOptions {
  cwd: string;
  /** Arguments after node, e.g. ['dist/main.js']. */
  args: string[];
  /** The whole environment of the process (nothing is inherited but PATH). */
  env: Record<string, string>;
  /** Picks the listening URL out of a log line. */
  findUrl?: (line: string) => string | undefined;
  timeoutMs?: number;
}

/** The server's "server listening" JSON log line carries `url`. */
export function serverUrlOf(line: string): string | undefined {
  try {
    const entry = JSON.parse(line) as { msg?: string; url?: string };
    return entry.msg === 'server listening' && typeof entry.url === 'string' ? entry.url : undefined;
  } catch {
    return undefined;
  }
}

export function startBuilt(options: StartOptions): BuiltProcess {
  const child = spawn(process.execPath, options.args, {
    cwd: options.cwd,
    env: { PATH: process.env.PATH ?? '', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stdout: string[] = [];
  const stderr: string[] = [];
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const findUrl = options.findUrl ?? serverUrlOf;
  const url = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no listening URL after ${options.timeoutMs ?? 15_000} ms\n${transcript()}`)),
      options.timeoutMs ?? 15_000,
    );
    lines(child.stdout, stdout, (line) => {
      const found = findUrl(line);
      if (found !== undefined) {
        clearTimeout(timer);
        resolve(found);
      }
    });
    lines(child.stderr, stderr, () => {});
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`exited (code ${code}, signal ${signal}) before listening\n${transcript()}`));
    });
  });
  url.catch(() => {}); // awaited by the caller; exiting later must not be an unhandled rejection
  function transcript() {
    return [...stdout.map((l) => `stdout: ${l}`), ...stderr.map((l) => `stderr: ${l}`)].join('\n');
  }
  return {
    child,
    stdout,
    stderr,
    exited,
    url,
    kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}

function lines(stream: NodeJS.ReadableStream | null, into: string[], each: (line: string) => void) {
  let rest = '';
  stream?.setEncoding('utf8');
  stream?.on('data', (chunk: string) => {
    const parts = (rest + chunk).split('\n');
    rest = parts.pop() ?? '';
    for (const line of parts) {
      into.push(line);
      each(line);
    }
  });
  stream?.on('end', () => {
    if (rest !== '') {
      into.push(rest);
      each(rest);
    }
  });
}

/**
 * A buyer's session on a server running as its own process (no Stack around it): a login code from the sandbox,
 * then POST /api/session, as the mini-program does.
 */
export async function signInAt(serverUrl: string, sandboxUrl: string, appid: string, user: string) {
  const json = (body: unknown) => ({
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const login = (await (await fetch(`${sandboxUrl}/sandbox/login-codes`, json({ appid, user }))).json()) as {
    code: string;
  };
  const session = await fetch(`${serverUrl}/api/session`, json({ code: login.code }));
  if (session.status !== 201)
    throw new Error(`sign-in failed: HTTP ${session.status} ${await session.text()}`);
  return ((await session.json()) as { token: string }).token;
}

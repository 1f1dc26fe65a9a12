import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { eventually } from './helpers.ts';

const root = fileURLToPath(new URL('..', import.meta.url));

/** Runs `tsx src/main.ts` (what `pnpm start` runs) with the given environment. */
function run(env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

describe('main.ts (pnpm start)', () => {
  it('starts from the environment, prints where to point clients, and stops cleanly on SIGTERM', async () => {
    const proc = run({ SANDBOX_PORT: '0', SANDBOX_TIME_SCALE: '60' });
    try {
      const url = await eventually(
        () => /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(proc.output())?.[1],
        20_000,
      );
      expect(proc.output()).toContain(`WECHATPAY_API_BASE=${url}`);
      expect(proc.output()).toContain('time scale 60');
      expect(await (await fetch(`${url}/sandbox/health`)).json()).toMatchObject({ ok: true });
      proc.child.kill('SIGTERM');
      expect(await proc.exited).toBe(0);
    } finally {
      proc.child.kill('SIGKILL');
    }
  }, 30_000);

  it('does not start under NODE_ENV=production (real keys in .env), exits 0 and says how to deploy', async () => {
    const proc = run({ SANDBOX_PORT: '0', NODE_ENV: 'production' });
    expect(await proc.exited).toBe(0);
    expect(proc.output()).toContain('not started because NODE_ENV=production');
    expect(proc.output()).toContain('pnpm --filter @mp-pay/server start');
    expect(proc.output()).not.toContain('listening on');
  }, 30_000);

  it('refuses an invalid configuration with a fix-it message and exit code 1', async () => {
    const proc = run({ SANDBOX_PORT: '0', WECHATPAY_KEY: 'too-short' });
    expect(await proc.exited).toBe(1);
    expect(proc.output()).toMatch(/WECHATPAY_KEY.*32-character APIv2 key/);
  }, 30_000);

  it('names the fix when the port is taken (a second pnpm start), instead of a Node stack trace', async () => {
    const squatter = createServer();
    await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
    const { port } = squatter.address() as { port: number };
    try {
      const proc = run({ SANDBOX_PORT: String(port) });
      expect(await proc.exited).toBe(1);
      expect(proc.output()).toContain(
        `could not start: listen EADDRINUSE: address already in use 127.0.0.1:${port}`,
      );
      expect(proc.output()).toMatch(/set SANDBOX_PORT/);
      expect(proc.output()).not.toMatch(/\n\s+at /); // no stack frames
    } finally {
      squatter.close();
    }
  }, 30_000);
});

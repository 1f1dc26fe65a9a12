import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';

/**
 * A private redis-server configured for durability (append-only file, fsync on every write), for the notify
 * run that shows what "never answer SUCCESS before the write is durable" costs when Redis really makes every
 * write durable. The machine's shared Redis may be configured otherwise (RESULTS.md says how).
 */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

export interface DurableRedis {
  url: string;
  pid: number | undefined;
  stop(): Promise<void>;
}

export async function startDurableRedis(): Promise<DurableRedis> {
  const dir = mkdtempSync(join(tmpdir(), 'mp-pay-bench-redis-'));
  const port = await freePort();
  const child: ChildProcess = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'yes'].concat([
      '--appendfsync',
      'always',
      '--dir',
      dir,
    ]),
    { stdio: 'ignore' },
  );
  const url = `redis://127.0.0.1:${port}`;
  const deadline = Date.now() + 10_000;
  for (;;) {
    const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on('error', () => {});
    try {
      await probe.connect();
      if ((await probe.ping()) === 'PONG') break;
    } catch {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error('redis-server did not start');
      await new Promise((r) => setTimeout(r, 50));
    } finally {
      probe.disconnect();
    }
  }
  return {
    url,
    pid: child.pid,
    stop: () =>
      new Promise<void>((resolve) => {
        const done = () => {
          rmSync(dir, { recursive: true, force: true });
          resolve();
        };
        if (child.exitCode !== null) return done();
        child.once('exit', done);
        child.kill('SIGTERM');
      }),
  };
}

/** How the shared Redis persists writes, in one line for RESULTS.md. */
export async function persistenceOf(redis: Redis): Promise<string> {
  const get = async (name: string) => ((await redis.config('GET', name)) as string[])[1] ?? '?';
  const aof = await get('appendonly');
  const save = await get('save');
  const aofText = aof === 'yes' ? `AOF on, appendfsync ${await get('appendfsync')}` : 'AOF off';
  return `${aofText}, RDB snapshots ${save ? `"${save}"` : 'off'}`;
}

/**
 * The Dockerfile, proven without Docker (images cannot be pulled here): deploy/dockerfile-as-shell.sh runs its
 * build stage (pnpm install, pnpm build, pnpm deploy --prod) on a copy of the working tree and assembles the
 * runtime stage into a folder; this test then starts the image's CMD there with its ENV and checks what a
 * container would do: production dependencies only, no secrets, node as PID 1, the HEALTHCHECK command passing
 * on /readyz, orders through Redis (the Lua scripts from dist/), JSON-only stdout, and SIGTERM → exit 0.
 *
 * The image sets NODE_ENV=production, which refuses plain-http API bases and the sandbox's demo merchant. A
 * local sandbox can only offer both, so the test keeps the production shape (live mode: both API bases, every
 * credential, PUBLIC_BASE_URL, Redis, the default 0.0.0.0 listener) and sets NODE_ENV=test, which lifts only
 * those refusals.
 */
import { execFile } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startSandbox, type RunningSandbox } from '@mp-pay/sandbox';
import { SANDBOX_DEMO } from '@mp-pay/shared/wechatpay';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serverUrlOf, signInAt, startBuilt, type BuiltProcess } from './helpers/built-process.ts';
import { dropPrefix, TEST_REDIS_URL, uniquePrefix } from './helpers/redis.ts';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));

interface ImageSettings {
  base: string;
  workdir: string;
  user: string;
  env: Record<string, string>;
  expose: number[];
  healthcheck: { options: string[]; cmd: string[] } | null;
  cmd: string[];
}

function run(command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) {
  return new Promise<{ code: number; output: string }>((resolve) => {
    execFile(command, args, { ...options, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1;
      resolve({ code, output: `${stdout}${stderr}` });
    });
  });
}

describe('the Dockerfile, run as shell', () => {
  // Inside a folder of its own: dist/main.js looks for a .env three folders up (the repository root in a
  // checkout, / in the image), which must not find one here either.
  let tmp: string;
  let root: string;
  let image: ImageSettings;
  let app: string;

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'mp-pay-deploy-'));
    root = join(tmp, 'image');
    const built = await run('bash', [join(REPO, 'deploy/dockerfile-as-shell.sh'), root]);
    if (built.code !== 0) {
      throw new Error(
        `deploy/dockerfile-as-shell.sh failed:\n${built.output.split('\n').slice(-60).join('\n')}`,
      );
    }
    image = JSON.parse(readFileSync(join(root, '.image.json'), 'utf8')) as ImageSettings;
    app = join(root, image.workdir);
  }, 120_000);

  afterAll(() => {
    if (tmp !== undefined) rmSync(tmp, { recursive: true, force: true });
  });

  it('builds a production image: non-root, node as PID 1, a health check on /readyz', () => {
    expect(image.base).toMatch(/^node:20/);
    expect(image.user).not.toMatch(/^(root|0)?$/);
    expect(image.env.NODE_ENV).toBe('production');
    expect(image.expose).toContain(3000);
    // Exec form with node first: no shell, npm or pnpm between the container's signals and the server.
    expect(image.cmd).toEqual(['node', 'dist/main.js']);
    expect(image.healthcheck?.cmd[0]).toBe('node');
    expect(image.healthcheck?.cmd.join(' ')).toContain('/readyz');
  });

  it('holds dist/ and the production dependencies only, and no secrets', () => {
    expect(readdirSync(app).sort()).toEqual(['dist', 'node_modules', 'package.json']);
    const installed = readdirSync(join(app, 'node_modules/.pnpm'));
    const has = (name: string) => installed.some((dir) => dir.startsWith(`${name.replace('/', '+')}@`));
    for (const name of ['koa', 'ioredis', 'pino', 'zod']) expect(has(name), name).toBe(true);
    for (const name of ['vitest', 'playwright-core', 'typescript', 'eslint', 'wechatpay-axios-plugin']) {
      expect(has(name), `${name} is a development dependency`).toBe(false);
    }
    const files = readdirSync(join(app, 'dist'), { recursive: true }).map(String);
    expect(files).toContain('main.js');
    expect(files).toContain('main.js.map');
    expect(files.filter((f) => /(^|\/)\.env|\.(pem|p12|key)$/.test(f))).toEqual([]);
    expect(existsSync(join(root, '.env'))).toBe(false);
  });

  describe('the container', () => {
    let sandbox: RunningSandbox;
    let server: BuiltProcess;
    let url: string;
    const prefix = uniquePrefix('deploy');
    let env: Record<string, string>;

    beforeAll(async () => {
      sandbox = await startSandbox({ port: 0, timeScale: 1000 });
      env = {
        ...image.env,
        NODE_ENV: 'test',
        PORT: '0',
        WECHATPAY_MODE: 'live',
        WECHAT_API_BASE: sandbox.url,
        WECHATPAY_API_BASE: sandbox.url,
        WECHAT_APPID: SANDBOX_DEMO.appId,
        WECHAT_SECRET: SANDBOX_DEMO.secret,
        WECHATPAY_MCHID: SANDBOX_DEMO.mchId,
        WECHATPAY_KEY: SANDBOX_DEMO.key,
        PUBLIC_BASE_URL: 'https://shop.example.com',
        REDIS_URL: TEST_REDIS_URL,
        REDIS_PREFIX: prefix,
        LOG_LEVEL: 'info',
      };
      const [command, ...args] = image.cmd;
      expect(command).toBe('node');
      server = startBuilt({ cwd: app, args, env });
      url = await server.url;
    }, 30_000);

    afterAll(async () => {
      server?.kill();
      await sandbox?.close();
      await dropPrefix(prefix);
    });

    const healthcheck = async () => {
      const [command, ...args] = image.healthcheck?.cmd ?? [];
      expect(command).toBe('node');
      return run(process.execPath, args, {
        cwd: app,
        env: { PATH: process.env.PATH, ...env, PORT: new URL(url).port },
      });
    };

    it('passes its HEALTHCHECK and serves the API and the shop', async () => {
      expect((await healthcheck()).code).toBe(0);
      expect((await fetch(`${url}/api/config`).then((r) => r.json())) as object).toMatchObject({
        mode: 'live',
      });
      expect((await fetch(`${url}/api/products`)).status).toBe(200);
      expect((await fetch(`${url}/shop/`)).status).toBe(200);
    });

    it('takes an order through Redis (the Lua scripts in dist/) and WeChat (the sandbox)', async () => {
      const token = await signInAt(url, sandbox.url, SANDBOX_DEMO.appId, 'deploy-buyer');
      const order = await fetch(`${url}/api/orders`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ items: [{ productId: 'green-tea', quantity: 1 }] }),
      });
      expect(order.status, await order.clone().text()).toBe(201);
      expect(((await order.json()) as { order: { status: string } }).order.status).toBe('PENDING');
    });

    it('logs JSON lines only, and exits 0 on SIGTERM (docker stop)', async () => {
      server.child.kill('SIGTERM');
      expect(await server.exited, server.stderr.join('\n')).toEqual({ code: 0, signal: null });
      const notJson = server.stdout.filter((line) => {
        try {
          JSON.parse(line);
          return false;
        } catch {
          return true;
        }
      });
      expect(notJson).toEqual([]);
      expect(server.stdout.some((line) => serverUrlOf(line) !== undefined)).toBe(true);
      expect((await healthcheck()).code).toBe(1);
    });
  });
});

describe('deploy/dockerfile-as-shell.sh', () => {
  // A throwaway repository holding only the script, a Dockerfile and a .dockerignore.
  async function emulate(dockerfile: string, dockerignore = '') {
    const dir = mkdtempSync(join(tmpdir(), 'mp-pay-dockerfile-'));
    try {
      mkdirSync(join(dir, 'deploy'));
      copyFileSync(join(REPO, 'deploy/dockerfile-as-shell.sh'), join(dir, 'deploy/dockerfile-as-shell.sh'));
      writeFileSync(join(dir, 'Dockerfile'), dockerfile);
      writeFileSync(join(dir, '.dockerignore'), dockerignore);
      writeFileSync(join(dir, 'kept.txt'), 'kept');
      mkdirSync(join(dir, 'sub/node_modules'), { recursive: true });
      writeFileSync(join(dir, 'sub/node_modules/ignored.txt'), 'ignored');
      const result = await run('bash', [join(dir, 'deploy/dockerfile-as-shell.sh'), join(dir, 'out')]);
      const files = existsSync(join(dir, 'out'))
        ? readdirSync(join(dir, 'out'), { recursive: true }).map(String)
        : [];
      return { ...result, files };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  it('copies the context without what .dockerignore excludes', async () => {
    const result = await emulate(
      'FROM node:20-slim\nWORKDIR /app\nCOPY . .\nCMD ["node", "x.js"]\n',
      '**/node_modules\n',
    );
    expect(result.code, result.output).toBe(0);
    expect(result.files).toContain('app/kept.txt');
    expect(result.files).toContain('app/sub');
    expect(result.files.filter((f) => f.includes('node_modules'))).toEqual([]);
  });

  it.each([
    ['ADD', 'FROM node:20-slim\nADD . /app\nCMD ["node"]\n', '', /instruction not supported: ADD/],
    ['a shell-form CMD', 'FROM node:20-slim\nCMD node x.js\n', '', /exec-form JSON array/],
    [
      'an absolute path in RUN',
      'FROM node:20-slim\nRUN cat /etc/hostname\nCMD ["node"]\n',
      '',
      /relative to WORKDIR/,
    ],
    ['a COPY wildcard', 'FROM node:20-slim\nCOPY *.txt ./\nCMD ["node"]\n', '', /wildcards/],
    ['a .dockerignore exception', 'FROM node:20-slim\nCMD ["node"]\n', '!keep\n', /exceptions/],
  ])('refuses %s instead of guessing', async (_what, dockerfile, dockerignore, message) => {
    const result = await emulate(dockerfile, dockerignore);
    expect(result.code).not.toBe(0);
    expect(result.output).toMatch(message);
  });
});

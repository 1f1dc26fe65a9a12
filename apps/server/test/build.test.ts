/**
 * `pnpm build` (each app's `build` script) and the production start, `node apps/server/dist/main.js`: the
 * bundle and its source map exist, the workspace packages are inside it and the app's dependencies outside, the
 * built server serves the API, the web checkout and /readyz from dist/ (Lua scripts and pages copied there), and
 * SIGTERM to that node process lets a request in flight finish before it exits 0 (README.md "Deploying").
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startSandbox, type RunningSandbox } from '@mp-pay/sandbox';
import { SANDBOX_DEMO } from '@mp-pay/shared/wechatpay';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signInAt, startBuilt, type BuiltProcess } from './helpers/built-process.ts';
import { freePort } from './helpers/free-port.ts';
import { dropPrefix, TEST_REDIS_URL, uniquePrefix, waitFor } from './helpers/redis.ts';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const SERVER_DIR = join(REPO, 'apps/server');
const SANDBOX_DIR = join(REPO, 'apps/sandbox');

/** Runs an app's `build` script exactly as `pnpm build` does: its package.json command, node_modules/.bin first. */
async function buildApp(dir: string): Promise<string> {
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { scripts: { build: string } };
  const { stdout } = await promisify(execFile)('sh', ['-c', pkg.scripts.build], {
    cwd: dir,
    env: { ...process.env, PATH: `${join(dir, 'node_modules/.bin')}:${process.env.PATH ?? ''}` },
  });
  return stdout;
}

describe('pnpm build', () => {
  beforeAll(async () => {
    await Promise.all([buildApp(SERVER_DIR), buildApp(SANDBOX_DIR)]);
  }, 60_000);

  it.each([
    ['server', SERVER_DIR],
    ['sandbox', SANDBOX_DIR],
  ])('bundles the %s into dist/main.js with a source map back to the TypeScript', (_name, dir) => {
    const main = readFileSync(join(dir, 'dist/main.js'), 'utf8');
    expect(main.trimEnd().endsWith('//# sourceMappingURL=main.js.map')).toBe(true);
    const map = JSON.parse(readFileSync(join(dir, 'dist/main.js.map'), 'utf8')) as { sources: string[] };
    expect(map.sources).toContain('../src/main.ts');
    // @mp-pay/shared exports TypeScript source: it is bundled, not imported at run time.
    expect(map.sources.some((s) => s.startsWith('../../../packages/shared/src/'))).toBe(true);
    expect(main).not.toMatch(/from ["']@mp-pay\//);
    // The app's own dependencies stay imports, installed by `pnpm deploy --prod` next to dist/.
    expect(main).toMatch(/from "koa"/);
    expect(main).toMatch(/from "zod"/);
  });

  it('copies what the server reads at run time into dist/', () => {
    for (const file of [
      'lua/create-order.lua',
      'lua/lib/transition.lua',
      'catalog/products.json',
      'web/index.html',
    ]) {
      expect(existsSync(join(SERVER_DIR, 'dist', file)), file).toBe(true);
    }
    const main = readFileSync(join(SERVER_DIR, 'dist/main.js'), 'utf8');
    expect(main).toContain('new URL("./lua/", import.meta.url)');
    expect(main).toContain('new URL("./web/", import.meta.url)');
  });

  describe('node apps/server/dist/main.js', () => {
    let sandbox: RunningSandbox;
    let server: BuiltProcess;
    let url: string;
    const prefix = uniquePrefix('build');

    beforeAll(async () => {
      sandbox = await startSandbox({ port: 0, timeScale: 1000 });
      server = startBuilt({
        cwd: REPO,
        args: ['apps/server/dist/main.js'],
        // Sandbox mode against the sandbox above (NODE_ENV=production refuses a sandbox: test/deploy.test.ts
        // runs the image's configuration shape instead). Variables set here win over a developer's .env.
        env: {
          NODE_ENV: 'test',
          PORT: '0',
          LOG_LEVEL: 'info',
          LOG_FORMAT: 'json',
          SANDBOX_PORT: new URL(sandbox.url).port,
          SANDBOX_TLS_PORT: new URL(sandbox.tlsUrl).port,
          REDIS_URL: TEST_REDIS_URL,
          REDIS_PREFIX: prefix,
          ORDER_QUERY_DELAY_MS: '60000',
        },
      });
      url = await server.url;
    }, 30_000);

    afterAll(async () => {
      server?.kill();
      await sandbox?.close();
      await dropPrefix(prefix);
    });

    it('serves the API, the web checkout and /readyz', async () => {
      const products = await fetch(`${url}/api/products`);
      expect(products.status).toBe(200);
      expect(((await products.json()) as { products: unknown[] }).products.length).toBeGreaterThan(0);

      const shop = await fetch(`${url}/shop/`);
      expect(shop.status).toBe(200);
      expect(shop.headers.get('content-type')).toMatch(/^text\/html/);
      expect(await shop.text()).toMatch(/<html/i);

      const ready = await fetch(`${url}/readyz`);
      expect(ready.status, await ready.clone().text()).toBe(200);
      expect(await ready.json()).toMatchObject({ store: 'redis' });
    });

    it('on SIGTERM finishes the order in flight, then exits 0', async () => {
      const token = await signInAt(url, sandbox.url, SANDBOX_DEMO.appId, 'build-buyer');

      // WeChat answers the unified order slowly: the order request is inside the server when SIGTERM arrives.
      const faults = await fetch(`${sandbox.url}/sandbox/faults`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ mch_id: SANDBOX_DEMO.mchId, faults: { slowReplyMs: 1500 } }),
      });
      expect(faults.status).toBe(200);
      const inFlight = fetch(`${url}/api/orders`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ items: [{ productId: 'green-tea', quantity: 1 }] }),
      });
      const redis = new Redis(TEST_REDIS_URL);
      try {
        await waitFor(async () => {
          let cursor = '0';
          do {
            const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*order:*`, 'COUNT', 1000);
            if (keys.length > 0) return true;
            cursor = next;
          } while (cursor !== '0');
          return false;
        }, 'the order to be stored (the unified order then waits at the sandbox)');
      } finally {
        redis.disconnect();
      }

      const sentAt = Date.now();
      expect(server.child.kill('SIGTERM')).toBe(true);
      const res = await inFlight;
      expect(res.status, await res.clone().text()).toBe(201);
      expect(((await res.json()) as { payment: { kind: string } }).payment.kind).toBe('jsapi');

      const exit = await server.exited;
      expect(exit, server.stderr.join('\n')).toEqual({ code: 0, signal: null });
      expect(Date.now() - sentAt).toBeLessThan(10_000);
      await expect(fetch(`${url}/healthz`)).rejects.toThrow();
    });
  });

  it('node apps/sandbox/dist/main.js starts and stops on SIGTERM', async () => {
    const [port, tlsPort] = [await freePort(), await freePort()];
    const sandbox = startBuilt({
      cwd: REPO,
      args: ['apps/sandbox/dist/main.js'],
      env: { NODE_ENV: 'test', SANDBOX_PORT: String(port), SANDBOX_TLS_PORT: String(tlsPort) },
      findUrl: (line) => /listening on (http:\/\/\S+)/.exec(line)?.[1],
    });
    try {
      const base = await sandbox.url;
      const key = await fetch(`${base}/sandbox/v3/public-key`);
      expect(key.status).toBe(200);
      sandbox.child.kill('SIGTERM');
      expect(await sandbox.exited).toEqual({ code: 0, signal: null });
    } finally {
      sandbox.kill();
    }
  });
});

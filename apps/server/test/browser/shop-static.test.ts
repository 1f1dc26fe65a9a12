/**
 * The web checkout's static route (src/routes/web): redirects, content types, caching, the CSP, and that no
 * request path reaches a file outside apps/web/public. Plain HTTP; the browser suites drive the pages.
 */
import { request } from 'node:http';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { contentSecurityPolicy } from '../../src/routes/web/index.ts';
import { findStaticFile } from '../../src/routes/web/static-files.ts';
import { startStack, type Stack } from '../helpers/stack.ts';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ label: 'shop-static', redis: false });
});
afterAll(async () => stack?.close());

/** A request with the path sent exactly as written (fetch would normalise `..` away). */
function raw(path: string, method = 'GET', headers: Record<string, string> = {}) {
  const url = new URL(stack.server.url);
  return new Promise<{
    status: number;
    headers: Record<string, string | string[] | undefined>;
    body: string;
  }>((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path, method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString(),
        }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

describe('GET /shop/', () => {
  test('/ and /shop redirect to /shop/', async () => {
    for (const path of ['/', '/shop']) {
      const res = await raw(path);
      expect(res.status).toBe(302);
      expect(res.headers.location).toBe('/shop/');
    }
  });

  test('serves index.html with its type, no-cache, an ETag and the CSP', async () => {
    const res = await raw('/shop/');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.headers['cache-control']).toBe('no-cache');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.body).toContain('<script type="module" src="app.js"></script>');
    const csp = String(res.headers['content-security-policy']);
    const sandbox = new URL(stack.sandbox.url).origin;
    expect(csp).toContain(`script-src 'self' ${sandbox}`);
    expect(csp).toContain(`connect-src 'self' ${sandbox}`);
    expect(csp).toContain("frame-ancestors 'none'");

    const again = await raw('/shop/index.html', 'GET', { 'if-none-match': String(res.headers.etag) });
    expect(again.status).toBe(304);
    expect(again.body).toBe('');
  });

  test.each([
    ['app.js', 'text/javascript; charset=utf-8'],
    ['channel.js', 'text/javascript; charset=utf-8'],
    ['style.css', 'text/css; charset=utf-8'],
    ['result.html', 'text/html; charset=utf-8'],
    ['pay.html', 'text/html; charset=utf-8'],
  ])('%s is %s', async (file, type) => {
    const res = await raw(`/shop/${file}`);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe(type);
    expect(res.body.length).toBeGreaterThan(0);
  });

  test('HEAD answers the headers without the body; other methods are not served', async () => {
    const head = await raw('/shop/app.js', 'HEAD');
    expect(head.status).toBe(200);
    expect(Number(head.headers['content-length'])).toBeGreaterThan(0);
    expect(head.body).toBe('');
    const post = await raw('/shop/app.js', 'POST');
    expect(post.status).toBeGreaterThanOrEqual(400);
  });

  test.each([
    '/shop/../package.json',
    '/shop/../../../package.json',
    '/shop/..%2fpackage.json',
    '/shop/%2e%2e/package.json',
    '/shop/%2E%2E%2F%2E%2E%2Fpackage.json',
    '/shop/..%5c..%5cpackage.json',
    '/shop/..\\package.json',
    '/shop/index.html%00.js',
    '/shop/%252e%252e/package.json',
    '/shop//etc/passwd',
    '/shop/.gitignore',
    '/shop/nope.html',
    '/shop/%E0%A4%A',
  ])('%s → 404 not_found', async (path) => {
    const res = await raw(path);
    expect(res.status).toBe(404);
    expect(JSON.parse(res.body)).toMatchObject({ error: 'not_found' });
  });
});

describe('findStaticFile', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mp-pay-static-'));
    await mkdir(join(dir, 'public', 'sub'), { recursive: true });
    await mkdir(join(dir, 'public-secret'), { recursive: true });
    await writeFile(join(dir, 'public', 'index.html'), '<p>');
    await writeFile(join(dir, 'public', 'sub', 'page.html'), '<p>');
    await writeFile(join(dir, 'public', 'data.bin'), 'x');
    await writeFile(join(dir, 'public-secret', 'key.html'), 'secret');
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  test('finds files and folder indexes inside the root only', async () => {
    const root = join(dir, 'public');
    expect((await findStaticFile(root, ''))?.path).toBe(join(root, 'index.html'));
    expect((await findStaticFile(root, 'sub/page.html'))?.contentType).toBe('text/html; charset=utf-8');
    expect(await findStaticFile(root, 'sub')).toBeUndefined(); // a folder is not a file
    expect(await findStaticFile(root, 'data.bin')).toBeUndefined(); // not a type the shop ships
    // A sibling folder sharing the root's name as a prefix is outside it.
    expect(await findStaticFile(root, '../public-secret/key.html')).toBeUndefined();
    expect(await findStaticFile(root, 'sub/../../public-secret/key.html')).toBeUndefined();
  });
});

test('the CSP names the sandbox only in sandbox mode', () => {
  const live = contentSecurityPolicy(undefined);
  expect(live).toContain("script-src 'self';");
  expect(live).not.toContain('unsafe-inline');
  const sandbox = contentSecurityPolicy('http://127.0.0.1:4010/');
  expect(sandbox).toContain("script-src 'self' http://127.0.0.1:4010;");
  expect(sandbox).toContain("style-src-attr 'unsafe-inline'");
});

/**
 * `pnpm build` for the sandbox: `dist/main.js` (+ source map), started with `node apps/sandbox/dist/main.js`.
 * The bundling rules are the server's (apps/server/scripts/build.ts). The only files of its own it reads at run
 * time are the console page's (src/console/static, copied to dist/console); it resolves the checkout's .env
 * and the relative key paths of its settings against the repository root, which is as far from dist/main.js
 * as from src/.
 */
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleApp } from '../../server/scripts/build.ts';

const SANDBOX_DIR = fileURLToPath(new URL('..', import.meta.url));
const REPO_ROOT = resolve(SANDBOX_DIR, '../..');

await bundleApp({
  appDir: SANDBOX_DIR,
  entry: 'src/main.ts',
  assets: [{ from: join(SANDBOX_DIR, 'src/console/static'), to: 'console' }],
  runtime: [join(REPO_ROOT, '.env'), REPO_ROOT],
});

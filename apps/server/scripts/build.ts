/**
 * `pnpm build` for the server: one ESM bundle, `dist/main.js` (+ `main.js.map`), that production starts with
 * `node apps/server/dist/main.js` (README.md "Deploying"). `pnpm start` keeps running the TypeScript with tsx.
 *
 * `bundleApp` is shared with apps/sandbox/scripts/build.ts. What goes where:
 * - the workspace packages (@mp-pay/shared, @mp-pay/web, which export TypeScript source) are bundled in, and so
 *   is whatever third-party code only they depend on (fast-xml-parser): `pnpm deploy --prod` installs it below
 *   the workspace package, where dist/main.js could not resolve it;
 * - the app's own third-party dependencies (package.json `dependencies`) stay external: `pnpm deploy --prod`
 *   installs them next to dist/; pino-pretty in particular is loaded by name at run time (src/logger.ts, and
 *   pino's transports load theirs in worker threads), which a bundle cannot serve;
 * - files read at run time through `new URL('<relative path>', import.meta.url)` (the Lua scripts, the
 *   catalogue, the web checkout's pages) are copied into dist/ and the URL in the bundle is rewritten to the
 *   copy, so the same source works under tsx and bundled. Paths meant to stay outside (the checkout's .env) are
 *   listed as `runtime` and keep pointing at the same file: dist/main.js is as deep in the app as src/main.ts.
 *   `createRequire(import.meta.url)` (packages by name, e.g. pino-pretty) resolves the app's node_modules from
 *   either place. Any other use of import.meta.url, __dirname or __filename stops the build: add it to `assets`
 *   or `runtime`.
 */
import { cpSync, readFileSync, rmSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { dirname, join, posix, relative, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build, type Plugin } from 'esbuild';

export interface AppBundle {
  /** The app's package folder (package.json, src/). */
  appDir: string;
  /** Entry, relative to appDir. */
  entry: string;
  /** Folders read at run time, copied to `dist/<to>`. */
  assets: { from: string; to: string }[];
  /** Paths resolved at run time against the checkout, left where they are. */
  runtime: string[];
}

const URL_RE = /new URL\(\s*(['"])([^'"]+)\1\s*,\s*import\.meta\.url\s*\)/g;
/** A require() of packages from the module's folder: resolves the same node_modules from src/ and dist/. */
const REQUIRE_RE = /createRequire\(\s*import\.meta\.url\s*\)/g;
const LEFTOVER_RE = /import\.meta\.(?:url|dirname|filename)|\b__dirname\b|\b__filename\b/g;

/** Banner: bundled CommonJS may call require(); stack traces point into src/ through the source map. */
const BANNER = [
  "import { createRequire as __mpPayCreateRequire } from 'node:module';",
  'const require = __mpPayCreateRequire(import.meta.url);',
  'process.setSourceMapsEnabled(true);',
].join('\n');

export async function bundleApp(app: AppBundle): Promise<void> {
  const dist = join(app.appDir, 'dist');
  const pkg = JSON.parse(readFileSync(join(app.appDir, 'package.json'), 'utf8')) as {
    name: string;
    dependencies?: Record<string, string>;
  };
  const external = new Set(
    Object.entries(pkg.dependencies ?? {})
      .filter(([, version]) => !version.startsWith('workspace:'))
      .map(([name]) => name),
  );
  const usedAssets = new Set<string>();

  rmSync(dist, { recursive: true, force: true });
  const result = await build({
    entryPoints: [join(app.appDir, app.entry)],
    outfile: join(dist, 'main.js'),
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    sourcemap: true,
    banner: { js: BANNER },
    metafile: true,
    logLevel: 'warning',
    plugins: [externals(external), runtimeFiles(app, dist, usedAssets)],
  });
  if (result.errors.length > 0) throw new Error(`${pkg.name}: build failed`);

  for (const asset of app.assets) {
    if (!usedAssets.has(asset.from)) {
      throw new Error(`${pkg.name}: asset ${asset.from} is declared but no module reads it; remove it`);
    }
    cpSync(asset.from, join(dist, asset.to), { recursive: true });
  }

  const imports = new Set<string>();
  for (const output of Object.values(result.metafile.outputs)) {
    for (const imported of output.imports) if (imported.external) imports.add(imported.path);
  }
  const thirdParty = [...imports].filter((name) => !isBuiltin(name)).sort();
  console.log(
    `${pkg.name}: ${relative(process.cwd(), join(dist, 'main.js'))} (+ .map), ` +
      `assets: ${app.assets.map((a) => `${a.to}/`).join(' ') || 'none'}, ` +
      `external: ${thirdParty.join(' ') || 'none'}`,
  );
}

/** Bare imports of the app's own dependencies stay imports; everything else is bundled. */
function externals(names: ReadonlySet<string>): Plugin {
  return {
    name: 'app-dependencies-external',
    setup(b) {
      b.onResolve({ filter: /^[^./]/ }, (args) => {
        if (isBuiltin(args.path)) return { path: args.path, external: true };
        const parts = args.path.split('/');
        const name = args.path.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] as string);
        return names.has(name) ? { path: args.path, external: true } : undefined;
      });
    },
  };
}

/** Rewrites `new URL('<relative>', import.meta.url)` in our own modules for the bundle's location. */
function runtimeFiles(app: AppBundle, dist: string, usedAssets: Set<string>): Plugin {
  return {
    name: 'runtime-files',
    setup(b) {
      b.onLoad({ filter: /\.ts$/ }, (args) => {
        if (args.path.includes(`${sep}node_modules${sep}`)) return undefined;
        const source = readFileSync(args.path, 'utf8');
        const problems: string[] = [];
        const where = (index: number) =>
          `${relative(process.cwd(), args.path)}:${source.slice(0, index).split('\n').length}`;
        const contents = source.replace(URL_RE, (match, _quote: string, rel: string, index: number) => {
          const slash = rel.endsWith('/') ? '/' : '';
          const target = resolve(dirname(args.path), rel);
          const asset = app.assets.find((a) => target === a.from || target.startsWith(a.from + sep));
          let rewritten: string;
          if (asset) {
            usedAssets.add(asset.from);
            rewritten = posix.join('.', asset.to, ...relative(asset.from, target).split(sep));
          } else if (app.runtime.includes(target)) {
            rewritten = relative(dist, target).split(sep).join('/') || '.';
          } else {
            problems.push(`${where(index)}: ${match} is read at run time; list it in the build's assets`);
            return match;
          }
          if (!rewritten.startsWith('.')) rewritten = `./${rewritten}`;
          return `new URL(${JSON.stringify(rewritten.replace(/\/$/, '') + slash)}, import.meta.url)`;
        });
        for (const leftover of contents.replace(URL_RE, '').replace(REQUIRE_RE, '').matchAll(LEFTOVER_RE)) {
          problems.push(
            `${relative(process.cwd(), args.path)}: ${leftover[0]} cannot be rewritten for dist/`,
          );
        }
        if (problems.length > 0) return { errors: problems.map((text) => ({ text })) };
        return { contents, loader: 'ts' };
      });
    },
  };
}

const SERVER_DIR = fileURLToPath(new URL('..', import.meta.url));
const REPO_ROOT = resolve(SERVER_DIR, '../..');

export const SERVER_BUNDLE: AppBundle = {
  appDir: SERVER_DIR,
  entry: 'src/main.ts',
  assets: [
    { from: join(SERVER_DIR, 'src/store/lua'), to: 'lua' },
    { from: join(SERVER_DIR, 'src/catalog'), to: 'catalog' },
    { from: join(REPO_ROOT, 'apps/web/public'), to: 'web' },
  ],
  // The checkout's .env, read when it exists (none in the image: configuration comes from the environment).
  runtime: [join(REPO_ROOT, '.env')],
};

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await bundleApp(SERVER_BUNDLE);
}

/**
 * WXML and WXSS through WeChat's own compilers, wcc and wcsc, as shipped (Linux, macOS and Windows binaries)
 * in the miniprogram-compiler package: the same compilers DevTools runs, so a template DevTools would reject
 * fails here too. The package's wxssToJs swallows wcsc's error and then crashes parsing it, so WXSS goes
 * through its lower-level wcsc wrapper, which returns the compiler's message.
 */
import { accessSync, chmodSync, constants } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import vm from 'node:vm';
import { listFiles, readAppJson } from './miniprogram-files.ts';

const require = createRequire(import.meta.url);

interface CompilerPackage {
  wxmlToJs(root: string): string;
}
type Wcsc = (root: string, files: string[]) => Record<string, string> | Error;

const compiler = require('miniprogram-compiler') as CompilerPackage;
const wcsc = require('miniprogram-compiler/src/wcsc.js') as Wcsc;

function binaryDir(): string {
  const pkgDir = dirname(require.resolve('miniprogram-compiler/package.json'));
  const platform = process.platform === 'darwin' ? 'mac' : process.platform === 'win32' ? 'windows' : 'linux';
  return join(pkgDir, 'bin', platform);
}

/**
 * The package installs its binaries without the executable bit and sets it on first use, ignoring failure;
 * a read-only store would then fail with a bare EACCES. Check up front and say what to do.
 */
export function ensureExecutable(): void {
  if (process.platform === 'win32') return;
  for (const name of ['wcc', 'wcsc']) {
    const file = join(binaryDir(), name);
    try {
      accessSync(file, constants.X_OK);
    } catch {
      try {
        chmodSync(file, 0o755);
      } catch (err) {
        throw new Error(
          `${file} is not executable and chmod failed (${String(err)}). Fix: chmod +x ${file}`,
          {
            cause: err,
          },
        );
      }
    }
  }
}

/** Compiles every .wxml under root with wcc; returns problems (compiler errors, pages without a template). */
export function compileWxml(root: string): string[] {
  ensureExecutable();
  let code: string;
  try {
    code = compiler.wxmlToJs(root);
  } catch (err) {
    return [err instanceof Error ? err.message : String(err)];
  }
  // Load the generated module the way the render layer would, and make sure every page got a template.
  const context = vm.createContext({ window: {}, __wxAppCode__: {} });
  const gwx = vm.runInContext(`(function (global) {${code}\n})({})`, context) as (path: string) => unknown;
  const problems: string[] = [];
  for (const page of readAppJson(root).pages) {
    if (typeof gwx(`${page}.wxml`) !== 'function') problems.push(`wcc produced no template for ${page}.wxml`);
  }
  return problems;
}

/** Compiles every .wxss under root with wcsc; returns the compiler's error, if any. */
export function compileWxss(root: string): string[] {
  ensureExecutable();
  const files = listFiles(root, '.wxss').map((f) => f.slice(0, -'.wxss'.length));
  if (files.length === 0) return [];
  const result = wcsc(root, files);
  return result instanceof Error ? [result.message] : [];
}

/**
 * Compiles miniprogram/ the way DevTools does before it runs: each .ts file on its own to a CommonJS .js file
 * beside the .wxml/.wxss/.json, imports left as require() of the same relative paths. miniprogram-simulate
 * then loads pages from there with Node's require, and renders them with templates compiled by WeChat's wcc.
 * It runs once per test run in vitest's global setup (in Node: esbuild refuses to run inside jsdom); test files
 * get the directory through inject('miniprogramRoot').
 */
import { build } from 'esbuild';
import { cpSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { listFiles, MINIPROGRAM_ROOT } from '../../scripts/miniprogram-files.ts';

/** Compiles miniprogram/ into a new temporary directory and returns it. */
export async function compileMiniprogram(): Promise<string> {
  const root = mkdtempSync(join(tmpdir(), 'mp-pay-miniprogram-'));
  await build({
    entryPoints: listFiles(MINIPROGRAM_ROOT, '.ts').map((f) => join(MINIPROGRAM_ROOT, f)),
    outbase: MINIPROGRAM_ROOT,
    outdir: root,
    bundle: false,
    format: 'cjs',
    platform: 'neutral',
    target: 'es2020',
    logLevel: 'silent',
  });
  for (const ext of ['.wxml', '.wxss', '.json']) {
    for (const f of listFiles(MINIPROGRAM_ROOT, ext)) {
      mkdirSync(dirname(join(root, f)), { recursive: true });
      cpSync(join(MINIPROGRAM_ROOT, f), join(root, f));
    }
  }
  return root;
}

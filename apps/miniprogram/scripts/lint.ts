/**
 * `pnpm lint` for the mini-program: everything DevTools would complain about, without DevTools.
 * 1. miniprogram/generated/api.ts matches @mp-pay/shared/api;
 * 2. every page in app.json has its four files;
 * 3. no module reference leaves the mini-program root, and no TypeScript syntax DevTools may not parse;
 * 4. WXML compiles with wcc and WXSS with wcsc (WeChat's own compilers).
 * (Types are checked by `pnpm typecheck`.)
 */
import { currentCopy, expectedCopy } from './shared-copy.ts';
import { checkPages, checkReferences, MINIPROGRAM_ROOT } from './miniprogram-files.ts';
import { compileWxml, compileWxss } from './wechat-compiler.ts';

const checks: [string, () => string[]][] = [
  [
    'generated/api.ts is in sync with @mp-pay/shared/api',
    () =>
      currentCopy() === expectedCopy()
        ? []
        : ['miniprogram/generated/api.ts is stale. Fix: pnpm --filter @mp-pay/miniprogram sync-shared'],
  ],
  ['pages in app.json are complete', () => checkPages(MINIPROGRAM_ROOT)],
  [
    'module references stay inside miniprogram/, syntax DevTools can parse',
    () => checkReferences(MINIPROGRAM_ROOT),
  ],
  ['WXML compiles (wcc)', () => compileWxml(MINIPROGRAM_ROOT)],
  ['WXSS compiles (wcsc)', () => compileWxss(MINIPROGRAM_ROOT)],
];

let failed = false;
for (const [name, run] of checks) {
  const problems = run();
  if (problems.length === 0) {
    console.log(`ok   ${name}`);
  } else {
    failed = true;
    console.error(`FAIL ${name}`);
    for (const p of problems) console.error(`     ${p}`);
  }
}
process.exit(failed ? 1 : 0);

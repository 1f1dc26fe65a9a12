/**
 * Keeps miniprogram/generated/api.ts, the mini-program's copy of @mp-pay/shared/api, current.
 *
 *   tsx scripts/sync-shared.ts                  write the copy if it is stale (`pnpm sync-shared`)
 *   tsx scripts/sync-shared.ts --for-devtools   the same, run by `pnpm start` / `pnpm dev` at the repo root
 *   tsx scripts/sync-shared.ts --check          only compare; exit 1 with the fix when stale (typecheck)
 *
 * Why the copy is refreshed on start and only checked elsewhere: `pnpm start` is what a developer runs before
 * opening DevTools, the one consumer of the copy, and CI never runs it. Lint, typecheck and the tests never
 * write the file: if they did, CI (which runs them on a fresh clone) would repair a stale committed copy on the
 * fly and pass, and a developer importing the committed folder into DevTools would get the stale contract.
 */
import { writeFileSync } from 'node:fs';
import { currentCopy, expectedCopy, TARGET_PATH } from './shared-copy.ts';

const expected = expectedCopy();
const current = currentCopy();
const devtools = process.argv.includes('--for-devtools');

if (process.argv.includes('--check')) {
  if (current !== expected) {
    console.error(
      `${TARGET_PATH} is out of date with @mp-pay/shared/api.\n` +
        'Fix: pnpm --filter @mp-pay/miniprogram sync-shared (or pnpm start), then commit the file.',
    );
    process.exit(1);
  }
} else if (current === expected) {
  console.log(
    devtools
      ? 'miniprogram: contract copy is current; open apps/miniprogram in WeChat DevTools'
      : 'miniprogram/generated/api.ts is already up to date',
  );
} else {
  writeFileSync(TARGET_PATH, expected);
  console.log(
    `miniprogram: wrote ${TARGET_PATH} from @mp-pay/shared/api (commit it with your contract change)` +
      (devtools ? '; open apps/miniprogram in WeChat DevTools' : ''),
  );
}

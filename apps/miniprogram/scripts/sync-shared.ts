/**
 * Writes miniprogram/generated/api.ts from @mp-pay/shared/api, or with --check fails when it is stale.
 * Usage: tsx scripts/sync-shared.ts [--check]
 */
import { writeFileSync } from 'node:fs';
import { currentCopy, expectedCopy, TARGET_PATH } from './shared-copy.ts';

const expected = expectedCopy();
const current = currentCopy();

if (process.argv.includes('--check')) {
  if (current !== expected) {
    console.error(
      `${TARGET_PATH} is out of date with @mp-pay/shared/api.\n` +
        'Fix: pnpm --filter @mp-pay/miniprogram sync-shared',
    );
    process.exit(1);
  }
  console.log('miniprogram/generated/api.ts matches @mp-pay/shared/api');
} else if (current === expected) {
  console.log('miniprogram/generated/api.ts is already up to date');
} else {
  writeFileSync(TARGET_PATH, expected);
  console.log(`wrote ${TARGET_PATH}`);
}

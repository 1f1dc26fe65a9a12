/**
 * Issue 12's "pnpm demo covers APP": `pnpm demo --standalone --channel app` (its own sandbox and server on free
 * ports) walks a guest through an APP order, the OpenSDK's six fields checked and paid by the sandbox's APP
 * payer, the notification, PAID — in APIv2 and APIv3. The script exits non-zero if any step fails.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const script = fileURLToPath(new URL('../scripts/demo.ts', import.meta.url));

describe.each(['v2', 'v3'] as const)('pnpm demo --standalone --channel app (%s)', (version) => {
  it('pays an APP order through the sandbox to PAID', { timeout: 60_000 }, async () => {
    const { stdout } = await run(
      process.execPath,
      ['--import', 'tsx', script, '--standalone', '--channel', 'app'],
      {
        env: { ...process.env, WECHATPAY_API_VERSION: version, LOG_LEVEL: 'silent' },
        timeout: 50_000,
      },
    );
    expect(stdout).toMatch(/"kind":"app"/);
    expect(stdout).toMatch(/"package":"Sign=WXPay"/);
    expect(stdout).toMatch(/errCode\s+0/);
    expect(stdout).toMatch(/status\s+PAID/);
  });
});

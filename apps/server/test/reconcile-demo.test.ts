/**
 * The "done when": after a demo day (a buyer pays, the notification arrives) on the zero-config stack
 * (memory store), moving the sandbox clock to the next day and running `pnpm reconcile` prints a clean report,
 * for APIv2 and APIv3. With the memory store the script asks the running server to reconcile
 * (POST /admin/reconciliations/:date/run with the sandbox demo staff token).
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { beijingDate, beijingMidnight } from '../src/domain/beijing-date.ts';
import {
  createdOrder,
  json,
  payInSandbox,
  post,
  signIn,
  startStack,
  waitForStatus,
  type Stack,
} from './helpers/stack.ts';

const run = promisify(execFile);

describe.each(['v2', 'v3'] as const)('pnpm reconcile after a demo day (%s, memory store)', (version) => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({
      label: `reconcile-demo-${version}`,
      redis: false,
      env: { WECHATPAY_API_VERSION: version, WORKER_ENABLED: 'false' },
    });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('prints a clean report', { timeout: 60_000 }, async () => {
    const token = await signIn(stack, `demo-${version}`);
    const { order, payment } = await createdOrder(stack.server, token);
    expect(await payInSandbox(stack, payment)).toBe('requestPayment:ok');
    await waitForStatus(stack.server, order.id, 'PAID');
    // Only the sandbox's clock moves, as `curl -X POST …/sandbox/clock` does next to `pnpm start`.
    const clock = () => fetch(`${stack.sandbox.url}/sandbox/clock`).then((r) => json<{ now: string }>(r));
    const now = Date.parse((await clock()).now);
    const day = beijingDate(now);
    const ahead = beijingMidnight(day) + 86_400_000 + 11 * 3_600_000 - now;
    await fetch(`${stack.sandbox.url}/sandbox/clock`, post({ advance_ms: ahead }));
    const script = fileURLToPath(new URL('../scripts/reconcile.ts', import.meta.url));
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      MP_PAY_SERVER_URL: stack.server.url,
      SANDBOX_PORT: new URL(stack.sandbox.url).port,
      SANDBOX_TLS_PORT: new URL(stack.sandbox.tlsUrl).port,
      WECHATPAY_API_VERSION: version,
    };
    delete env.REDIS_URL;
    delete env.REDIS_CLUSTER_NODES;
    // No --date: yesterday on the sandbox's clock, the demo's day.
    const { stdout } = await run(process.execPath, ['--import', 'tsx', script], { env, timeout: 50_000 });
    expect(stdout).toContain(`Reconciliation ${day}`);
    expect(stdout).toContain('CLEAN');
    expect(stdout).toMatch(/matched 1 {2}paid_not_here 0/);
    expect(stdout).toMatch(/summary line matches the rows/);
  });
});

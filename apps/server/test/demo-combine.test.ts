/**
 * `pnpm demo --standalone --combine` (its own sandbox and server on free ports, in APIv3 whatever the
 * environment says): a cart of two merchants' goods becomes one order with a sub-order per merchant, paid by one
 * combine payment and one notification, each sub-order PAID with its own transaction id. With --refund, staff
 * refund the other merchant's sub-order and the order is PARTIALLY_REFUNDED. The script exits non-zero if any
 * step fails.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const script = fileURLToPath(new URL('../scripts/demo.ts', import.meta.url));

function demo(...args: string[]) {
  return run(process.execPath, ['--import', 'tsx', script, '--standalone', '--combine', ...args], {
    // APIv2 in the environment: --combine must still run the server in APIv3.
    env: { ...process.env, WECHATPAY_API_VERSION: 'v2', LOG_LEVEL: 'silent' },
    timeout: 50_000,
  });
}

/** The `sub-order` lines the demo printed, in order. */
const subOrderLines = (stdout: string) =>
  stdout
    .split('\n')
    .filter((line) => /^\s+sub-order\s/.test(line))
    .map((line) => line.replace(/^\s+sub-order\s+/, ''));

describe('pnpm demo --standalone --combine', () => {
  it('pays a two-merchant cart with one combine: two sub-orders PAID', { timeout: 60_000 }, async () => {
    const { stdout } = await demo();
    expect(stdout).toMatch(/WeChat Pay v3\)/);
    expect(stdout).toMatch(/one payment for 2 merchants/);
    const lines = subOrderLines(stdout);
    // Placed: each sub-order with its own out_trade_no, merchant and amount, pending.
    const placed = lines.filter((l) => l.endsWith(' PENDING'));
    expect(placed).toHaveLength(2);
    const mchids = placed.map((l) => l.split(' ')[1]);
    expect(new Set(mchids).size).toBe(2);
    // Paid: both, each with a transaction id of its own.
    const paid = lines.filter((l) => /: PAID, transaction \d{28}$/.test(l));
    expect(paid).toHaveLength(2);
    const transactions = paid.map((l) => l.slice(-28));
    expect(transactions[0]).not.toBe(transactions[1]);
    expect(stdout).toMatch(/notify #1\s+acknowledged \(HTTP 20\d\)/);
    expect(stdout).toMatch(/status\s+PAID/);
    expect(stdout).toMatch(/Done: the order is PAID/);
  });

  it('with --refund, refunds one merchant’s sub-order: PARTIALLY_REFUNDED', { timeout: 60_000 }, async () => {
    const { stdout } = await demo('--refund');
    expect(stdout).toMatch(/refund\s+\S+R01 SUCCESS/);
    expect(stdout).toMatch(/status\s+PARTIALLY_REFUNDED/);
    const after = subOrderLines(stdout).slice(-2);
    expect(after.map((l) => l.split(': ')[1]?.split(' ')[0])).toEqual(['PAID', 'REFUNDED']);
    expect(stdout).toMatch(/event\s+refund\.succeeded \S+R01/);
  });
});

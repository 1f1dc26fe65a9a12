/**
 * T+1 reconciliation end to end (docs/reconciliation.md): a real sandbox over HTTP, two real servers on one real
 * Redis (one APIv2, one APIv3: both API versions' trades land in one merchant bill), a day of activity with a
 * dropped notification, a console refund and a tampered bill amount; the sandbox clock moves to 10:30 Beijing
 * the next day and the day is reconciled through the admin API, then again through `pnpm reconcile` (spawned).
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SANDBOX_DEMO_COMBINE_SUB_MERCHANTS } from '@mp-pay/shared/wechatpay';
import { beijingDate, beijingMidnight } from '../src/domain/beijing-date.ts';
import { createGateway } from '../src/gateway/index.ts';
import type { ReconciliationReport } from '../src/services/reconcile/index.ts';
import {
  bearer,
  createdOrder,
  json,
  post,
  setFaults,
  signIn,
  startStack,
  waitForStatus,
  type Stack,
} from './helpers/stack.ts';
import { TEST_REDIS_URL } from './helpers/redis.ts';

const TOKEN = 'recon-token-0123456789abcdefghijklmnopqrstu';
const run = promisify(execFile);

describe('reconciliation of a sandbox day', () => {
  let stack: Stack;
  let day: string;
  const ids: Record<string, { orderId: string; outTradeNo: string; totalFen: number }> = {};

  const admin = (server = stack.server) => ({
    run: (date: string) =>
      fetch(`${server.url}/admin/reconciliations/${date}/run`, { method: 'POST', headers: bearer(TOKEN) }),
    get: (path: string) => fetch(`${server.url}/admin/reconciliations/${path}`, { headers: bearer(TOKEN) }),
  });

  /** `pnpm reconcile` (the script, spawned) against this stack's Redis and sandbox. */
  const cli = async (args: string[], extraEnv: Record<string, string> = {}) => {
    const script = fileURLToPath(new URL('../scripts/reconcile.ts', import.meta.url));
    return run(process.execPath, ['--import', 'tsx', script, ...args], {
      env: {
        ...process.env,
        NODE_ENV: 'test',
        REDIS_URL: TEST_REDIS_URL,
        REDIS_PREFIX: stack.prefix,
        SANDBOX_PORT: new URL(stack.sandbox.url).port,
        SANDBOX_TLS_PORT: new URL(stack.sandbox.tlsUrl).port,
        ...extraEnv,
      },
      timeout: 60_000,
    }).then(
      (ok) => ({ code: 0, stdout: ok.stdout, stderr: ok.stderr }),
      (err: { code: number; stdout: string; stderr: string }) => ({
        code: err.code,
        stdout: err.stdout,
        stderr: err.stderr,
      }),
    );
  };

  const sandboxNow = async () =>
    Date.parse((await json<{ now: string }>(await fetch(`${stack.sandbox.url}/sandbox/clock`))).now);

  beforeAll(async () => {
    stack = await startStack({
      label: 'reconcile',
      servers: 2,
      // No background worker: only reconciliation may find the dropped payment.
      env: { ADMIN_TOKENS: `finance:${TOKEN}`, WORKER_ENABLED: 'false' },
      serverEnv: [{}, { WECHATPAY_API_VERSION: 'v3' }],
    });
    const [v2, v3] = stack.servers as [Stack['server'], Stack['server']];
    const buy = async (
      name: string,
      server: Stack['server'],
      setup?: (outTradeNo: string) => Promise<void>,
    ) => {
      const token = await signIn(stack, `recon-${name}`, server);
      const { order, payment } = await createdOrder(server, token);
      await setup?.(order.outTradeNo);
      const res = await fetch(
        `${stack.sandbox.url}/sandbox/pay`,
        post({ appId: server.config.wechat.appId, ...pick(payment), outcome: 'success' }),
      );
      expect((await json<{ errMsg: string }>(res)).errMsg).toBe('requestPayment:ok');
      ids[name] = { orderId: order.id, outTradeNo: order.outTradeNo, totalFen: order.totalFen };
    };
    await buy('plainV2', v2);
    await buy('plainV3', v3);
    await buy('dropped', v2, (no) => setFaults(stack, { out_trade_no: no }, { dropNotifications: true }));
    await buy('refunded', v3);
    await buy('tampered', v2);
    // A bug marks an order paid that WeChat never charged (written straight to the store, as a bug would).
    const wrongToken = await signIn(stack, 'recon-wrong', v2);
    const wrong = (await createdOrder(v2, wrongToken)).order;
    ids.wrong = { orderId: wrong.id, outTradeNo: wrong.outTradeNo, totalFen: wrong.totalFen };
    await v2.store.attempts.markPaid(wrong.outTradeNo, {
      transactionId: '4200000000000000000000000000',
      totalFen: wrong.totalFen,
      paidAt: Date.now(),
      source: 'notify',
    });
    for (const name of ['plainV2', 'plainV3', 'refunded', 'tampered']) {
      await waitForStatus(stack.server, ids[name]!.orderId, 'PAID');
    }
    expect((await stack.server.store.orders.getOrder(ids.dropped!.orderId))?.status).toBe('PENDING');
    // Staff in the merchant console: a refund of 100 fen the shop never asked for, and a bill amount altered.
    const refund = await fetch(
      `${stack.sandbox.url}/sandbox/console/refunds`,
      post({ out_trade_no: ids.refunded!.outTradeNo, refund_fee: 100 }),
    );
    expect(refund.status, await refund.clone().text()).toBe(201);
    const tamper = await fetch(
      `${stack.sandbox.url}/sandbox/console/bill-tamper`,
      post({ out_trade_no: ids.tampered!.outTradeNo, total_fee: ids.tampered!.totalFen + 1 }),
    );
    expect([200, 201], await tamper.clone().text()).toContain(tamper.status);
    day = beijingDate(await sandboxNow());
  }, 60_000);
  afterAll(async () => {
    await stack?.close();
  });

  it(
    'before 10:00 the next day the bill is not ready; too old days get a clear message',
    { timeout: 60_000 },
    async () => {
      // The day is not over: in sandbox mode the sandbox's clock says so (Bill Creating).
      const early = await admin().run(day);
      expect(early.status).toBe(503);
      expect((await json<{ message: string }>(early)).message).toMatch(/still being made/);
      // `pnpm reconcile` checks the day on WeChat's clock (the sandbox's) before asking.
      const future = await cli(['--date', day]);
      expect(future.code).toBe(2);
      expect(future.stderr).toMatch(/is not over yet in Beijing/);
      const tooOld = await cli(['--date', '2020-01-01']);
      expect(tooOld.code).toBe(2);
      expect(tooOld.stderr).toMatch(/outside the three months WeChat keeps bills for/);
      const old = await admin().run('2020-01-01');
      expect(old.status).toBe(400);
      expect((await json<{ message: string }>(old)).message).toMatch(/outside the three months/);
      // Just past midnight Beijing: the day is over, WeChat is still making its bill.
      await stack.advanceClock(beijingMidnight(day) + 86_400_000 + 60_000 - (await sandboxNow()));
      const creating = await admin().run(day);
      expect(creating.status).toBe(503);
      expect((await json<{ message: string }>(creating)).message).toMatch(/still being made/);
      expect(await stack.server.store.reconciliations.getReport(day)).toBeUndefined();
    },
  );

  it('names each discrepancy, repairs the dropped payment once and records the console refund', async () => {
    await stack.advanceClock(beijingMidnight(day) + 86_400_000 + 630 * 60_000 - (await sandboxNow()));
    const res = await admin().run(day);
    expect(res.status, await res.clone().text()).toBe(200);
    const report = await json<ReconciliationReport>(res);
    expect(report.counts).toEqual({
      matched: 3,
      paid_not_here: 1,
      here_not_at_wechat: 1,
      amount_mismatch: 1,
      refund_unknown_here: 1,
      refund_mismatch: 0,
    });
    expect(report.clean).toBe(false);
    expect(report.totals.summaryMatches).toBe(true);
    const byCategory = Object.fromEntries(report.items.map((i) => [i.category, i]));
    expect(byCategory.paid_not_here).toMatchObject({
      outTradeNo: ids.dropped!.outTradeNo,
      repair: 'repaired',
      billFen: ids.dropped!.totalFen,
    });
    expect(byCategory.amount_mismatch).toMatchObject({
      outTradeNo: ids.tampered!.outTradeNo,
      billFen: ids.tampered!.totalFen + 1,
      ledgerFen: ids.tampered!.totalFen,
      repair: 'none',
    });
    expect(byCategory.refund_unknown_here).toMatchObject({
      outTradeNo: ids.refunded!.outTradeNo,
      billFen: 100,
      repair: 'recorded',
    });
    expect(byCategory.here_not_at_wechat).toMatchObject({
      kind: 'payment',
      outTradeNo: ids.wrong!.outTradeNo,
      ledgerFen: ids.wrong!.totalFen,
      repair: 'none',
    });
    const store = stack.server.store;
    expect((await store.orders.getOrder(ids.dropped!.orderId))?.status).toBe('PAID');
    expect((await store.orders.getOrder(ids.refunded!.orderId))?.status).toBe('PARTIALLY_REFUNDED');
    const events = await store.events.readEvents();
    expect(events.filter((e) => e.type === 'order.paid' && e.orderId === ids.dropped!.orderId)).toHaveLength(
      1,
    );
    expect(events.filter((e) => e.type === 'refund.external')).toHaveLength(1);
    expect(await store.reconciliations.readCompleted()).toEqual([
      expect.objectContaining({ date: day, counts: report.counts }),
    ]);
  });

  it('serves the report as JSON and CSV to staff only', async () => {
    const stored = await admin(stack.servers[1]).get(day);
    expect(stored.status).toBe(200);
    const report = await json<ReconciliationReport>(stored);
    expect(report.date).toBe(day);
    for (const path of [`${day}.csv`, `${day}?format=csv`]) {
      const csv = await admin().get(path);
      expect(csv.status).toBe(200);
      expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
      const lines = (await csv.text()).trim().split('\r\n');
      expect(lines[0]).toBe(
        'date,category,kind,out_trade_no,transaction_id,out_refund_no,refund_id,bill_yuan,ledger_yuan,repair,note',
      );
      expect(lines.some((l) => l.includes('amount_mismatch') && l.includes(ids.tampered!.outTradeNo))).toBe(
        true,
      );
      expect(lines.at(-1)).toMatch(/^\d{4}-\d{2}-\d{2},total_refunds,/);
    }
    expect((await fetch(`${stack.server.url}/admin/reconciliations/${day}`)).status).toBe(401);
    expect((await admin().get('2021-02-03')).status).toBe(404);
    expect((await admin().get('yesterday')).status).toBe(400);
  });

  it('APIv2 downloads only the shop’s own bill: another merchant’s needs its key, which APIv3 holds', async () => {
    const v2 = createGateway(stack.server.config, () => Date.now());
    const other = SANDBOX_DEMO_COMBINE_SUB_MERCHANTS[0]?.mchId as string;
    await expect(v2.downloadBill(day, 'ALL', other)).rejects.toThrow(TypeError);
    // Its own, named or not, is the same bill.
    const rows = async (bill: AsyncIterable<unknown>) => {
      let n = 0;
      for await (const _ of bill) n += 1;
      return n;
    };
    const named = await rows(await v2.downloadBill(day, 'ALL', stack.server.config.wechatpay.mchId));
    expect(named).toBeGreaterThan(1);
    expect(await rows(await v2.downloadBill(day, 'ALL'))).toBe(named);
  });

  it('a second run, by `pnpm reconcile` over APIv3, gives the same report and changes nothing', async () => {
    const store = stack.server.store;
    const before = await store.reconciliations.getReport(day);
    const eventsBefore = (await store.events.readEvents()).length;
    // The next v3 bill file is corrupted: its SHA1 check fails, the script waits and downloads it again.
    const corrupt = await fetch(
      `${stack.sandbox.url}/sandbox/console/bill-tamper`,
      post({ corrupt_next_download: true }),
    );
    expect([200, 201]).toContain(corrupt.status);
    const result = await cli(['--date', day, '--attempts', '2', '--wait', '0.2'], {
      WECHATPAY_API_VERSION: 'v3',
    });
    expect(result.stderr).toMatch(/not available yet; trying again in 0.2 s/);
    expect(result.code, result.stderr).toBe(1);
    expect(result.stdout).toContain(`Reconciliation ${day}`);
    expect(result.stdout).toMatch(/paid_not_here 1 .*amount_mismatch 1 .*refund_unknown_here 1/);
    const after = await store.reconciliations.getReport(day);
    expect(after?.json).toBe(before?.json);
    expect(after?.runs).toBe((before?.runs ?? 0) + 1);
    expect((await store.events.readEvents()).length).toBe(eventsBefore);
    // The shop's own report did not change: no new event for it. APIv3 in sandbox mode also sells for the
    // sandbox's two demo merchants, whose bills are reconciled too: none that day, so a first, clean report each.
    const subs = SANDBOX_DEMO_COMBINE_SUB_MERCHANTS.map((m) => m.mchId);
    expect((await store.reconciliations.readCompleted()).map((c) => c.mchid)).toEqual([undefined, ...subs]);
    for (const mchid of subs) {
      expect(result.stdout).toContain(`Reconciliation ${day} (merchant ${mchid}): CLEAN`);
      expect(JSON.parse((await store.reconciliations.getReport(day, mchid))?.json ?? '{}')).toMatchObject({
        merchant: mchid,
        clean: true,
        totals: { bill: null },
      });
    }
  }, 90_000);
});

describe('the daily reconciliation job', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({
      label: 'reconcile-job',
      servers: 2,
      env: { WORKER_ENABLED: 'false', RECONCILE_AT: '10:30' },
    });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('runs once a day after RECONCILE_AT, on one of two servers, for yesterday', async () => {
    const [a, b] = stack.servers as [Stack['server'], Stack['server']];
    const now = Date.parse(
      (await json<{ now: string }>(await fetch(`${stack.sandbox.url}/sandbox/clock`))).now,
    );
    const today = beijingDate(now);
    // 10:29 Beijing tomorrow: too early; 10:31: yesterday (today) is reconciled by one server only.
    await stack.advanceClock(beijingMidnight(today) + 86_400_000 + 629 * 60_000 - now);
    expect(await a.reconcileJob.tick()).toBe('too_early');
    await stack.advanceClock(2 * 60_000);
    const ticks = await Promise.all([a.reconcileJob.tick(), b.reconcileJob.tick()]);
    expect(ticks.filter((t) => t === 'reconciled')).toHaveLength(1);
    expect(ticks.filter((t) => t === 'claimed_elsewhere' || t === 'done')).toHaveLength(1);
    expect(await b.reconcileJob.tick()).toBe('done');
    // A quiet day: WeChat has no bill (No Bill Exist), the report says so, clean.
    const report = JSON.parse(
      (await a.store.reconciliations.getReport(today))?.json ?? '{}',
    ) as ReconciliationReport;
    expect(report).toMatchObject({ date: today, clean: true, totals: { bill: null } });
    expect(await a.store.reconciliations.readCompleted()).toHaveLength(1);
  });
});

/** The five wx.requestPayment fields of a launch. */
function pick(payment: {
  timeStamp: string;
  nonceStr: string;
  package: string;
  signType: string;
  paySign: string;
}) {
  const { timeStamp, nonceStr, package: pkg, signType, paySign } = payment;
  return { timeStamp, nonceStr, package: pkg, signType, paySign };
}

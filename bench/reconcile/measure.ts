/**
 * The measured process of the reconciliation benchmark (run by run.ts in its own Node process, so its peak RSS
 * is the reconciler's alone): the path `pnpm reconcile` takes after the download, on the bench's gzip bill and
 * the seeded Redis prefix.
 *
 *   parse   the gateway's billEntries (gzip → billLines → parseBillLines) over the whole file, rows counted;
 *           a separate pass, to show what parsing alone costs (match below parses again, interleaved)
 *   ledger  ledgerOf: the day's payments and refunds from the order event streams
 *   match   matchDay: every row against the store, the repairs, the ledger's leftovers
 *   report  JSON + CSV, and saveReport as reconcileDate does
 *
 *   measure.ts <bill.gz> <redis url> <prefix> <date> [--skip-parse] [--events store|paged]
 *
 * --events paged (the default): ledgerOf reads the event streams a page at a time (store.events.eventPages);
 * --events store hides that reader, so ledgerOf falls back to readEvents (every event at once), for comparison.
 *
 * Prints one JSON line: phase times (ms), RSS after each phase and the peak (process.resourceUsage().maxRSS),
 * and the report's counts and items (category, kind, numbers) for run.ts to check.
 */
import { readFileSync } from 'node:fs';
// The modules `pnpm reconcile` loads, not the HTTP server's (the package index brings koa, routes, metrics …).
import { loadConfig } from '../../apps/server/src/config.ts';
import type { AppContext } from '../../apps/server/src/context.ts';
import { billEntries } from '../../apps/server/src/gateway/bill-file.ts';
import { createLogger } from '../../apps/server/src/logger.ts';
import { ledgerOf } from '../../apps/server/src/services/reconcile/ledger.ts';
import { matchDay, repairKey } from '../../apps/server/src/services/reconcile/match.ts';
import { reportCsv } from '../../apps/server/src/services/reconcile/report.ts';
import { openStore } from '../../apps/server/src/store/index.ts';

const [path, redisUrl, prefix, date] = process.argv.slice(2);
if (!path || !redisUrl || !prefix || !date)
  throw new Error('usage: measure.ts <bill.gz> <redis> <prefix> <date>');
const skipParse = process.argv.includes('--skip-parse');
const eventsMode = process.argv.includes('store') ? 'store' : 'paged';

const mb = (bytes: number) => Math.round(bytes / 1024 / 1024);
const phases: Record<string, { ms: number; rssMb: number; heapMb: number; peakRssMb: number }> = {};
async function phase<T>(name: string, run: () => Promise<T>): Promise<T> {
  const start = performance.now();
  const result = await run();
  const memory = process.memoryUsage();
  phases[name] = {
    ms: Math.round(performance.now() - start),
    rssMb: mb(memory.rss),
    heapMb: mb(memory.heapUsed),
    peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
  };
  return result;
}

const started = performance.now();
const file = readFileSync(path);
const store = await openStore({ url: redisUrl, prefix, commandTimeoutMs: 60_000 });
if (eventsMode === 'store') Object.assign(store.events, { eventPages: undefined });
// What matchDay uses of the context: the store, the merchant id, the clock and a logger. A repair that needs
// WeChat (orderquery) must not happen in this workload: the gateway throws, which the report would show.
const config = loadConfig({ LOG_LEVEL: 'error' }); // sandbox defaults: the demo merchant
const ctx = {
  config,
  store,
  pay: new Proxy(
    {},
    {
      get: () => () => {
        throw new Error('the bench workload needs no call to WeChat');
      },
    },
  ),
  log: createLogger(config, process.stderr),
  now: () => Date.now(),
} as unknown as AppContext;

let rows = 0;
if (!skipParse) {
  await phase('parse', async () => {
    for await (const entry of billEntries(file)) if (entry.kind === 'row') rows++;
  });
}
const ledger = await phase('ledger', () => ledgerOf(store, date));
const ledgerSize = { payments: ledger.payments.size, refunds: ledger.refunds.size };
const report = await phase('match', () =>
  matchDay(ctx, { date, bill: billEntries(file), ledger, earlier: new Set(), log: ctx.log }),
);
await phase('report', async () => {
  const json = JSON.stringify(report);
  const csv = reportCsv(report);
  await store.reconciliations.saveReport(date, { json, csv, counts: { ...report.counts } }, Date.now());
});
const totalMs = Math.round(performance.now() - started);
await store.close();

console.log(
  JSON.stringify({
    rows,
    events: eventsMode,
    billBytes: file.length,
    ledger: ledgerSize,
    totalMs,
    peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
    phases,
    clean: report.clean,
    summaryMatches: report.totals.summaryMatches,
    counts: report.counts,
    items: report.items.map((item) => ({
      key: repairKey(item),
      category: item.category,
      repair: item.repair,
    })),
  }),
);

/**
 * `pnpm --filter @mp-pay/bench reconcile` (issue 14's bench item): reconcile a generated bill of 1,000,000 rows
 * against a ledger of the same size, report wall time and peak memory. Target: under 60 s and under 300 MB
 * resident on this machine (2 cores).
 *
 *   1. the bill: 1,000,000 rows in WeChat's exact ALL-bill format, gzip (bill-writer.ts; checked on a sample
 *      against @mp-pay/shared/bills formatBill and read back identically through billLines → parseBillLines);
 *   2. the ledger: 1,000,000 paid orders under a private Redis prefix through the store's create-order and
 *      mark-paid scripts (seed.ts) — timed but not counted;
 *   3. the measured run, in its own Node process (measure.ts) under /usr/bin/time -v: the gateway's billEntries
 *      over the gzip bytes, ledgerOf, matchDay, the JSON/CSV report and saveReport — `pnpm reconcile` minus the
 *      HTTP download;
 *   4. the report must find exactly the discrepancies workload.ts sprinkled in (missing rows, amount mismatches,
 *      console refunds, trades not ours), or the run fails.
 *
 * The Redis prefix and the bill file are deleted at the end, whatever happens.
 *
 *   --rows N            bill rows and ledger payments (default 1,000,000; a multiple of 10,000)
 *   --redis URL         default $REDIS_URL or redis://127.0.0.1:6379
 *   --results PATH      where to write the "Reconciliation" section (default bench/RESULTS.md; "" for none)
 *   --events MODE       paged (default): ledgerOf reads the event streams a page at a time (store.events.eventPages);
 *                       store: through readEvents instead, every event at once (gigabytes for a million payments)
 *   --max-old-space MB  V8 heap limit of the measured process (default: Node's own)
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { connect, deletePrefix } from '../lib/redis.ts';
import { checkWriter, writeGzipBill } from './bill-writer.ts';
import { seedLedger } from './seed.ts';
import { BENCH_DATE, billRows, expected, type Day } from './workload.ts';

const { values: argv } = parseArgs({
  options: {
    rows: { type: 'string', default: '1000000' },
    redis: { type: 'string', default: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' },
    results: { type: 'string' },
    'max-old-space': { type: 'string' },
    events: { type: 'string', default: 'paged' },
  },
  strict: true,
});
const count = Number(argv.rows);
if (!Number.isInteger(count) || count < 10_000 || count % 10_000 !== 0) {
  throw new Error('--rows must be a multiple of 10,000');
}
const resultsPath = argv.results ?? new URL('../RESULTS.md', import.meta.url).pathname;
const TARGET = { seconds: 60, rssMb: 300 };

const runId = Date.now().toString(36).slice(-6);
const prefix = `mp-pay-bench-recon:${runId}:`;
const day: Day = { runId, count };
const dir = mkdtempSync(join(tmpdir(), 'mp-pay-recon-'));
const billPath = join(dir, `bill-${BENCH_DATE}.csv.gz`);
const log = (text: string) => console.error(`[reconcile bench] ${text}`);
const seconds = (ms: number) => (ms / 1000).toFixed(1);

interface Measured {
  rows: number;
  events: string;
  billBytes: number;
  ledger: { payments: number; refunds: number };
  totalMs: number;
  peakRssMb: number;
  phases: Record<string, { ms: number; rssMb: number; heapMb: number; peakRssMb: number }>;
  clean: boolean;
  summaryMatches: boolean;
  counts: Record<string, number>;
  items: { key: string; category: string; repair: string }[];
}

/** measure.ts in its own process; wall time and peak RSS from /usr/bin/time -v when present. */
async function measure(): Promise<Measured & { wallMs: number; timeRssMb: number | undefined }> {
  const script = new URL('./measure.ts', import.meta.url).pathname;
  const nodeArgs = [
    ...(argv['max-old-space'] ? [`--max-old-space-size=${argv['max-old-space']}`] : []),
    '--import',
    'tsx',
    script,
    billPath,
    argv.redis,
    prefix,
    BENCH_DATE,
    '--events',
    argv.events === 'store' ? 'store' : 'paged',
  ];
  const timeV = existsSync('/usr/bin/time');
  const [cmd, args] = timeV
    ? ['/usr/bin/time', ['-v', process.execPath, ...nodeArgs]]
    : [process.execPath, nodeArgs];
  const started = performance.now();
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  const wallMs = performance.now() - started;
  if (code !== 0) throw new Error(`measure.ts exited with ${code}:\n${stderr.slice(-4000)}`);
  const maxRss = /Maximum resident set size \(kbytes\): (\d+)/.exec(stderr)?.[1];
  const line = stdout.trim().split('\n').pop() ?? '';
  return {
    ...(JSON.parse(line) as Measured),
    wallMs,
    timeRssMb: maxRss === undefined ? undefined : Math.round(Number(maxRss) / 1024),
  };
}

/** The report found exactly what was sprinkled in, and nothing else. */
function check(m: Measured): string[] {
  const want = expected(day);
  const problems: string[] = [];
  if (m.rows !== count) problems.push(`parsed ${m.rows} rows, wrote ${count}`);
  if (m.ledger.payments !== count) problems.push(`ledger has ${m.ledger.payments} payments, seeded ${count}`);
  if (!m.summaryMatches) problems.push('the summary line does not match the rows');
  for (const [category, n] of Object.entries(want.counts)) {
    if (m.counts[category] !== n) problems.push(`${category}: ${m.counts[category]} found, ${n} expected`);
  }
  const found = new Map(m.items.map((item) => [item.key, item]));
  for (const [key, category] of want.items) {
    const item = found.get(key);
    if (item === undefined) problems.push(`${key} (${category}) not reported`);
    else if (item.category !== category) problems.push(`${key}: ${item.category}, expected ${category}`);
    else if (item.repair !== (category === 'refund_unknown_here' ? 'recorded' : 'none')) {
      problems.push(`${key}: repair ${item.repair}`);
    }
  }
  for (const key of found.keys()) if (!want.items.has(key)) problems.push(`${key} reported, not sprinkled`);
  return problems;
}

const MARK_START = '<!-- reconcile-bench:start -->';
const MARK_END = '<!-- reconcile-bench:end -->';

const MODE_LABEL: Record<string, string> = {
  paged: 'paged (`eventPages`)',
  store: 'all at once (`readEvents`)',
};
/** A table row's second column: how the ledger was read, and the heap cap when one was given. */
const modeLabel = (events: string): string =>
  (MODE_LABEL[events] ?? events) +
  (argv['max-old-space'] ? `, \`--max-old-space-size=${argv['max-old-space']}\`` : '');

function section(
  m: Measured & { wallMs: number; timeRssMb: number | undefined },
  extra: { seedMs: number; writeMs: number; textBytes: number },
  keptRows: string[],
): string {
  const rss = m.timeRssMb ?? m.peakRssMb;
  const met = m.totalMs / 1000 < TARGET.seconds && rss < TARGET.rssMb;
  const p = m.phases;
  const want = expected(day).counts;
  const fmt = (n: number) => n.toLocaleString('en-US');
  const row = `| ${fmt(m.rows)} | ${modeLabel(m.events)} | ${seconds(m.totalMs)} s | ${rss} MB | < ${TARGET.seconds} s, < ${TARGET.rssMb} MB | ${met ? 'yes' : 'no'} |`;
  return [
    MARK_START,
    '## Reconciliation',
    '',
    `Generated by \`pnpm --filter @mp-pay/bench reconcile\` (bench/reconcile/run.ts); last run ${new Date().toISOString()}`,
    `with the event streams read ${m.events === 'paged' ? 'a page at a time' : 'all at once'}. One row per way of reading the ledger's event streams`,
    '(`--events paged | store`) and heap cap (`--max-old-space MB`); the other rows are from earlier runs.',
    '',
    '| rows | event streams read | time | peak RSS | target | met |',
    '|---|---|---|---|---|---|',
    ...[...keptRows, row].sort(),
    '',
    `Split of the last run (one process; RSS after each phase / the peak so far):`,
    '',
    '| phase | time | RSS after | peak RSS so far |',
    '|---|---|---|---|',
    ...['parse', 'ledger', 'match', 'report']
      .filter((name) => p[name] !== undefined)
      .map(
        (name) => `| ${name} | ${seconds(p[name]!.ms)} s | ${p[name]!.rssMb} MB | ${p[name]!.peakRssMb} MB |`,
      ),
    '',
    `- **time** is the measured process from reading the bill file to the stored report (${seconds(m.wallMs)} s wall`,
    "  including Node start-up and loading the TypeScript through tsx); **peak RSS** is `/usr/bin/time -v`'s",
    `  maximum resident set size of that process${m.timeRssMb === undefined ? ' (here: process.resourceUsage().maxRSS)' : ''}, about 100 MB of which is Node, tsx and`,
    '  the modules `pnpm reconcile` loads before any work.',
    "- **parse**: the gateway's `billEntries` (gunzip → `billLines` → `parseBillLines`) over the whole",
    `  ${(m.billBytes / 1024 / 1024).toFixed(1)} MB gzip bill (${(extra.textBytes / 1024 / 1024).toFixed(0)} MB of text) alone, rows counted;`,
    '  **ledger**: `ledgerOf` (the order event streams of all 16 shards); **match**: `matchDay` (parses the bill',
    '  again, interleaved; rows the ledger does not settle read their attempt, 256 at a time; the console refunds',
    '  recorded); **report**: JSON + CSV and `saveReport`. Seeding the ledger (one create-order and one mark-paid',
    `  script per payment) took ${seconds(extra.seedMs)} s and writing the bill ${seconds(extra.writeMs)} s; neither counts.`,
    `- The report found exactly the sprinkled discrepancies: ${fmt(want.here_not_at_wechat!)} missing rows`,
    `  (here_not_at_wechat), ${fmt(want.amount_mismatch!)} amount mismatches, ${fmt(want.refund_unknown_here!)} console refunds`,
    `  (refund_unknown_here, recorded), ${fmt(want.paid_not_here!)} trades not ours (paid_not_here); ${fmt(want.matched!)} matched.`,
    MARK_END,
  ].join('\n');
}

/** The table rows of the other `--events` mode from the section already written, kept beside this run's. */
function otherRows(events: string): string[] {
  const old = existsSync(resultsPath) ? readFileSync(resultsPath, 'utf8') : '';
  const at = old.indexOf(MARK_START);
  const end = old.indexOf(MARK_END);
  if (at < 0 || end < at) return [];
  const label = modeLabel(events);
  return old
    .slice(at, end)
    .split('\n')
    .filter((line) => /^\| [\d,]+ \| /.test(line) && !line.includes(`| ${label} |`));
}

function writeSection(text: string): void {
  const old = existsSync(resultsPath) ? readFileSync(resultsPath, 'utf8') : '';
  const at = old.indexOf(MARK_START);
  const end = old.indexOf(MARK_END);
  const next =
    at >= 0 && end > at
      ? old.slice(0, at) + text + old.slice(end + MARK_END.length)
      : old.replace(/\n*$/, '\n\n') + text + '\n';
  writeFileSync(resultsPath, next);
}

const redis = await connect(argv.redis);
let failed = false;
try {
  await checkWriter([...billRows({ runId, count: 20_000 })].slice(0, 3000));
  log('bill writer: same bytes as formatBill on a 3,000-row sample, read back identically');

  let t = performance.now();
  const sizes = await writeGzipBill(billPath, () => billRows(day));
  const writeMs = performance.now() - t;
  log(`bill: ${count} rows, ${(sizes.gzipBytes / 1e6).toFixed(1)} MB gzip in ${seconds(writeMs)} s`);

  t = performance.now();
  await seedLedger({
    redisUrl: argv.redis,
    prefix,
    day,
    onProgress: (done) => {
      if (done % 100_000 === 0) log(`seeded ${done} paid orders (${seconds(performance.now() - t)} s)`);
    },
  });
  const seedMs = performance.now() - t;
  log(`ledger: ${count} paid orders in ${seconds(seedMs)} s`);

  const m = await measure();
  const problems = check(m);
  const rss = m.timeRssMb ?? m.peakRssMb;
  console.log(
    JSON.stringify(
      { rows: m.rows, totalS: m.totalMs / 1000, peakRssMb: rss, phases: m.phases, counts: m.counts },
      null,
      2,
    ),
  );
  if (problems.length > 0) {
    failed = true;
    console.error(
      `the report did not find exactly the sprinkled discrepancies:\n  ${problems.slice(0, 20).join('\n  ')}`,
    );
  } else {
    log('the report found exactly the sprinkled discrepancies');
    if (resultsPath !== '') {
      writeSection(section(m, { seedMs, writeMs, textBytes: sizes.textBytes }, otherRows(m.events)));
      log(`wrote the Reconciliation section of ${resultsPath}`);
    }
  }
} finally {
  log(`deleting ${prefix}*`);
  await deletePrefix(redis, prefix);
  redis.disconnect();
  rmSync(dir, { recursive: true, force: true });
}
if (failed) process.exit(1);

/**
 * `pnpm reconcile [--date YYYY-MM-DD]`: reconciles one Beijing day against WeChat Pay's bills, every merchant's
 * (the shop's own, then each sub-merchant's: docs/combine.md), and prints each report's summary
 * (docs/reconciliation.md). The day defaults to yesterday on WeChat's clock (the sandbox's, in
 * sandbox mode: `POST /sandbox/clock` moves it).
 *
 * With Redis configured (REDIS_URL / REDIS_CLUSTER_NODES, from the repository's .env like `pnpm start`), it
 * works in this process: opens the store, downloads the bill through the gateway (retrying with back-off while
 * it is not ready), repairs, stores the report. Without Redis the server keeps its ledger in its own memory, so
 * the script asks the running server to do it instead: `POST /admin/reconciliations/:date/run` (MP_PAY_SERVER_URL
 * or http://127.0.0.1:$PORT, staff token MP_PAY_ADMIN_TOKEN or the sandbox demo token), retrying the same way.
 *
 *   --date YYYY-MM-DD   the day (Beijing)
 *   --json              print JSON instead of the summaries: the shop's own report plus `reports`, every
 *                       merchant's (the admin API's run reply)
 *   --attempts N        download attempts while the bill is not ready (default 6)
 *   --wait SECONDS      the first wait between attempts (default 60), doubling up to 15 minutes
 *
 * Exit status: 0 every report clean, 1 discrepancies found in any, 2 the day cannot be reconciled (message on
 * stderr).
 */
import { fileURLToPath } from 'node:url';
import { Code2SessionClient } from '@mp-pay/shared/login';
import { SANDBOX_DEMO_ADMIN_TOKEN } from '@mp-pay/shared/wechatpay';
import { ConfigError, loadConfig, processEnv, type ServerConfig } from '../src/config.ts';
import type { AppContext } from '../src/context.ts';
import { beijingDate, isDate, previousDate } from '../src/domain/beijing-date.ts';
import { createGateway } from '../src/gateway/index.ts';
import { createLogger } from '../src/logger.ts';
import { Metrics } from '../src/metrics/registry.ts';
import { Catalog } from '../src/services/catalog.ts';
import { QueryThrottle } from '../src/services/query-throttle.ts';
import {
  checkReconcileDate,
  ReconcileError,
  reconcileExclusive,
  reportSummary,
  type ReconciliationReport,
} from '../src/services/reconcile/index.ts';
import { openStore } from '../src/store/index.ts';

/** The shop's own report, its fields at the top level, and every merchant's (own first) in `reports`. */
type DayReports = ReconciliationReport & { reports: ReconciliationReport[] };

interface Args {
  date: string | undefined;
  json: boolean;
  attempts: number;
  waitMs: number;
}

function argsOf(argv: string[]): Args {
  const value = (name: string): string | undefined => {
    const at = argv.findIndex((a) => a === name || a.startsWith(`${name}=`));
    if (at < 0) return undefined;
    const arg = argv[at] as string;
    return arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : argv[at + 1];
  };
  const attempts = Number(value('--attempts') ?? 6);
  if (!Number.isInteger(attempts) || attempts < 1 || attempts > 50) fail('--attempts must be 1..50');
  const wait = Number(value('--wait') ?? 60);
  if (!Number.isFinite(wait) || wait < 0 || wait > 3600) fail('--wait must be 0..3600 seconds');
  return { date: value('--date'), json: argv.includes('--json'), attempts, waitMs: Math.round(wait * 1000) };
}

function fail(message: string): never {
  console.error(`reconcile: ${message}`);
  process.exit(2);
}

/**
 * WeChat's business clock, for the default day and the window: the sandbox's in sandbox mode (it can be moved
 * forward), else this machine's. Signatures and their timestamps stay on this machine's clock, as the sandbox's
 * (and WeChat's) do.
 */
async function wechatClock(config: ServerConfig): Promise<() => number> {
  if (config.sandboxUrl === undefined) return () => Date.now();
  try {
    const res = await fetch(`${config.sandboxUrl}/sandbox/clock`, { signal: AbortSignal.timeout(5000) });
    const body = (await res.json()) as { now?: string };
    const offset = Date.parse(body.now ?? '') - Date.now();
    if (Number.isNaN(offset)) throw new Error(`unexpected reply ${JSON.stringify(body)}`);
    return () => Date.now() + offset;
  } catch (err) {
    return fail(
      `cannot read the sandbox clock at ${config.sandboxUrl} (${(err as Error).message}): start the stack (pnpm start)`,
    );
  }
}

async function inProcess(
  config: ServerConfig,
  date: string,
  now: () => number,
  args: Args,
): Promise<DayReports> {
  const log = createLogger({ ...config, logLevel: 'warn' }, process.stderr);
  const store = await openStore(config.redis);
  try {
    const pay = createGateway(config, () => Date.now());
    await pay.start?.();
    const base = config.publicBaseUrl ?? `http://127.0.0.1:${config.port}`;
    const ctx: AppContext = {
      config,
      store,
      pay,
      log,
      metrics: new Metrics(),
      catalog: Catalog.load(),
      login: new Code2SessionClient({
        appId: config.wechat.appId,
        secret: config.wechat.secret,
        baseUrl: config.wechat.apiBase,
      }),
      oauth: undefined,
      publicBaseUrl: () => base,
      notifyUrl: () => base + pay.notifyPath,
      refundNotifyUrl: () => base + pay.refundNotifyPath,
      now: () => Date.now(),
      queryThrottle: new QueryThrottle(1000),
    };
    const result = await reconcileExclusive(ctx, date, `cli:${process.pid}`, {
      maxAttempts: args.attempts,
      baseDelayMs: args.waitMs,
      now: now(),
      sleep: (ms) => {
        console.error(`reconcile: the bill of ${date} is not available yet; trying again in ${ms / 1000} s`);
        return new Promise((resolve) => setTimeout(resolve, ms));
      },
    });
    if (result === undefined) fail(`another process is reconciling ${date} right now; try again later`);
    return { ...result.own.report, reports: result.merchants.map((m) => m.report) };
  } finally {
    await store.close();
  }
}

/** Memory store: the running server holds the ledger, so it reconciles; this retries while it is not ready. */
async function throughServer(
  env: NodeJS.ProcessEnv,
  config: ServerConfig,
  date: string,
  args: Args,
): Promise<DayReports> {
  const server = env.MP_PAY_SERVER_URL || `http://127.0.0.1:${config.port}`;
  const token = env.MP_PAY_ADMIN_TOKEN || SANDBOX_DEMO_ADMIN_TOKEN;
  let delay = args.waitMs;
  for (let attempt = 1; ; attempt++) {
    let res: Response;
    try {
      res = await fetch(`${server}/admin/reconciliations/${date}/run`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}` },
      });
    } catch (err) {
      return fail(
        `no Redis configured and no server at ${server} (${(err as Error).message}): start the stack (pnpm start) or set REDIS_URL`,
      );
    }
    const body = (await res.json().catch(() => ({}))) as Partial<DayReports> & { message?: string };
    // A server from before every merchant's bill was reconciled answers the one report.
    if (res.ok) return { ...(body as DayReports), reports: body.reports ?? [body as ReconciliationReport] };
    if (res.status !== 503 || attempt >= args.attempts)
      fail(`${server}: HTTP ${res.status} ${body.message ?? ''}`);
    console.error(`reconcile: ${body.message ?? 'not ready'}; trying again in ${delay / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, delay));
    delay = Math.min(delay * 2, 15 * 60_000);
  }
}

async function main(): Promise<void> {
  const args = argsOf(process.argv.slice(2));
  const env = processEnv(fileURLToPath(new URL('../../../.env', import.meta.url)));
  let config: ServerConfig;
  try {
    config = loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) fail(`configuration: ${err.message}`);
    throw err;
  }
  const now = await wechatClock(config);
  const date = args.date ?? previousDate(beijingDate(now()));
  if (!isDate(date)) fail(`--date must be a day, YYYY-MM-DD (got ${date})`);
  try {
    checkReconcileDate(date, now());
  } catch (err) {
    if (err instanceof ReconcileError) fail(err.message);
    throw err;
  }
  const viaServer = config.redis.url === undefined && config.redis.clusterNodes === undefined;
  let day: DayReports;
  try {
    day = viaServer ? await throughServer(env, config, date, args) : await inProcess(config, date, now, args);
  } catch (err) {
    if (err instanceof ReconcileError) fail(err.message);
    throw err;
  }
  console.log(args.json ? JSON.stringify(day, null, 2) : day.reports.map(reportSummary).join('\n\n'));
  process.exit(day.reports.every((r) => r.clean) ? 0 : 1);
}

main().catch((err: unknown) => {
  console.error(`reconcile: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(2);
});

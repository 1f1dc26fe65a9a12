/**
 * `pnpm bench`: every benchmark of issue 6 in one bounded run (about two minutes on a 2-core machine), one
 * table on stdout and in bench/RESULTS.md.
 *
 *   1. micro-benchmarks: signing and notification parsing, mp-pay vs tenpay vs wechatpay-axios-plugin;
 *   2. notify load on the peer baseline (tenpay's Koa middleware, in-memory update) and on the real server
 *      with real Redis: distinct pending orders, a 30%-duplicate mix, and a fixed 1,000 req/s run; then the
 *      distinct-orders phase again as APIv3 notifications (RSA + AES-GCM) against the server in v3 mode;
 *   3. order creation end to end against the sandbox.
 *
 * Each system under test runs in its own process; autocannon drives it over loopback from this one. Redis keys
 * live under a unique prefix that is deleted at the end, whatever happens.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { SANDBOX_DEMO } from '@mp-pay/shared/wechatpay';
import { startChild, type Child } from './lib/child.ts';
import { measureCpu } from './lib/cpu.ts';
import { postBodies, V3_NOTIFY } from './lib/load.ts';
import { describeMachine } from './lib/machine.ts';
import { persistenceOf, startDurableRedis } from './lib/redis-process.ts';
import { readProfile, summariseProfile } from './lib/profile.ts';
import { connect, deletePrefix, paidEventsPerOrder, redisVersion } from './lib/redis.ts';
import { fmt, renderMarkdown, renderText } from './lib/table.ts';
import { notifyWorkload, notifyWorkloadV3 } from './lib/workload.ts';
import { runMicro } from './micro/micro.ts';
import { CONNECTIONS, planNotify, runDistinct, runNotify } from './load/notify-bench.ts';
import { runOrderCreation, runSignIn, signInBuyers } from './load/orders-bench.ts';
import { seedPendingOrders } from './load/seed-orders.ts';
import { buildReport, buildRows, type Measurements } from './report.ts';
import { compareNotifyCpu, type CpuPerRequest } from './compare/notify-cpu.ts';
import { checkoutRevision, type Revision } from './compare/revision.ts';

// pnpm bench [--quick] [--redis redis://…] [--results path | --results ""] [--compare <git ref>]
//   --quick    smaller runs, for checking the harness (does not write RESULTS.md unless --results is given)
//   --compare  also measure server CPU per notification against another revision, side by side in this run
const { values: argv } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    redis: { type: 'string', default: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' },
    results: { type: 'string' },
    compare: { type: 'string' },
  },
  strict: true,
});
const resultsPath = argv.results ?? (argv.quick ? '' : new URL('./RESULTS.md', import.meta.url).pathname);

const FIXED_RATE = 1000;
const sizes = argv.quick
  ? {
      warmup: 500,
      distinct: 2000,
      v3: 2000,
      mix: 2000,
      fixedRate: FIXED_RATE,
      fixedSeconds: 2,
      orderSeconds: 2,
      profile: 1000,
      signIns: 300,
      sweepEach: 1000,
    }
  : {
      warmup: 2000,
      distinct: 15_000,
      v3: 15_000,
      mix: 15_000,
      fixedRate: FIXED_RATE,
      fixedSeconds: 8,
      orderSeconds: 8,
      profile: 8000,
      signIns: 2000,
      sweepEach: 8000,
    };

const here = (path: string) => new URL(path, import.meta.url).pathname;
const runId = `b${Date.now().toString(36)}`;
const prefix = `mp-pay-bench:${runId}:`;
const redis = await connect(argv.redis);
const redisPid = Number(/process_id:(\d+)/.exec(await redis.info('server'))?.[1]) || undefined;
const children: Child[] = [];
const stopAll = async () => {
  await Promise.all(children.splice(0).map((c) => c.stop()));
};

function log(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

let revision: Revision | undefined;

/** `--compare <ref>`: this revision's and ref's servers side by side, on their own orders (compare/). */
async function compareWithRevision(
  ref: string,
  serverEnv: Record<string, string>,
): Promise<NonNullable<Measurements['compare']>> {
  revision = checkoutRevision(ref, log);
  const sandbox = await startChild(here('./load/sandbox-child.ts'), [], {});
  children.push(sandbox);
  const env = { ...serverEnv, SANDBOX_PORT: new URL(sandbox.url).port };
  const ours = await startChild(here('./load/ours-server.ts'), [], {
    ...env,
    REDIS_PREFIX: `${prefix}cmp-ours:`,
  });
  children.push(ours);
  const theirs = await startChild(`${revision.dir}/bench/load/ours-server.ts`, [], {
    ...env,
    REDIS_PREFIX: `${prefix}cmp-rev:`,
  });
  children.push(theirs);
  log(`compare: server CPU per notification, this revision vs ${ref} (${revision.commit})…`);
  const results = await compareNotifyCpu({
    contenders: [
      { name: 'ours', serverUrl: ours.url, pid: ours.process.pid },
      { name: 'theirs', serverUrl: theirs.url, pid: theirs.process.pid },
    ],
    sandboxUrl: sandbox.url,
    ordersPerRound: argv.quick ? 500 : 3000,
    rounds: argv.quick ? 2 : 5,
    connections: CONNECTIONS,
    log,
  });
  await stopAll();
  return {
    ref,
    commit: revision.commit,
    ours: results.ours as CpuPerRequest,
    theirs: results.theirs as CpuPerRequest,
  };
}

/**
 * APIv3: the server in v3 mode on its own prefix, pending orders seeded as v3 (RSA) attempts, then the
 * distinct-orders phase as signed, encrypted v3 notifications (a warm-up, then three runs at CONNECTIONS);
 * success is HTTP 204 only. Afterwards every order must have exactly one order.paid event.
 */
async function notifyV3(serverEnv: Record<string, string>): Promise<Measurements['v3']> {
  const v3Prefix = `${prefix}v3:`;
  const orders = sizes.warmup + sizes.v3;
  await seedPendingOrders({
    redisUrl: argv.redis,
    prefix: v3Prefix,
    runId,
    first: 0,
    count: orders,
    apiVersion: 'v3',
  });
  const server = await startChild(here('./load/ours-server.ts'), [], {
    ...serverEnv,
    REDIS_PREFIX: v3Prefix,
    WECHATPAY_API_VERSION: 'v3',
  });
  children.push(server);
  // Signed only now: the server refuses a Wechatpay-Timestamp more than 300 s from its clock.
  const started = performance.now();
  const warmup = notifyWorkloadV3(runId, 0, sizes.warmup);
  const distinct = notifyWorkloadV3(runId, sizes.warmup, sizes.v3);
  log(
    `notify v3: ${fmt.int(orders)} notifications signed in ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );
  const notifyUrl = `${server.url}/wechatpay/v3/notify`;
  const warm = await postBodies({
    url: notifyUrl,
    bodies: warmup.bodies,
    connections: CONNECTIONS,
    reply: V3_NOTIFY,
  });
  if (warm.errors > 0) log(`notify v3: ${warm.errors} of ${warm.requests} warm-up replies were not HTTP 204`);
  const { ours } = await runDistinct(
    { ours: { notifyUrl, pids: { server: server.process.pid, redis: redisPid }, reply: V3_NOTIFY } },
    distinct.bodies,
  );
  await stopAll();
  const events = await paidEventsPerOrder(redis, v3Prefix);
  return {
    ...ours,
    orders,
    paidOrders: events.size,
    doubled: [...events.values()].filter((n) => n > 1).length,
  };
}

try {
  const machine = describeMachine(await redisVersion(redis), await persistenceOf(redis));
  log(
    `${machine.cpus} × ${machine.cpuModel}, Node ${machine.node}, Redis ${machine.redis}; prefix ${prefix}`,
  );

  log('micro-benchmarks: signing and parsing…');
  const micro = await runMicro(argv.quick ? { warmupMs: 100, roundMs: 100, rounds: 1 } : {});

  const plan = planNotify(runId, sizes);
  const expectedPaid =
    plan.warmup.distinctOrders +
    plan.distinct.distinctOrders +
    plan.mix.distinctOrders +
    plan.fixed.distinctOrders +
    plan.sweep.reduce((a, w) => a + w.distinctOrders, 0);

  log(`notify: ${plan.totalOrders} pending orders in the tenpay baseline and (seeded) in Redis for mp-pay…`);
  await seedPendingOrders({ redisUrl: argv.redis, prefix, runId, first: 0, count: plan.totalOrders });
  const serverEnv = {
    REDIS_URL: argv.redis,
    REDIS_PREFIX: prefix,
    // The baseline logs nothing per request; mp-pay's per-payment info line would be the only logging here.
    LOG_LEVEL: 'warn',
    // Background orderquery/expiry would be extra load unrelated to the notification path.
    WORKER_ENABLED: 'false',
    NODE_ENV: 'development',
  };
  const baselineApp = await startChild(
    here('./load/tenpay-koa-app.ts'),
    [runId, String(plan.totalOrders)],
    {},
  );
  children.push(baselineApp);
  const server = await startChild(here('./load/ours-server.ts'), [], serverEnv);
  children.push(server);
  log('notify: both contenders, phase by phase…');
  const { baseline, ours } = await runNotify(
    {
      baseline: {
        notifyUrl: `${baselineApp.url}/wechatpay/notify`,
        pids: { server: baselineApp.process.pid },
      },
      ours: {
        notifyUrl: `${server.url}/wechatpay/notify`,
        pids: { server: server.process.pid, redis: redisPid },
      },
    },
    plan,
    FIXED_RATE,
  );
  const baselineStats = (await (await fetch(`${baselineApp.url}/stats`)).json()) as { paid: number };
  await stopAll();
  const events = await paidEventsPerOrder(redis, prefix);
  const doubled = [...events.values()].filter((n) => n > 1).length;

  // The distinct-orders phase once more, on a private Redis that fsyncs every write (appendfsync always): the
  // configuration under which an acknowledged payment survives a Redis crash (fault suite a).
  log('notify on a private Redis with appendfsync always…');
  const durableRedis = await startDurableRedis();
  let durable;
  try {
    const durablePrefix = `${prefix}durable:`;
    const count = plan.warmup.distinctOrders + plan.distinct.distinctOrders;
    await seedPendingOrders({ redisUrl: durableRedis.url, prefix: durablePrefix, runId, first: 0, count });
    const durableServer = await startChild(here('./load/ours-server.ts'), [], {
      ...serverEnv,
      REDIS_URL: durableRedis.url,
      REDIS_PREFIX: durablePrefix,
    });
    children.push(durableServer);
    const notifyUrl = `${durableServer.url}/wechatpay/notify`;
    await postBodies({ url: notifyUrl, bodies: plan.warmup.bodies, connections: CONNECTIONS });
    const { result, cores } = await measureCpu(
      { server: durableServer.process.pid, redis: durableRedis.pid, 'load generator': process.pid },
      () => postBodies({ url: notifyUrl, bodies: plan.distinct.bodies, connections: CONNECTIONS }),
    );
    await stopAll();
    const durableClient = await connect(durableRedis.url);
    const durableEvents = await paidEventsPerOrder(durableClient, durablePrefix);
    durableClient.disconnect();
    durable = {
      ...result,
      cpu: cores,
      paidOnce: durableEvents.size === count && [...durableEvents.values()].every((n) => n === 1),
    };
  } finally {
    await stopAll();
    await durableRedis.stop();
  }

  log('notify v3: mp-pay server in APIv3 mode…');
  const v3 = await notifyV3(serverEnv);

  // A separate, profiled pass (the profiler's overhead must not touch the measured runs): where does the
  // server's CPU go per notification?
  log('mp-pay server under the V8 profiler…');
  const profileDir = mkdtempSync(join(tmpdir(), 'mp-pay-bench-prof-'));
  const profileFile = join(profileDir, 'server.cpuprofile');
  const profileWarmup = notifyWorkload(runId, plan.totalOrders, sizes.warmup);
  const profiled = notifyWorkload(runId, plan.totalOrders + sizes.warmup, sizes.profile);
  await seedPendingOrders({
    redisUrl: argv.redis,
    prefix,
    runId,
    first: plan.totalOrders,
    count: sizes.warmup + sizes.profile,
  });
  const profiledServer = await startChild(here('./load/ours-server.ts'), [], {
    ...serverEnv,
    BENCH_PROFILE_FILE: profileFile,
  });
  children.push(profiledServer);
  const profiledUrl = `${profiledServer.url}/wechatpay/notify`;
  await postBodies({ url: profiledUrl, bodies: profileWarmup.bodies, connections: 32 });
  profiledServer.process.kill('SIGUSR2');
  await postBodies({ url: profiledUrl, bodies: profiled.bodies, connections: 32 });
  await stopAll();
  const profile = summariseProfile(readProfile(profileDir));
  rmSync(profileDir, { recursive: true, force: true });

  log('order creation: sandbox + mp-pay server…');
  const sandbox = await startChild(here('./load/sandbox-child.ts'), [], {});
  children.push(sandbox);
  const sandboxPort = new URL(sandbox.url).port;
  const orderServer = await startChild(here('./load/ours-server.ts'), [], {
    ...serverEnv,
    REDIS_PREFIX: `${prefix}orders:`,
    SANDBOX_PORT: sandboxPort,
  });
  children.push(orderServer);
  const signIns = await runSignIn({
    serverUrl: orderServer.url,
    sandboxUrl: sandbox.url,
    appId: SANDBOX_DEMO.appId,
    count: sizes.signIns,
    connections: 16,
  });
  const tokens = await signInBuyers(orderServer.url, sandbox.url, SANDBOX_DEMO.appId, 50);
  const { result: orders, cores: orderCpu } = await measureCpu(
    {
      server: orderServer.process.pid,
      sandbox: sandbox.process.pid,
      redis: redisPid,
      'load generator': process.pid,
    },
    () =>
      runOrderCreation({ serverUrl: orderServer.url, tokens, seconds: sizes.orderSeconds, connections: 16 }),
  );
  await stopAll();

  let compare: Measurements['compare'];
  if (argv.compare) compare = await compareWithRevision(argv.compare, serverEnv);

  const measured: Measurements = {
    machine,
    micro,
    baseline,
    baselinePaid: baselineStats.paid,
    ours,
    oursPaidOrders: events.size,
    oursDoubled: doubled,
    durable,
    v3,
    profile,
    expectedPaid,
    signIns,
    orders,
    orderCpu,
    plan: {
      distinct: plan.distinct.bodies.length,
      mix: plan.mix.bodies.length,
      mixDuplicates: plan.mix.duplicates,
      fixed: plan.fixed.bodies.length,
      fixedRate: FIXED_RATE,
    },
    ...(compare ? { compare } : {}),
  };
  const rows = buildRows(measured);
  process.stdout.write(`\n${renderText(rows)}\n\n`);
  if (resultsPath) {
    // The reconciliation bench (`pnpm --filter @mp-pay/bench reconcile`) keeps its own section in the same file.
    writeFileSync(resultsPath, buildReport(measured, renderMarkdown(rows)) + reconcileSection(resultsPath));
    log(`wrote ${resultsPath}`);
  }
  if (
    baselineStats.paid !== expectedPaid ||
    events.size !== expectedPaid ||
    doubled > 0 ||
    !durable.paidOnce ||
    v3.paidOrders !== v3.orders ||
    v3.doubled > 0 ||
    (compare !== undefined && (compare.ours.errors > 0 || compare.theirs.errors > 0))
  ) {
    log(
      `STATE CHECK FAILED: expected ${expectedPaid} paid orders; baseline ${baselineStats.paid}, ` +
        `mp-pay ${events.size} with ${doubled} paid twice; v3 ${v3.paidOrders} of ${v3.orders} with ` +
        `${v3.doubled} paid twice`,
    );
    process.exitCode = 1;
  }
} finally {
  await stopAll();
  revision?.remove();
  const deleted = await deletePrefix(redis, prefix);
  log(`deleted ${deleted} Redis keys under ${prefix}`);
  redis.disconnect();
}

/** The reconciliation bench's section of RESULTS.md (between its markers), kept when the rest is rewritten. */
function reconcileSection(path: string): string {
  if (!existsSync(path)) return '';
  const text = readFileSync(path, 'utf8');
  const start = text.indexOf('<!-- reconcile-bench:start -->');
  const end = text.indexOf('<!-- reconcile-bench:end -->');
  if (start < 0 || end < start) return '';
  return `\n${text.slice(start, end + '<!-- reconcile-bench:end -->'.length)}\n`;
}

/**
 * The measurements behind docs/scaling.md: notify throughput of 1 and 2 server processes on one Redis and on a
 * three-master Redis Cluster (six local redis-server processes), and the cost of WAIT in the store alone.
 * Not a test (vitest runs *.test.ts only); run it on an otherwise idle machine:
 *
 *   cd apps/server && npx tsx test/cluster/throughput.ts [--orders 4000] [--concurrency 64]
 *
 * Each case: fresh prefix, N server processes (NODE_ENV=test, worker off, logs silent), `orders` PENDING orders
 * written through the store, then one signed v2 notification per order posted with `concurrency` requests in
 * flight, round-robin over the processes; throughput = orders / wall time, after a warm-up of 500.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { startSandbox } from '@mp-pay/sandbox';
import { createRedisStore, redisStoreOn } from '../../src/store/redis/redis-store.ts';
import { connectCluster } from '../../src/store/redis/connect.ts';
import type { Store } from '../../src/store/types.ts';
import { ServerProcess } from '../faults/support/server-process.ts';
import { freePort } from '../helpers/free-port.ts';
import { dropPrefix, TEST_REDIS_URL, uniquePrefix } from '../helpers/redis.ts';
import { RedisCluster } from '../helpers/redis-cluster.ts';
import { inBatches, notificationFor, notify, paidEvents, placeOrders } from './support.ts';

const { values } = parseArgs({
  options: { orders: { type: 'string', default: '4000' }, concurrency: { type: 'string', default: '64' } },
});
const ORDERS = Number(values.orders);
const CONCURRENCY = Number(values.concurrency);

const sandbox = await startSandbox({ port: 0 });
const cluster = new RedisCluster();
await cluster.start();

async function notifyCase(target: 'redis' | 'cluster', processes: number): Promise<string> {
  const prefix = uniquePrefix(`scale-${target}-${processes}`);
  const where: Record<string, string> =
    target === 'redis' ? { REDIS_URL: TEST_REDIS_URL } : { REDIS_CLUSTER_NODES: cluster.seedList };
  const servers = await Promise.all(
    Array.from({ length: processes }, async () => {
      const p = new ServerProcess({
        NODE_ENV: 'test',
        PORT: String(await freePort()),
        SANDBOX_PORT: new URL(sandbox.url).port,
        REDIS_PREFIX: prefix,
        WORKER_ENABLED: 'false',
        LOG_LEVEL: 'silent',
        ...where,
      });
      await p.url;
      return p;
    }),
  );
  const store: Store = await createRedisStore({
    ...(target === 'redis' ? { url: TEST_REDIS_URL } : { clusterNodes: cluster.seeds }),
    prefix,
    commandTimeoutMs: 5000,
  });
  try {
    const urls = await Promise.all(servers.map((s) => s.url));
    const warm = await placeOrders(store, 500);
    const orders = await placeOrders(store, ORDERS);
    let i = 0;
    let errors = 0;
    const fire = async (o: (typeof orders)[number]) => {
      if (!(await notify(urls[i++ % urls.length] as string, notificationFor(o)))) errors++;
    };
    await inBatches(warm, CONCURRENCY, fire);
    const redisPorts =
      target === 'redis' ? [Number(new URL(TEST_REDIS_URL).port || 6379)] : cluster.nodes.map((n) => n.port);
    const [serverCpu0, redisCpu0] = [serverCpuSeconds(), await redisCpuSeconds(redisPorts)];
    const started = process.hrtime.bigint();
    await inBatches(orders, CONCURRENCY, fire);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const serverUs = ((serverCpuSeconds() - serverCpu0) / ORDERS) * 1e6;
    const redisUs = (((await redisCpuSeconds(redisPorts)) - redisCpu0) / ORDERS) * 1e6;
    const events = await paidEvents(store);
    const once = orders.every((o) => events.get(o.id) === 1);
    return (
      `| ${target === 'redis' ? 'one Redis' : 'Redis Cluster (3 masters + 3 replicas)'} | ${processes} | ` +
      `${Math.round(ORDERS / seconds)} | ${Math.round(serverUs)} | ${Math.round(redisUs)} | ${errors} | ` +
      `${once ? 'yes' : 'NO'} |`
    );
  } finally {
    await Promise.all(servers.map((s) => s.kill('SIGTERM')));
    await store.close();
    if (target === 'redis') await dropPrefix(prefix);
  }
}

/** CPU seconds (user + system) used so far by this process's server children (server-main.ts). */
function serverCpuSeconds(): number {
  const tick = 100; // USER_HZ on Linux
  let total = 0;
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) !== process.pid) continue;
      if (!readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('server-main')) continue;
      total += (Number(fields[11]) + Number(fields[12])) / tick;
    } catch {
      // the process ended meanwhile
    }
  }
  return total;
}

/** CPU seconds the redis-servers on `ports` used so far (INFO cpu), replicas included. */
async function redisCpuSeconds(ports: number[]): Promise<number> {
  let total = 0;
  for (const port of ports) {
    const redis = new Redis(port, '127.0.0.1');
    try {
      const info = await redis.info('cpu');
      for (const m of info.matchAll(/^used_cpu_(?:sys|user):([\d.]+)/gm)) total += Number(m[1]);
    } finally {
      redis.disconnect();
    }
  }
  return total;
}

/** markPaid alone, in this process, on the cluster: with WAIT 1 (what the server does) and without. */
async function waitCase(replicated: boolean): Promise<string> {
  const prefix = uniquePrefix(`scale-wait-${replicated}`);
  const opened = await createRedisStore({ clusterNodes: cluster.seeds, prefix, commandTimeoutMs: 5000 });
  await opened.close();
  const client = await connectCluster(cluster.seeds, { prefix, commandTimeoutMs: 5000 });
  const store = redisStoreOn(client, prefix, replicated ? { replicated: { timeoutMs: 2500 } } : {});
  try {
    const orders = await placeOrders(store, ORDERS);
    const latencies: number[] = [];
    const started = process.hrtime.bigint();
    await inBatches(orders, CONCURRENCY, async (o) => {
      const t = process.hrtime.bigint();
      await store.attempts.markPaid(o.outTradeNo, {
        transactionId: `42${o.id}`,
        totalFen: o.totalFen,
        paidAt: Date.now(),
        source: 'notify',
      });
      latencies.push(Number(process.hrtime.bigint() - t) / 1e6);
    });
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    latencies.sort((a, b) => a - b);
    const p = (q: number) => (latencies[Math.floor(q * (latencies.length - 1))] ?? 0).toFixed(2);
    return `| ${replicated ? 'WAIT 1 after each' : 'no WAIT'} | ${Math.round(ORDERS / seconds)} | ${p(0.5)} | ${p(0.99)} |`;
  } finally {
    await store.close();
  }
}

try {
  console.log(`${ORDERS} notifications, ${CONCURRENCY} in flight\n`);
  console.log(
    '| Redis | server processes | notifications/s | server CPU µs each | Redis CPU µs each | not SUCCESS | one order.paid each |',
  );
  console.log('|---|---|---|---|---|---|---|');
  for (const target of ['redis', 'cluster'] as const)
    for (const processes of [1, 2]) console.log(await notifyCase(target, processes));
  console.log('\n| markPaid on the cluster, in-process | per second | p50 ms | p99 ms |');
  console.log('|---|---|---|---|');
  console.log(await waitCase(false));
  console.log(await waitCase(true));
} finally {
  await cluster.close();
  await sandbox.close();
}

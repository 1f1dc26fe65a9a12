/**
 * The store on a real three-master Redis Cluster (test/helpers/redis-cluster.ts), and several server processes
 * on it (docs/scaling.md):
 *  - every transition runs (a CROSSSLOT key set would be refused by the cluster), an order's keys and its shard's
 *    stream and queues share one slot, and the shards spread over the three masters;
 *  - duplicate and concurrent notifications for many orders, spread over three server processes, pay each order
 *    exactly once with one order.paid, read from every shard.
 */
import { startSandbox, type RunningSandbox } from '@mp-pay/sandbox';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisStore } from '../../src/store/redis/redis-store.ts';
import { redisKeys } from '../../src/store/redis/keys.ts';
import { keySlot } from '../../src/store/shards.ts';
import type { Store } from '../../src/store/types.ts';
import { ServerProcess } from '../faults/support/server-process.ts';
import { freePort } from '../helpers/free-port.ts';
import { uniquePrefix } from '../helpers/redis.ts';
import { RedisCluster } from '../helpers/redis-cluster.ts';
import { inBatches, notificationFor, notify, paidEvents, placeOrders } from './support.ts';

describe('Redis Cluster: three masters, one replica each', () => {
  const cluster = new RedisCluster();
  const prefix = uniquePrefix('cluster');
  let store: Store;

  beforeAll(async () => {
    await cluster.start();
    store = await createRedisStore({ clusterNodes: cluster.seeds, prefix, commandTimeoutMs: 2000 });
  }, 60_000);
  afterAll(async () => {
    await store?.close();
    await cluster.close();
  });

  it('refuses a hash-tagged REDIS_PREFIX on a cluster: it would put every key on one master', async () => {
    await expect(
      createRedisStore({ clusterNodes: cluster.seeds, prefix: '{mp-pay}:', commandTimeoutMs: 2000 }),
    ).rejects.toThrow(/hash tag .* one slot/);
  });

  it('fails fast, naming the seeds, when no cluster node answers', async () => {
    const port = await freePort();
    const started = Date.now();
    await expect(
      createRedisStore({ clusterNodes: [{ host: '127.0.0.1', port }], prefix, commandTimeoutMs: 2000 }),
    ).rejects.toThrow(new RegExp(`cannot connect to the Redis Cluster at 127\\.0\\.0\\.1:${port}`));
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('runs every transition in one slot and spreads the shards over the three masters', async () => {
    const orders = await placeOrders(store, 320);
    // Pay half of them, close a few: the scripts that touch the stream, the queues and the status index.
    await Promise.all(
      orders.slice(0, 160).map((o) =>
        store.attempts.markPaid(o.outTradeNo, {
          transactionId: `42${o.id}`,
          totalFen: o.totalFen,
          paidAt: Date.now(),
          source: 'notify',
        }),
      ),
    );
    const claims = await store.queues.claimDue('close', Date.now() + 7_200_000, 30_000, 1000);
    expect(claims.length).toBeGreaterThanOrEqual(160);
    for (const claim of claims)
      expect(await store.queues.release('close', claim, { finish: true })).toBe(true);

    const k = redisKeys(prefix);
    for (const o of orders.slice(0, 20)) {
      const shard = k.shardOfOrder(o.id);
      const slot = keySlot(k.order(o.id));
      for (const key of [k.attempts(o.id), k.events(shard), k.due('query', shard), k.status('PAID', shard)])
        expect(keySlot(key)).toBe(slot);
    }
    // Every shard's events, read back from all three masters.
    const events = await paidEvents(store);
    expect(orders.slice(0, 160).every((o) => events.get(o.id) === 1)).toBe(true);
    expect(events.size).toBe(160);

    const masters = await cluster.masters();
    expect(masters).toHaveLength(3);
    const perMaster = await Promise.all(
      masters.map(async ({ port }) => {
        const redis = new Redis(port, '127.0.0.1');
        try {
          return Number(await redis.dbsize());
        } finally {
          redis.disconnect();
        }
      }),
    );
    const total = perMaster.reduce((a, b) => a + b, 0);
    // 16 shards in 16 slots: 6, 4 and 6 of them on the three masters redis-cli assigns.
    for (const keys of perMaster) expect(keys / total).toBeGreaterThan(0.15);
    console.log(`[cluster] keys per master: ${perMaster.join(', ')} (${total} in all)`);
  });

  describe('three server processes on the cluster', () => {
    const processes: ServerProcess[] = [];
    let sandbox: RunningSandbox;
    const serverPrefix = uniquePrefix('cluster-servers');
    let servers: Store;

    beforeAll(async () => {
      sandbox = await startSandbox({ port: 0 });
      for (let i = 0; i < 3; i++) {
        processes.push(
          new ServerProcess({
            NODE_ENV: 'test',
            PORT: String(await freePort()),
            SANDBOX_PORT: new URL(sandbox.url).port,
            REDIS_CLUSTER_NODES: cluster.seedList,
            REDIS_PREFIX: serverPrefix,
            WORKER_ENABLED: 'false',
            LOG_LEVEL: 'silent',
          }),
        );
      }
      await Promise.all(processes.map((p) => p.url));
      servers = await createRedisStore({
        clusterNodes: cluster.seeds,
        prefix: serverPrefix,
        commandTimeoutMs: 2000,
      });
    }, 60_000);
    afterAll(async () => {
      await Promise.all(processes.map((p) => p.kill()));
      await servers?.close();
      await sandbox?.close();
    });

    it('pays every order exactly once under duplicate, concurrent notifications across processes', async () => {
      const urls = await Promise.all(processes.map((p) => p.url));
      const orders = await placeOrders(servers, 150);
      let acknowledged = 0;
      // Each order's notification twice to each process at once: six copies racing over three processes.
      await inBatches(orders, 16, async (order) => {
        const xml = notificationFor(order);
        const replies = await Promise.all(urls.flatMap((url) => [notify(url, xml), notify(url, xml)]));
        acknowledged += replies.filter(Boolean).length;
      });
      expect(acknowledged).toBe(orders.length * 6);
      const stored = await Promise.all(orders.map((o) => servers.orders.getOrder(o.id)));
      expect(stored.map((o) => o?.status)).toEqual(orders.map(() => 'PAID'));
      const events = await paidEvents(servers);
      expect(orders.map((o) => events.get(o.id) ?? 0)).toEqual(orders.map(() => 1));
      expect(events.size).toBe(orders.length);
    });
  });
});

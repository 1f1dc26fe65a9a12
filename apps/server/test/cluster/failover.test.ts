/**
 * "A master killed and failed over mid-burst loses no acknowledged payment" (issue 13, docs/scaling.md "WAIT").
 * Two server processes on a real three-master cluster take a burst of notifications; WeChat (this test) retries
 * each one until it is acknowledged, as it does for hours in production. Mid-burst one master is SIGKILLed: its
 * replica takes over after cluster-node-timeout (2 s). Replication is asynchronous, so without WAIT a payment
 * written on the dead master and acknowledged before it reached the replica would be gone; the store answers
 * SUCCESS only once a replica has it. The killed node is then started again and rejoins as the new master's
 * replica (until then its slots have no replica, and their notifications are refused: FAIL, retried).
 * Afterwards every acknowledged payment is PAID, with exactly one order.paid.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { startSandbox, type RunningSandbox } from '@mp-pay/sandbox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisKeys } from '../../src/store/redis/keys.ts';
import { createRedisStore } from '../../src/store/redis/redis-store.ts';
import { keySlot } from '../../src/store/shards.ts';
import type { Store } from '../../src/store/types.ts';
import { ServerProcess } from '../faults/support/server-process.ts';
import { freePort } from '../helpers/free-port.ts';
import { uniquePrefix } from '../helpers/redis.ts';
import { RedisCluster } from '../helpers/redis-cluster.ts';
import { inBatches, notificationFor, notify, paidEvents, placeOrders } from './support.ts';

const ORDERS = 300;

describe('Redis Cluster failover during a notification burst', () => {
  const cluster = new RedisCluster();
  const prefix = uniquePrefix('cluster-failover');
  const processes: ServerProcess[] = [];
  let sandbox: RunningSandbox;
  let store: Store;

  beforeAll(async () => {
    await cluster.start();
    sandbox = await startSandbox({ port: 0 });
    for (let i = 0; i < 2; i++) {
      processes.push(
        new ServerProcess({
          NODE_ENV: 'test',
          PORT: String(await freePort()),
          SANDBOX_PORT: new URL(sandbox.url).port,
          REDIS_CLUSTER_NODES: cluster.seedList,
          REDIS_PREFIX: prefix,
          REDIS_COMMAND_TIMEOUT_MS: '1000',
          WORKER_ENABLED: 'false',
          LOG_LEVEL: 'silent',
        }),
      );
    }
    await Promise.all(processes.map((p) => p.url));
    store = await createRedisStore({ clusterNodes: cluster.seeds, prefix, commandTimeoutMs: 2000 });
  }, 60_000);
  afterAll(async () => {
    await Promise.all(processes.map((p) => p.kill()));
    await store?.close();
    await sandbox?.close();
    await cluster.close();
  });

  it('acknowledges only replicated payments: all of them PAID after the failover, none twice', async () => {
    const urls = await Promise.all(processes.map((p) => p.url));
    const orders = await placeOrders(store, ORDERS);
    const acknowledged = new Set<string>();
    let refused = 0;
    const [victim] = await cluster.masters();
    if (!victim) throw new Error('no master');

    // Kill one master once a fifth of the burst is acknowledged; bring it back once its replica took over.
    const failover = (async () => {
      while (acknowledged.size < ORDERS / 5) await sleep(5);
      await cluster.kill(victim.port);
      const killedAt = Date.now();
      await cluster.waitPromoted(victim.port);
      const promotedAfter = Date.now() - killedAt;
      await cluster.restart(victim.port);
      await cluster.waitHealthy(30_000, true);
      return { promotedAfter, backAfter: Date.now() - killedAt };
    })();

    const deadline = Date.now() + 60_000;
    await inBatches(orders, 24, async (order) => {
      const xml = notificationFor(order);
      for (let attempt = 0; Date.now() < deadline; attempt++) {
        // WeChat's retries reach whichever process the load balancer picks.
        if (await notify(urls[(attempt + order.totalFen) % urls.length] as string, xml)) {
          acknowledged.add(order.id);
          return;
        }
        refused += 1;
        await sleep(200);
      }
    });
    const timing = await failover;

    expect(acknowledged.size).toBe(ORDERS);
    expect(refused).toBeGreaterThan(0); // the kill did land mid-burst
    const stored = await Promise.all(orders.map((o) => store.orders.getOrder(o.id)));
    expect(stored.map((o) => o?.status)).toEqual(orders.map(() => 'PAID'));
    const events = await paidEvents(store);
    expect(orders.map((o) => events.get(o.id) ?? 0)).toEqual(orders.map(() => 1));
    console.log(
      `[cluster failover] ${ORDERS} orders, master ${victim.port} killed: slots served again after ` +
        `${timing.promotedAfter} ms, replica back after ${timing.backAfter} ms; ${refused} notifications ` +
        'refused (FAIL) and retried; every acknowledged one PAID once',
    );
  }, 90_000);

  it('refuses to acknowledge a payment while its master has no replica, and acknowledges the retry later', async () => {
    const urls = await Promise.all(processes.map((p) => p.url));
    const [master] = await cluster.masters();
    if (!master) throw new Error('no master');
    const replica = await cluster.replicaOf(master.port);
    const k = redisKeys(prefix);
    const onMaster = (id: string) => {
      const slot = keySlot(k.order(id));
      return master.slots.some(([from, to]) => slot >= from && slot <= to);
    };
    const order = (await placeOrders(store, 40)).find((o) => onMaster(o.id));
    if (!order) throw new Error('no order on the chosen master');
    await cluster.kill(replica);
    // The master notices its replica is gone at once (the link drops); WAIT 1 then times out.
    expect(await notify(urls[0] as string, notificationFor(order))).toBe(false);
    // Written, not acknowledged: WeChat will retry, and nothing is paid twice.
    expect((await store.orders.getOrder(order.id))?.status).toBe('PAID');
    await cluster.restart(replica);
    await cluster.waitHealthy(30_000, true);
    expect(await notify(urls[1] as string, notificationFor(order))).toBe(true);
    expect((await paidEvents(store)).get(order.id)).toBe(1);
  }, 60_000);
});

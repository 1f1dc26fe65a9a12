/**
 * Redis goes down while WeChat notifies a payment: the server must answer FAIL (never SUCCESS without the
 * write), report not-ready, and, once Redis is back and WeChat retries, the order ends PAID with exactly one
 * order.paid. The worker is off here so only the notification retries can bring the payment in.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StoreUnavailableError } from '../src/errors.ts';
import { newOrderId } from '../src/domain/ids.ts';
import { attemptOf } from './helpers/records.ts';
import { connectRedis, createRedisStore, redisStoreOn } from '../src/store/redis/redis-store.ts';
import type { Store } from '../src/store/types.ts';
import { useOutageStack } from './helpers/outage-stack.ts';
import { RedisProcess } from './helpers/redis-process.ts';
import { uniquePrefix, waitFor } from './helpers/redis.ts';
import {
  bearer,
  createdOrder,
  paidEvents,
  payInSandbox,
  sandboxOrder,
  signIn,
  waitForStatus,
} from './helpers/stack.ts';

describe('Redis outage during a notification', () => {
  const outage = useOutageStack('outage');

  it('answers FAIL while Redis is down, then the retried notification makes the order PAID', async () => {
    const { redis, stack } = outage;
    const token = await signIn(stack, 'outage-buyer');
    const { order, payment } = await createdOrder(stack.server, token);

    await redis.kill();
    expect(await payInSandbox(stack, payment)).toBe('requestPayment:ok');
    const failed = await waitFor(async () => {
      const attempts = (await sandboxOrder(stack, order.outTradeNo)).notifications;
      return attempts.filter((a) => a.outcome === 'rejected').length >= 2 ? attempts : undefined;
    }, 'notifications refused during the outage');
    for (const attempt of failed) {
      expect(attempt.outcome).not.toBe('acknowledged');
      expect(attempt.httpStatus).toBe(503);
      expect(attempt.reply).toMatch(/FAIL/);
    }
    expect((await fetch(`${stack.server.url}/readyz`)).status).toBe(503);
    // The client's errors (its reconnection attempts refused while Redis is down) reach the metrics.
    await waitFor(async () => {
      const metrics = await (await fetch(`${stack.server.url}/metrics`)).text();
      return Number(/^mppay_redis_errors_total (\d+)/m.exec(metrics)?.[1] ?? 0) > 0 ? true : undefined;
    }, 'mppay_redis_errors_total above 0');
    const api = await fetch(`${stack.server.url}/api/orders/${order.id}`, { headers: bearer(token) });
    expect(api.status).toBe(503);
    expect(await api.json()).toMatchObject({ error: 'service_unavailable' });

    await redis.start();
    await waitForStatus(stack.server, order.id, 'PAID', 20_000);
    expect(await paidEvents(stack.server, order.id)).toHaveLength(1);
    const attempts = (await sandboxOrder(stack, order.outTradeNo)).notifications;
    expect(attempts.at(-1)?.outcome).toBe('acknowledged');
    expect((await fetch(`${stack.server.url}/readyz`)).status).toBe(200);
  });
});

describe('a Redis that refuses writes for now (a primary demoted by a failover)', () => {
  // A replica whose primary never answers: reads work, every write is refused with READONLY, also inside the
  // Lua scripts (where Redis 7 appends "script: <sha>" to the error).
  const replica = new RedisProcess(['--replicaof', '127.0.0.1', '1']);
  let store: Store;
  beforeAll(async () => {
    await replica.start();
    const options = { url: replica.url, prefix: uniquePrefix('readonly'), commandTimeoutMs: 2000 };
    // The store is opened on the connection directly: createRedisStore itself stops at the schema claim.
    store = redisStoreOn(await connectRedis(options), options.prefix);
  });
  afterAll(async () => {
    await store?.close();
    await replica.stop();
  });

  it('is a StoreUnavailableError (the API answers 503, the notify route FAIL), not a script bug (500)', async () => {
    const id = newOrderId(Date.now());
    const order = {
      id,
      userId: 'uReadOnly',
      description: 'mp-pay test order',
      items: [{ productId: 'tea', name: 'Tea', unitPriceFen: 100, quantity: 1, subtotalFen: 100 }],
      totalFen: 100,
      createdAt: Date.now(),
      expiresAt: Date.now() + 600_000,
    };
    await expect(
      store.orders.createOrder(order, attemptOf(order), {
        fingerprint: 'fp',
        idempotencyTtlSeconds: 60,
        queryDueAt: Date.now(),
      }),
    ).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(
      store.orders.markClosed(id, { closedAt: Date.now(), reason: 'expired', closedAttempt: undefined }),
    ).resolves.toEqual({
      kind: 'not_found',
    }); // reads still work: nothing to write, nothing refused
    await expect(store.queues.claimDue('query', Date.now(), 1000, 10)).resolves.toEqual([]);
    await expect(
      store.sessions.createSession(
        '0'.repeat(64),
        { userId: 'u', appId: 'wx5ad0b0c0de5a4db0', openid: 'o', sessionKey: 'k', createdAt: 0 },
        60,
      ),
    ).rejects.toBeInstanceOf(StoreUnavailableError);
  });

  it('stops the server at startup: an empty prefix cannot be claimed for the schema', async () => {
    await expect(
      createRedisStore({ url: replica.url, prefix: uniquePrefix('readonly'), commandTimeoutMs: 2000 }),
    ).rejects.toThrow(/READONLY/);
  });
});

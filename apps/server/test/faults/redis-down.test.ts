/**
 * Fault suite (a): Redis fails in the middle of a run of payments.
 *
 * The test runs its own redis-server on a free port and breaks it in the two ways Redis really fails:
 *
 *  1. crash (SIGKILL) and restart. The test Redis runs with `appendonly yes, appendfsync always`, so every write
 *     it acknowledged was fsynced first and survives the crash. That is the configuration under which "never
 *     answer SUCCESS before the write is durable" means anything; a Redis without persistence would forget
 *     acknowledged payments on restart whatever the server did, and testing that would only test Redis.
 *     (SIGSTOP or a restart without persistence would model a different failure or a misconfiguration.)
 *  2. hang (CLIENT PAUSE ALL for a few seconds): commands neither fail nor answer. The server's command timeout
 *     fires and it answers FAIL, but Redis executes the queued transition once the pause ends: an ambiguous
 *     write. WeChat's next retry then finds the order PAID and is acknowledged; still exactly one order.paid.
 *
 * The background worker is off, so only WeChat's notification retries (sandbox, time scale 1000) can bring a
 * payment in: a notification answered SUCCESS without a write would leave its order PENDING for good.
 */
import { Redis } from 'ioredis';
import type { PaymentLaunch } from '@mp-pay/shared/api';
import { describe, expect, it } from 'vitest';
import { useOutageStack } from '../helpers/outage-stack.ts';
import { waitFor } from '../helpers/redis.ts';
import { createdOrder, payInSandbox, sandboxOrder, type SandboxOrderView } from '../helpers/stack.ts';
import { printCounts } from './support/report.ts';
import { signInBuyer } from './support/sign-in.ts';

const PER_PHASE = 8;
const BUYERS = 4;
const PAUSE_MS = 5000;

interface PlacedOrder {
  id: string;
  outTradeNo: string;
  payment: PaymentLaunch;
}

describe('fault: Redis crashes and hangs while WeChat notifies payments', () => {
  const outage = useOutageStack('fault-redis');

  it('answers FAIL while Redis is down or hung; retries then bring every paid order to PAID exactly once', async () => {
    const { redis, stack } = outage;
    let requests = 0;
    const buyers: string[] = [];
    for (let i = 0; i < BUYERS; i++) {
      const appId = stack.server.config.wechat.appId;
      buyers.push(await signInBuyer(stack.sandbox.url, stack.server.url, appId, `fault-redis-${i}`));
    }
    const orders: PlacedOrder[] = [];
    for (let i = 0; i < PER_PHASE * 4; i++) {
      const { order, payment } = await createdOrder(stack.server, buyers[i % BUYERS] as string);
      orders.push({ id: order.id, outTradeNo: order.outTradeNo, payment });
    }
    requests += 2 * BUYERS + orders.length;
    const phase = (k: number) => orders.slice(k * PER_PHASE, (k + 1) * PER_PHASE);
    // All of a phase's payments at once, so its notifications start well inside the fault window.
    const pay = async (batch: PlacedOrder[]) => {
      const replies = await Promise.all(batch.map((o) => payInSandbox(stack, o.payment)));
      requests += batch.length;
      expect(replies).toEqual(batch.map(() => 'requestPayment:ok'));
    };
    const status = async (o: PlacedOrder) => (await stack.server.store.orders.getOrder(o.id))?.status;
    const allPaid = async (batch: PlacedOrder[]) =>
      (await Promise.all(batch.map(status))).every((s) => s === 'PAID');
    const attempts = (o: PlacedOrder) => sandboxOrder(stack, o.outTradeNo).then((v) => v.notifications);
    const rejectedSoFar = async (batch: PlacedOrder[], atLeast: number) => {
      const views = await Promise.all(batch.map(attempts));
      return views.every((a) => a.filter((x) => x.outcome === 'rejected').length >= atLeast)
        ? views
        : undefined;
    };

    // Phase 1, Redis up: payments are recorded.
    await pay(phase(0));
    await waitFor(() => allPaid(phase(0)), 'phase 1 orders PAID');

    // Phase 2, Redis crashes: every notification is refused with FAIL; nothing is acknowledged.
    await redis.kill();
    await pay(phase(1));
    const duringCrash = await waitFor(
      () => rejectedSoFar(phase(1), 2),
      'notifications refused while Redis is down',
    );
    for (const attempt of duringCrash.flat()) {
      expect(attempt.outcome).toBe('rejected');
      expect(attempt.httpStatus).toBe(503);
      expect(attempt.reply).toMatch(/FAIL/);
    }
    expect((await fetch(`${stack.server.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${stack.server.url}/readyz`)).status).toBe(503);
    requests += 2;

    // Redis restarts from its append-only file: what was acknowledged before the crash is still there.
    await redis.start();
    const afterRestart = await waitFor(
      async () => Promise.all(phase(0).map(status)),
      'Redis reachable again',
    );
    expect(afterRestart).toEqual(phase(0).map(() => 'PAID'));

    // Phase 3, Redis back: new payments go through as usual.
    await pay(phase(2));

    // Phase 4, Redis hangs: commands time out (FAIL) but are executed when the pause ends.
    const pauser = new Redis(redis.url, { maxRetriesPerRequest: 0 });
    try {
      await pauser.call('CLIENT', 'PAUSE', String(PAUSE_MS), 'ALL');
    } finally {
      pauser.disconnect();
    }
    await pay(phase(3));
    const duringHang = await waitFor(
      () => rejectedSoFar(phase(3), 1),
      'notifications refused while Redis hangs',
    );
    for (const attempt of duringHang.flat().filter((a) => a.outcome !== 'acknowledged')) {
      expect(attempt.httpStatus).toBe(503);
      expect(attempt.reply).toMatch(/FAIL/);
    }

    // Recovery: WeChat's retries finish the job. Every paid order PAID, with exactly one order.paid, and every
    // notification run ended by an acknowledgement (after a hang the order can be PAID before WeChat's next
    // retry arrives to be told SUCCESS, so both sides are waited for).
    const acknowledged = async (o: PlacedOrder) => (await attempts(o)).at(-1)?.outcome === 'acknowledged';
    await waitFor(
      async () => (await allPaid(orders)) && (await Promise.all(orders.map(acknowledged))).every(Boolean),
      'every paid order PAID and acknowledged',
      30_000,
    );
    const events = (await stack.server.store.events.readEvents()).filter((e) => e.type === 'order.paid');
    const perOrder = new Map<string, number>();
    for (const e of events) perOrder.set(e.orderId, (perOrder.get(e.orderId) ?? 0) + 1);
    expect(orders.map((o) => perOrder.get(o.id) ?? 0)).toEqual(orders.map(() => 1));
    expect(events).toHaveLength(orders.length);

    // WeChat's side: each order's notifications ended with exactly one acknowledgement, its last attempt.
    const views: SandboxOrderView[] = await Promise.all(orders.map((o) => sandboxOrder(stack, o.outTradeNo)));
    for (const view of views) {
      expect(view.state).toBe('SUCCESS');
      expect(view.notifications.filter((a) => a.outcome === 'acknowledged')).toHaveLength(1);
      expect(view.notifications.at(-1)?.outcome).toBe('acknowledged');
    }
    const allAttempts = views.flatMap((v) => v.notifications);
    printCounts('Redis crash + hang', {
      requests: requests + allAttempts.length,
      faultsInjected: 2,
      stateChangesExpected: orders.length,
      stateChangesObserved: events.length,
      notifications: allAttempts.length,
      refusedWithFail: allAttempts.filter((a) => a.outcome === 'rejected').length,
      lost: orders.length - perOrder.size,
      doubled: [...perOrder.values()].filter((n) => n > 1).length,
    });
  }, 60_000);
});

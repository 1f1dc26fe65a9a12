/**
 * Fault suite (b): the server process is SIGKILLed in the middle of a burst of notifications.
 *
 * WeChat delivers every notification as several simultaneous copies (sandbox fault concurrentNotifications) for
 * a batch of orders paid at once; as soon as the first order.paid lands in Redis, the process is killed: no
 * shutdown hook, in-flight requests cut mid-way. A second process takes over the same port (as a supervisor or
 * orchestrator would restart it) and is killed the same way at its first recorded payment; a third one and
 * WeChat's retries do the rest. Every paid order must end PAID with exactly
 * one order.paid: a transition either happened entirely (Lua script) or not at all, and a retry of a
 * transition that happened is a no-op answered SUCCESS.
 */
import { Redis } from 'ioredis';
import { startSandbox, type RunningSandbox } from '@mp-pay/sandbox';
import type { CreateOrderResponse, PaymentLaunch } from '@mp-pay/shared/api';
import { SANDBOX_DEMO } from '@mp-pay/shared/wechatpay';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/free-port.ts';
import { dropPrefix, TEST_REDIS_URL, uniquePrefix, waitFor } from '../helpers/redis.ts';
import type { SandboxOrderView } from '../helpers/stack.ts';
import { eventCount, paidEventsByOrder, statuses } from './support/events.ts';
import { postJson } from './support/http-json.ts';
import { printCounts } from './support/report.ts';
import { signInBuyer } from './support/sign-in.ts';
import { ServerProcess } from './support/server-process.ts';

const ORDERS = 48;
const BUYERS = 6;
const COPIES = 4;

describe('fault: server processes killed with SIGKILL during a notification burst', () => {
  const prefix = uniquePrefix('fault-sigkill');
  const processes: ServerProcess[] = [];
  let sandbox: RunningSandbox;
  let redis: Redis;

  beforeAll(async () => {
    sandbox = await startSandbox({ port: 0, timeScale: 1000 });
    redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1 });
  });
  afterAll(async () => {
    await Promise.all(processes.map((p) => p.kill()));
    await sandbox?.close();
    redis?.disconnect();
    await dropPrefix(prefix);
  });

  it('a replacement process and WeChat retries finish the job: exactly one order.paid per paid order', async () => {
    const port = await freePort();
    const env = {
      NODE_ENV: 'test',
      PORT: String(port),
      SANDBOX_PORT: new URL(sandbox.url).port,
      REDIS_URL: TEST_REDIS_URL,
      REDIS_PREFIX: prefix,
      // Only notifications (and their retries) may bring payments in: a lost one would show.
      WORKER_ENABLED: 'false',
      LOG_LEVEL: 'silent',
    };
    const first = new ServerProcess(env);
    processes.push(first);
    const serverUrl = await first.url;
    let requests = 0;

    const tokens: string[] = [];
    for (let i = 0; i < BUYERS; i++) {
      tokens.push(await signInBuyer(sandbox.url, serverUrl, SANDBOX_DEMO.appId, `fault-sigkill-${i}`));
    }
    const placed: { id: string; outTradeNo: string; payment: PaymentLaunch }[] = [];
    for (let i = 0; i < ORDERS; i++) {
      const created = await postJson<CreateOrderResponse>(
        `${serverUrl}/api/orders`,
        { items: [{ productId: 'green-tea', quantity: 1 + (i % 3) }] },
        { authorization: `Bearer ${tokens[i % BUYERS]}` },
      );
      placed.push({ id: created.order.id, outTradeNo: created.order.outTradeNo, payment: created.payment });
    }
    requests += 2 * BUYERS + ORDERS;

    await postJson(`${sandbox.url}/sandbox/faults`, {
      mch_id: SANDBOX_DEMO.mchId,
      faults: { concurrentNotifications: COPIES },
    });

    // Pay everything at once; kill the server as soon as the burst has produced its first order.paid.
    /** SIGKILLs `victim` the moment the stream holds more than `seen` events (polled without pause). */
    const killWhenEventsExceed = async (victim: ServerProcess, seen: number) => {
      const deadline = Date.now() + 20_000;
      while ((await eventCount(redis, prefix)) <= seen) {
        if (Date.now() > deadline) throw new Error(`no order.paid beyond ${seen} within 20 s`);
      }
      await victim.kill('SIGKILL');
      return eventCount(redis, prefix);
    };
    const firstKill = killWhenEventsExceed(first, 0);
    const replies = await Promise.all(
      placed.map((o) =>
        postJson<{ errMsg: string }>(`${sandbox.url}/sandbox/pay`, {
          appId: SANDBOX_DEMO.appId,
          ...o.payment,
        }),
      ),
    );
    requests += ORDERS;
    expect(replies.map((r) => r.errMsg)).toEqual(placed.map(() => 'requestPayment:ok'));
    const paidAtFirstKill = await firstKill;

    // A replacement on the same port, same Redis, killed in turn as soon as it records its first payment:
    // WeChat's retries are now racing two crashes.
    const second = new ServerProcess(env);
    processes.push(second);
    await second.url;
    const paidAtSecondKill = await killWhenEventsExceed(second, paidAtFirstKill);

    // The third process is left alone and, with the retries, finishes the job.
    const third = new ServerProcess(env);
    processes.push(third);
    await third.url;

    const ids = placed.map((o) => o.id);
    const sandboxViews = () =>
      Promise.all(
        placed.map(async (o) => {
          const res = await fetch(`${sandbox.url}/sandbox/orders/${o.outTradeNo}`);
          return (await res.json()) as SandboxOrderView;
        }),
      );
    await waitFor(
      async () =>
        (await statuses(redis, prefix, ids)).every((s) => s === 'PAID') &&
        // Copies of one attempt are recorded as they complete, so an acknowledged attempt may be followed in
        // the list by a copy the kill cut short; WeChat stops retrying once any copy was acknowledged.
        (await sandboxViews()).every((v) => v.notifications.some((a) => a.outcome === 'acknowledged')),
      'every paid order PAID and acknowledged after the restart',
      40_000,
    ).catch(async (err: unknown) => {
      const st = await statuses(redis, prefix, ids);
      const v = await sandboxViews();
      console.log(
        'DEBUG',
        JSON.stringify(st),
        JSON.stringify(v.slice(0, 3).map((x) => x.notifications.slice(-6))),
      );
      throw err;
    });

    const events = await paidEventsByOrder(redis, prefix);
    expect(ids.map((id) => events.get(id) ?? 0)).toEqual(ids.map(() => 1));
    expect(await eventCount(redis, prefix)).toBe(ORDERS);
    const views = await sandboxViews();
    for (const view of views) expect(view.state).toBe('SUCCESS');
    const attempts = views.flatMap((v) => v.notifications);
    const cut = attempts.filter((a) => a.outcome === 'error').length;

    printCounts('server SIGKILL mid-burst', {
      requests: requests + attempts.length,
      faultsInjected: 2,
      stateChangesExpected: ORDERS,
      stateChangesObserved: [...events.values()].reduce((a, b) => a + b, 0),
      notifications: attempts.length,
      paidAtFirstKill,
      paidAtSecondKill,
      failedInFlightOrRefused: cut,
      lost: ORDERS - events.size,
      doubled: [...events.values()].filter((n) => n > 1).length,
    });
  }, 60_000);
});

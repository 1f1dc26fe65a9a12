/**
 * Fault: the server process is SIGKILLed in the middle of a burst of refunds (WeChat answering slowly, so refund
 * requests are in flight), then restarted. Every refund must reach WeChat exactly once, under the out_refund_no
 * minted when it was requested: the number lives in the store, never in a process, so the replacement resends
 * the same one and WeChat treats it as the same refund.
 */
import { Redis } from 'ioredis';
import { startSandbox, type RunningSandbox } from '@mp-pay/sandbox';
import type { CreateOrderResponse, RefundResponse } from '@mp-pay/shared/api';
import { SANDBOX_DEMO } from '@mp-pay/shared/wechatpay';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../../src/index.ts';
import { freePort } from '../helpers/free-port.ts';
import { dropPrefix, TEST_REDIS_URL, uniquePrefix, waitFor } from '../helpers/redis.ts';
import type { SandboxOrderView } from '../helpers/stack.ts';
import { postJson } from './support/http-json.ts';
import { printCounts } from './support/report.ts';
import { ServerProcess } from './support/server-process.ts';
import { signInBuyer } from './support/sign-in.ts';

const ORDERS = 12;
const TOKEN = 'sigkill-staff-0123456789abcdefghijklmnopqrstu';

describe('fault: the server killed with SIGKILL during a refund burst', () => {
  const prefix = uniquePrefix('fault-refund-sigkill');
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

  it('a restarted process resends each refund under its first out_refund_no; WeChat refunds each once', async () => {
    const env = {
      NODE_ENV: 'test',
      PORT: String(await freePort()),
      SANDBOX_PORT: new URL(sandbox.url).port,
      SANDBOX_TLS_PORT: new URL(sandbox.tlsUrl).port,
      REDIS_URL: TEST_REDIS_URL,
      REDIS_PREFIX: prefix,
      ADMIN_TOKENS: `staff:${TOKEN}`,
      WORKER_INTERVAL_MS: '50',
      ORDER_QUERY_DELAY_MS: '200',
      ORDER_QUERY_MAX_BACKOFF_MS: '500',
      LOG_LEVEL: 'silent',
    };
    const first = new ServerProcess(env);
    processes.push(first);
    const serverUrl = await first.url;
    const token = await signInBuyer(sandbox.url, serverUrl, SANDBOX_DEMO.appId, 'refund-sigkill');
    const orders: { id: string; outTradeNo: string }[] = [];
    for (let i = 0; i < ORDERS; i++) {
      const created = await postJson<CreateOrderResponse>(
        `${serverUrl}/api/orders`,
        { items: [{ productId: 'green-tea', quantity: 1 }] },
        { authorization: `Bearer ${token}` },
      );
      await postJson(`${sandbox.url}/sandbox/pay`, {
        appId: SANDBOX_DEMO.appId,
        ...created.payment,
        kind: undefined,
      });
      orders.push({ id: created.order.id, outTradeNo: created.order.outTradeNo });
    }
    const store = await openStore({ url: TEST_REDIS_URL, prefix, commandTimeoutMs: 2000 });
    try {
      await waitFor(
        async () =>
          (await Promise.all(orders.map((o) => store.orders.getOrder(o.id)))).every(
            (o) => o?.status === 'PAID',
          ),
        'every order to be paid',
      );
      // WeChat now answers refunds slowly: requests will be in flight when the process dies.
      await postJson(`${sandbox.url}/sandbox/faults`, {
        mch_id: SANDBOX_DEMO.mchId,
        faults: { slowReplyMs: 400 },
      });
      const asked: RefundResponse[] = [];
      for (const o of orders) {
        asked.push(
          await postJson<RefundResponse>(
            `${serverUrl}/admin/orders/${o.id}/refunds`,
            { reason: 'burst' },
            { authorization: `Bearer ${TOKEN}` },
          ),
        );
      }
      // Kill as soon as the worker has a refund on the wire (the sandbox has seen at least one request).
      const seenAtWechat = async () => {
        let n = 0;
        for (const o of orders) {
          const view = (await (
            await fetch(`${sandbox.url}/sandbox/orders/${o.outTradeNo}`)
          ).json()) as SandboxOrderView & {
            refunds?: unknown[];
          };
          n += view.refunds?.length ?? 0;
        }
        return n;
      };
      await waitFor(async () => (await seenAtWechat()) > 0, 'a refund request at WeChat', 15_000);
      await first.kill('SIGKILL');
      const settledAtKill = (await Promise.all(orders.map((o) => store.refunds.listRefunds(o.id))))
        .flat()
        .filter((r) => r.state === 'SUCCESS').length;

      await postJson(`${sandbox.url}/sandbox/faults`, { mch_id: SANDBOX_DEMO.mchId, faults: {} });
      const second = new ServerProcess(env);
      processes.push(second);
      await second.url;
      await waitFor(
        async () =>
          (await Promise.all(orders.map((o) => store.refunds.listRefunds(o.id))))
            .flat()
            .filter((r) => r.state === 'SUCCESS').length === ORDERS,
        'every refund to succeed after the restart',
        30_000,
      );

      let atWechat = 0;
      for (const [i, o] of orders.entries()) {
        const view = (await (await fetch(`${sandbox.url}/sandbox/orders/${o.outTradeNo}`)).json()) as {
          refunds?: { out_refund_no: string }[];
        };
        // Exactly one refund per intent at WeChat, under the number minted when staff asked.
        expect((view.refunds ?? []).map((r) => r.out_refund_no)).toEqual([asked[i]?.refund.outRefundNo]);
        atWechat += view.refunds?.length ?? 0;
      }
      const events = (await store.events.readEvents()).filter((e) => e.type === 'refund.succeeded');
      expect(events).toHaveLength(ORDERS);
      printCounts('server SIGKILL mid refund burst', {
        requests: ORDERS * 3,
        faultsInjected: 2,
        stateChangesExpected: ORDERS,
        stateChangesObserved: events.length,
        settledAtKill,
        refundsAtWechat: atWechat,
        doubled: atWechat - ORDERS,
      });
    } finally {
      await store.close();
    }
  });
});

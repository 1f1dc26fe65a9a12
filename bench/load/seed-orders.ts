import { SANDBOX_DEMO } from '@mp-pay/shared/wechatpay';
// The server's own store, so that the benchmark creates pending orders exactly as the server's create-order Lua
// script does, thousands at a time, without paying for thousands of unifiedorder round trips that are not what
// this benchmark measures.
import { openStore } from '@mp-pay/server';
import { BENCH_OPENID } from '../lib/notification.ts';
import { amountFor, orderIdFor, orderNo } from '../lib/workload.ts';

const BENCH_USER_ID = 'uBench000000000000000000';

export async function seedPendingOrders(options: {
  redisUrl: string;
  prefix: string;
  runId: string;
  first: number;
  count: number;
  /** The protocol the attempts were placed with: v3 attempts are RSA-signed and notified at /wechatpay/v3/notify. */
  apiVersion?: 'v2' | 'v3';
}): Promise<void> {
  const v3 = options.apiVersion === 'v3';
  const store = await openStore({ url: options.redisUrl, prefix: options.prefix, commandTimeoutMs: 10_000 });
  const now = Date.now();
  const hour = 3_600_000;
  try {
    const chunk = 500;
    for (let start = options.first; start < options.first + options.count; start += chunk) {
      const end = Math.min(start + chunk, options.first + options.count);
      const created = await Promise.all(
        Array.from({ length: end - start }, (_, k) => {
          const index = start + k;
          const id = orderIdFor(options.runId, index);
          const totalFen = amountFor(index);
          const order = {
            id,
            userId: BENCH_USER_ID,
            description: 'Bench order',
            items: [
              {
                productId: 'bench',
                name: 'Bench item',
                unitPriceFen: totalFen,
                quantity: 1,
                subtotalFen: totalFen,
              },
            ],
            totalFen,
            createdAt: now,
            expiresAt: now + hour,
          };
          return store.orders.createOrder(
            order,
            {
              outTradeNo: orderNo(options.runId, index),
              orderId: id,
              seq: 1,
              channel: 'miniprogram',
              apiVersion: v3 ? 'v3' : 'v2',
              signType: v3 ? 'RSA' : 'MD5',
              appId: SANDBOX_DEMO.appId,
              payerOpenid: BENCH_OPENID,
              totalFen,
              description: 'Bench order',
              clientIp: '127.0.0.1',
              notifyUrl: `http://127.0.0.1/wechatpay/${v3 ? 'v3/' : ''}notify`,
              createdAt: now,
              expiresAt: now + hour,
            },
            // Background queries far in the future: the benchmark measures the notification path alone.
            { fingerprint: 'bench', idempotencyTtlSeconds: 60, queryDueAt: now + hour },
          );
        }),
      );
      const failed = created.find((r) => r.kind !== 'created');
      if (failed) throw new Error(`seeding pending orders failed: ${failed.kind}`);
    }
  } finally {
    await store.close();
  }
}

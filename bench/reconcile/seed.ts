/**
 * The ledger side of the reconciliation benchmark: N paid orders under a private Redis prefix, created and paid
 * through the server's own store API (create-order and mark-paid, the same Lua scripts a real order and its
 * notification run), so the order records, attempts and `order.paid` events are exactly what the reconciler
 * reads in production. Not part of the measured time.
 */
import { SANDBOX_DEMO } from '@mp-pay/shared/wechatpay';
import { openStore } from '@mp-pay/server';
import { BENCH_OPENID } from '../lib/notification.ts';
import { amountFor, orderIdFor, orderNo, paidAt, transactionIdOf, type Day } from './workload.ts';

const BENCH_USER_ID = 'uBench000000000000000000';
/** Orders in flight at once (each is one create-order then one mark-paid call). */
const CHUNK = 2000;

export async function seedLedger(options: {
  redisUrl: string;
  prefix: string;
  day: Day;
  onProgress?: (done: number) => void;
}): Promise<void> {
  const { day } = options;
  const store = await openStore({ url: options.redisUrl, prefix: options.prefix, commandTimeoutMs: 60_000 });
  try {
    for (let start = 0; start < day.count; start += CHUNK) {
      const end = Math.min(start + CHUNK, day.count);
      const indexes = Array.from({ length: end - start }, (_, k) => start + k);
      const created = await Promise.all(
        indexes.map((i) => {
          const totalFen = amountFor(i);
          const at = paidAt(day, i) - 60_000;
          const id = orderIdFor(day.runId, i);
          return store.orders.createOrder(
            {
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
              createdAt: at,
              expiresAt: at + 3_600_000,
            },
            {
              outTradeNo: orderNo(day.runId, i),
              orderId: id,
              seq: 1,
              channel: 'miniprogram',
              apiVersion: 'v2',
              signType: 'MD5',
              appId: SANDBOX_DEMO.appId,
              payerOpenid: BENCH_OPENID,
              totalFen,
              description: 'Bench order',
              clientIp: '127.0.0.1',
              notifyUrl: 'http://127.0.0.1/wechatpay/notify',
              createdAt: at,
              expiresAt: at + 3_600_000,
            },
            { fingerprint: 'bench', idempotencyTtlSeconds: 60, queryDueAt: at + 3_600_000 },
          );
        }),
      );
      const failed = created.find((r) => r.kind !== 'created');
      if (failed) throw new Error(`seeding: create-order said ${failed.kind}`);
      const paid = await Promise.all(
        indexes.map((i) =>
          store.attempts.markPaid(orderNo(day.runId, i), {
            transactionId: transactionIdOf(i),
            totalFen: amountFor(i),
            paidAt: paidAt(day, i),
            source: 'notify',
          }),
        ),
      );
      const notPaid = paid.find((r) => r.kind !== 'paid');
      if (notPaid) throw new Error(`seeding: mark-paid said ${notPaid.kind}`);
      options.onProgress?.(end);
    }
  } finally {
    await store.close();
  }
}

/**
 * What the cluster suites share: orders written straight into the cluster through the store (the notify path is
 * under test, not order creation), and WeChat's side of a notification: a signed v2 notification posted to a
 * server process, answered SUCCESS or not.
 */
import { signedPaymentNotification } from '@mp-pay/shared/testing';
import { SANDBOX_DEMO } from '@mp-pay/shared/wechatpay';
import { attemptOutTradeNo } from '../../src/domain/ids.ts';
import type { NewOrder, Store } from '../../src/store/types.ts';
import { attemptOf } from '../helpers/records.ts';

export interface PlacedOrder {
  id: string;
  outTradeNo: string;
  totalFen: number;
  userId: string;
}

/** `count` PENDING orders created through the store, as the order API would (ids minted by store.ids). */
export async function placeOrders(store: Store, count: number): Promise<PlacedOrder[]> {
  const now = Date.now();
  return Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const userId = store.ids.userId();
      const order: NewOrder = {
        id: store.ids.orderId(now, userId, undefined),
        userId,
        description: 'cluster test order',
        items: [{ productId: 'tea', name: 'Tea', unitPriceFen: 100 + i, quantity: 1, subtotalFen: 100 + i }],
        totalFen: 100 + i,
        createdAt: now,
        expiresAt: now + 3_600_000,
      };
      const result = await store.orders.createOrder(order, attemptOf(order), {
        fingerprint: 'fp',
        idempotencyTtlSeconds: 600,
        queryDueAt: now + 3_600_000,
      });
      if (result.kind !== 'created') throw new Error(`order not created: ${result.kind}`);
      return { id: order.id, outTradeNo: attemptOutTradeNo(order.id, 1), totalFen: order.totalFen, userId };
    }),
  );
}

/** The payment notification WeChat sends for `order` (sandbox merchant, MD5), one transaction id per order. */
export function notificationFor(order: PlacedOrder): string {
  return signedPaymentNotification({
    appId: SANDBOX_DEMO.appId,
    mchId: SANDBOX_DEMO.mchId,
    key: SANDBOX_DEMO.key,
    outTradeNo: order.outTradeNo,
    totalFee: order.totalFen,
    transactionId: `4200${order.id.slice(-16)}`,
    openid: `oBuyer${order.userId}`,
    timeEnd: '20260101120000',
    bankType: 'CMB_CREDIT',
  }).xml;
}

/** Posts one notification; true only for an acknowledged one (HTTP 200 with return_code SUCCESS). */
export async function notify(serverUrl: string, xml: string): Promise<boolean> {
  try {
    const res = await fetch(`${serverUrl}/wechatpay/notify`, {
      method: 'POST',
      headers: { 'content-type': 'text/xml' },
      body: xml,
      signal: AbortSignal.timeout(10_000),
    });
    const body = await res.text();
    return res.status === 200 && /<return_code><!\[CDATA\[SUCCESS\]\]><\/return_code>/.test(body);
  } catch {
    return false;
  }
}

/** order.paid events per order, across every shard's stream. */
export async function paidEvents(store: Store): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const e of await store.events.readEvents()) {
    if (e.type === 'order.paid') counts.set(e.orderId, (counts.get(e.orderId) ?? 0) + 1);
  }
  return counts;
}

/** Runs `work` over `items`, at most `limit` at a time. */
export async function inBatches<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) await work(items[next++] as T);
    }),
  );
}

/** Store records for tests that talk to a store directly: a pending order and its payment attempts. */
import { attemptOutTradeNo, newOrderId } from '../../src/domain/ids.ts';
import type { NewAttempt, NewOrder } from '../../src/store/types.ts';

export function newOrder(userId: string, overrides: Partial<NewOrder> = {}): NewOrder {
  const createdAt = overrides.createdAt ?? Date.now();
  return {
    id: newOrderId(createdAt),
    userId,
    description: 'mp-pay test order',
    items: [{ productId: 'tea', name: 'Tea', unitPriceFen: 150, quantity: 2, subtotalFen: 300 }],
    totalFen: 300,
    createdAt,
    expiresAt: createdAt + 60_000,
    ...overrides,
  };
}

/** Attempt `seq` of `order`, as the server opens it for a mini-program buyer. */
export function attemptOf(order: NewOrder, seq = 1, overrides: Partial<NewAttempt> = {}): NewAttempt {
  return {
    outTradeNo: attemptOutTradeNo(order.id, seq),
    orderId: order.id,
    seq,
    channel: 'miniprogram',
    apiVersion: 'v2',
    signType: 'MD5',
    appId: 'wx5ad0b0c0de5a4db0',
    payerOpenid: 'oBuyer' + order.userId,
    totalFen: order.totalFen,
    description: order.description,
    clientIp: '127.0.0.1',
    notifyUrl: 'http://127.0.0.1:3000/wechatpay/notify',
    createdAt: order.createdAt,
    expiresAt: order.expiresAt,
    ...overrides,
  };
}

/** A failed payment (PAYERROR) ending an attempt, for the store's endAttempt. */
export const paymentFailed = (closeDueAt: number) => ({
  reason: 'failed' as const,
  tradeState: 'failed' as const,
  closeDueAt,
  at: Date.now(),
});

import type { Redis } from 'ioredis';

/**
 * order.paid events per order, read straight from the server's Redis stream (`<prefix>events`): the ledger a
 * fulfilment consumer would read, so "exactly once" is checked where it matters.
 */
export async function paidEventsByOrder(redis: Redis, prefix: string): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const [, fields] of await redis.xrange(`${prefix}events`, '-', '+')) {
    const map = new Map<string, string>();
    for (let i = 0; i + 1 < fields.length; i += 2) map.set(fields[i] as string, fields[i + 1] as string);
    const orderId = map.get('orderId');
    if (map.get('type') === 'order.paid' && orderId) counts.set(orderId, (counts.get(orderId) ?? 0) + 1);
  }
  return counts;
}

export async function orderStatus(redis: Redis, prefix: string, id: string): Promise<string | null> {
  return redis.hget(`${prefix}order:{${id}}`, 'status');
}

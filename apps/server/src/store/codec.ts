/** Order <-> flat string map (the Redis hash layout), and the opaque pagination cursor. */
import type { OrderLine, OrderStatus } from '@mp-pay/shared/api';
import type { ListPosition as CursorPosition, NewOrder, OrderRecord, PayRequest } from './types.ts';

interface OrderDoc {
  description: string;
  items: OrderLine[];
  payRequest: PayRequest;
}

export function orderDoc(order: NewOrder): string {
  const doc: OrderDoc = { description: order.description, items: order.items, payRequest: order.payRequest };
  return JSON.stringify(doc);
}

export function orderFromHash(hash: Record<string, string>): OrderRecord | undefined {
  if (!hash.id || !hash.status || !hash.doc) return undefined;
  const doc = JSON.parse(hash.doc) as OrderDoc;
  const order: OrderRecord = {
    id: hash.id,
    outTradeNo: hash.id,
    openid: hash.openid ?? '',
    status: hash.status as OrderStatus,
    description: doc.description,
    items: doc.items,
    totalFen: Number(hash.totalFen),
    createdAt: Number(hash.createdAt),
    expiresAt: Number(hash.expiresAt),
    payRequest: doc.payRequest,
  };
  if (hash.prepayId) order.prepayId = hash.prepayId;
  if (hash.paidAt) order.paidAt = Number(hash.paidAt);
  if (hash.transactionId) order.transactionId = hash.transactionId;
  if (hash.timeEnd) order.timeEnd = hash.timeEnd;
  if (hash.paidVia) order.paidVia = hash.paidVia;
  if (hash.closedAt) order.closedAt = Number(hash.closedAt);
  if (hash.closeReason) order.closeReason = hash.closeReason;
  return order;
}

export function encodeCursor(position: CursorPosition): string {
  return Buffer.from(`${position.createdAt}:${position.id}`, 'utf8').toString('base64url');
}

/** Undefined for a cursor this server did not issue. */
export function decodeCursor(cursor: string): CursorPosition | undefined {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const match = /^(\d{1,16}):([0-9A-Za-z_\-|*]{1,32})$/.exec(text);
  if (!match) return undefined;
  return { createdAt: Number(match[1]), id: match[2] as string };
}

/** Newest first; equal timestamps ordered by id, descending (Redis ZREVRANGE order). */
export function isAfterCursor(entry: CursorPosition, cursor: CursorPosition): boolean {
  return entry.createdAt < cursor.createdAt || (entry.createdAt === cursor.createdAt && entry.id < cursor.id);
}

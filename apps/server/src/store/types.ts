/**
 * Storage contract of the server. Two implementations (Redis for real use, memory for the zero-config
 * `pnpm start`) pass one contract test suite (test/store.contract.test.ts).
 *
 * Every order state change is one atomic operation here (one Lua script in Redis): the status compare-and-set,
 * the amount check, the `order.paid` / `order.closed` event append and the due-set bookkeeping happen together or
 * not at all, so several server processes can race on the same order safely.
 */
import type { OrderLine, OrderStatus } from '@mp-pay/shared/api';

/** The exact unifiedorder parameters: WeChat only returns a fresh prepay_id for an identical re-submission. */
export interface PayRequest {
  body: string;
  spbillCreateIp: string;
  notifyUrl: string;
  timeStart: string;
  timeExpire: string;
}

export interface OrderRecord {
  /** Equal to outTradeNo: one identifier per order keeps every key of an order under one hash tag. */
  id: string;
  outTradeNo: string;
  openid: string;
  status: OrderStatus;
  description: string;
  items: OrderLine[];
  totalFen: number;
  /** Epoch milliseconds. */
  createdAt: number;
  expiresAt: number;
  payRequest: PayRequest;
  prepayId?: string;
  paidAt?: number;
  transactionId?: string;
  timeEnd?: string;
  /** What made it PAID: `notify`, `query` (orderquery) or `close` (closeorder said ORDERPAID). */
  paidVia?: string;
  closedAt?: number;
  closeReason?: string;
}

export type NewOrder = Pick<
  OrderRecord,
  | 'id'
  | 'outTradeNo'
  | 'openid'
  | 'description'
  | 'items'
  | 'totalFen'
  | 'createdAt'
  | 'expiresAt'
  | 'payRequest'
>;

export interface CreateOrderOptions {
  /** Scoped to the order's openid. */
  idempotencyKey?: string;
  /** Hash of the request; the same key with another fingerprint is a conflict. */
  fingerprint: string;
  idempotencyTtlSeconds: number;
  /** When the background worker should first ask WeChat about this order (absent a notification). */
  queryDueAt: number;
}

export type CreateOrderResult =
  { kind: 'created'; order: OrderRecord } | { kind: 'replayed'; order: OrderRecord } | { kind: 'conflict' };

export type SetPrepayResult =
  { kind: 'ok' } | { kind: 'not_pending'; status: OrderStatus } | { kind: 'not_found' };

export interface PaymentFacts {
  transactionId: string;
  /** The amount WeChat reports, in fen. Must equal the order's total or nothing changes. */
  totalFee: number;
  timeEnd: string;
  paidAt: number;
  source: 'notify' | 'query' | 'close';
}

export type MarkPaidResult =
  /** This call made the order PAID and appended exactly one order.paid event. */
  | { kind: 'paid'; previous: OrderStatus }
  /** Already PAID: nothing changed. `sameTransaction` false means WeChat reports another transaction_id. */
  | { kind: 'duplicate'; sameTransaction: boolean }
  | { kind: 'amount_mismatch'; expectedFen: number }
  | { kind: 'not_found' };

export type MarkClosedResult =
  { kind: 'closed' } | { kind: 'already_closed' } | { kind: 'already_paid' } | { kind: 'not_found' };

export type DueQueue = 'query' | 'expire';

export interface DueClaim {
  orderId: string;
  /** 1 on the first claim of this order in this queue, then 2, 3, ... (drives the backoff). */
  attempt: number;
}

export interface OrderEvent {
  id: string;
  type: 'order.paid' | 'order.closed';
  orderId: string;
  outTradeNo: string;
  transactionId?: string;
  totalFen: number;
  source: string;
  at: number;
}

export interface OrderPage {
  orders: OrderRecord[];
  /** Whether older orders exist after the last one returned. */
  hasMore: boolean;
}

/** A position in a buyer's order list: the last order of the previous page. */
export interface ListPosition {
  createdAt: number;
  id: string;
}

export interface OrderStore {
  readonly kind: 'redis' | 'memory';
  createOrder(order: NewOrder, options: CreateOrderOptions): Promise<CreateOrderResult>;
  getOrder(id: string): Promise<OrderRecord | undefined>;
  /** A buyer's orders, newest first, starting after `after` (the last order of the previous page). */
  listOrders(openid: string, page: { limit: number; after?: ListPosition | undefined }): Promise<OrderPage>;
  setPrepayId(id: string, prepayId: string): Promise<SetPrepayResult>;
  markPaid(id: string, facts: PaymentFacts): Promise<MarkPaidResult>;
  markClosed(id: string, closing: { closedAt: number; reason: string }): Promise<MarkClosedResult>;
  /**
   * Atomically takes up to `limit` orders due at `now` from a queue and pushes each one's due time to
   * `now + leaseMs`, so no other process takes it until the lease runs out (a crashed worker's jobs come back).
   */
  claimDue(queue: DueQueue, now: number, leaseMs: number, limit: number): Promise<DueClaim[]>;
  /** Sets the next due time, only if the order is still queued (a transition may have removed it meanwhile). */
  reschedule(queue: DueQueue, id: string, dueAt: number): Promise<void>;
  /** Removes an order from a queue (nothing left to do there). */
  finishDue(queue: DueQueue, id: string): Promise<void>;
  /** The event stream, oldest first (operations and tests; consumers read the Redis stream directly). */
  readEvents(): Promise<OrderEvent[]>;
}

export interface SessionData {
  openid: string;
  /** Server-side only: never sent to a client, never logged. */
  sessionKey: string;
  createdAt: number;
}

export interface SessionStore {
  /** `id` is the SHA-256 of the bearer token, so a store dump holds no usable token. */
  createSession(id: string, data: SessionData, ttlSeconds: number): Promise<void>;
  /** Returns the session and restarts its TTL (sliding expiry), or undefined when unknown or expired. */
  touchSession(id: string, ttlSeconds: number): Promise<SessionData | undefined>;
}

export interface Store {
  orders: OrderStore;
  sessions: SessionStore;
  /** Resolves when the backing store answers (readiness). */
  ping(): Promise<void>;
  close(): Promise<void>;
}

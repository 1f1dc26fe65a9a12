/**
 * In-memory store for the zero-config `pnpm start` and development: the same contract as the Redis store
 * (test/store.contract.test.ts runs against both). Each method runs synchronously to completion, which gives
 * the same atomicity a Lua script gives in Redis within one process. Nothing survives a restart, and several
 * processes do not share it: NODE_ENV=production refuses it.
 */
import { isAfterCursor } from '../codec.ts';
import type {
  CreateOrderOptions,
  CreateOrderResult,
  DueClaim,
  DueQueue,
  ListPosition,
  MarkClosedResult,
  MarkPaidResult,
  NewOrder,
  OrderEvent,
  OrderPage,
  OrderRecord,
  OrderStore,
  PaymentFacts,
  SessionData,
  SessionStore,
  SetPrepayResult,
  Store,
} from '../types.ts';

const clone = <T>(value: T): T => structuredClone(value);

interface Queue {
  due: Map<string, number>;
  attempts: Map<string, number>;
}

export class MemoryOrderStore implements OrderStore {
  readonly kind = 'memory' as const;
  readonly #orders = new Map<string, OrderRecord>();
  readonly #byUser = new Map<string, ListPosition[]>();
  readonly #idempotency = new Map<string, { fingerprint: string; id: string; expiresAt: number }>();
  readonly #queues: Record<DueQueue, Queue> = {
    query: { due: new Map(), attempts: new Map() },
    expire: { due: new Map(), attempts: new Map() },
  };
  readonly #events: OrderEvent[] = [];
  #eventSeq = 0;

  async createOrder(order: NewOrder, options: CreateOrderOptions): Promise<CreateOrderResult> {
    this.#sweepIdempotency();
    const idemKey =
      options.idempotencyKey === undefined ? undefined : `${order.openid}\n${options.idempotencyKey}`;
    if (idemKey !== undefined) {
      const previous = this.#idempotency.get(idemKey);
      if (previous && previous.expiresAt > Date.now()) {
        if (previous.fingerprint !== options.fingerprint) return { kind: 'conflict' };
        const existing = this.#orders.get(previous.id);
        if (existing) return { kind: 'replayed', order: clone(existing) };
      }
    }
    if (this.#orders.has(order.id)) throw new Error(`order id ${order.id} already exists`);
    const record: OrderRecord = { ...clone(order), status: 'PENDING' };
    this.#orders.set(order.id, record);
    const list = this.#byUser.get(order.openid) ?? [];
    list.push({ createdAt: order.createdAt, id: order.id });
    this.#byUser.set(order.openid, list);
    this.#queues.query.due.set(order.id, options.queryDueAt);
    this.#queues.expire.due.set(order.id, order.expiresAt);
    if (idemKey !== undefined) {
      this.#idempotency.set(idemKey, {
        fingerprint: options.fingerprint,
        id: order.id,
        expiresAt: Date.now() + options.idempotencyTtlSeconds * 1000,
      });
    }
    return { kind: 'created', order: clone(record) };
  }

  async getOrder(id: string): Promise<OrderRecord | undefined> {
    const order = this.#orders.get(id);
    return order && clone(order);
  }

  async listOrders(
    openid: string,
    page: { limit: number; after?: ListPosition | undefined },
  ): Promise<OrderPage> {
    const after = page.after;
    const sorted = [...(this.#byUser.get(openid) ?? [])]
      .sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0))
      .filter((e) => after === undefined || isAfterCursor(e, after));
    const orders = sorted
      .slice(0, page.limit)
      .map((e) => this.#orders.get(e.id))
      .filter((o): o is OrderRecord => o !== undefined)
      .map(clone);
    return { orders, hasMore: sorted.length > page.limit };
  }

  async setPrepayId(id: string, prepayId: string): Promise<SetPrepayResult> {
    const order = this.#orders.get(id);
    if (!order) return { kind: 'not_found' };
    if (order.status !== 'PENDING') return { kind: 'not_pending', status: order.status };
    order.prepayId = prepayId;
    return { kind: 'ok' };
  }

  async markPaid(id: string, facts: PaymentFacts): Promise<MarkPaidResult> {
    const order = this.#orders.get(id);
    if (!order) return { kind: 'not_found' };
    if (order.status === 'PAID') {
      return { kind: 'duplicate', sameTransaction: order.transactionId === facts.transactionId };
    }
    if (order.totalFen !== facts.totalFee) return { kind: 'amount_mismatch', expectedFen: order.totalFen };
    const previous = order.status;
    Object.assign(order, {
      status: 'PAID',
      transactionId: facts.transactionId,
      timeEnd: facts.timeEnd,
      paidAt: facts.paidAt,
      paidVia: facts.source,
    });
    this.#dequeue(id);
    this.#append({
      type: 'order.paid',
      orderId: id,
      outTradeNo: id,
      transactionId: facts.transactionId,
      totalFen: order.totalFen,
      source: facts.source,
      at: facts.paidAt,
    });
    return { kind: 'paid', previous };
  }

  async markClosed(id: string, closing: { closedAt: number; reason: string }): Promise<MarkClosedResult> {
    const order = this.#orders.get(id);
    if (!order) return { kind: 'not_found' };
    if (order.status === 'CLOSED') return { kind: 'already_closed' };
    if (order.status === 'PAID') return { kind: 'already_paid' };
    Object.assign(order, { status: 'CLOSED', closedAt: closing.closedAt, closeReason: closing.reason });
    this.#dequeue(id);
    this.#append({
      type: 'order.closed',
      orderId: id,
      outTradeNo: id,
      totalFen: order.totalFen,
      source: closing.reason,
      at: closing.closedAt,
    });
    return { kind: 'closed' };
  }

  async claimDue(queue: DueQueue, now: number, leaseMs: number, limit: number): Promise<DueClaim[]> {
    const q = this.#queues[queue];
    const due = [...q.due.entries()]
      .filter(([, at]) => at <= now)
      .sort((a, b) => a[1] - b[1] || (a[0] < b[0] ? -1 : 1))
      .slice(0, limit);
    return due.map(([orderId]) => {
      q.due.set(orderId, now + leaseMs);
      const attempt = (q.attempts.get(orderId) ?? 0) + 1;
      q.attempts.set(orderId, attempt);
      return { orderId, attempt };
    });
  }

  async reschedule(queue: DueQueue, id: string, dueAt: number): Promise<void> {
    const q = this.#queues[queue];
    if (q.due.has(id)) q.due.set(id, dueAt);
  }

  async finishDue(queue: DueQueue, id: string): Promise<void> {
    this.#queues[queue].due.delete(id);
    this.#queues[queue].attempts.delete(id);
  }

  async readEvents(): Promise<OrderEvent[]> {
    return this.#events.map(clone);
  }

  #lastIdempotencySweep = 0;
  /** Forgets expired idempotency keys, at most once a minute (Redis expires them by TTL). */
  #sweepIdempotency(): void {
    const now = Date.now();
    if (now - this.#lastIdempotencySweep < 60_000) return;
    this.#lastIdempotencySweep = now;
    for (const [key, entry] of this.#idempotency) if (entry.expiresAt <= now) this.#idempotency.delete(key);
  }

  #dequeue(id: string): void {
    for (const q of Object.values(this.#queues)) {
      q.due.delete(id);
      q.attempts.delete(id);
    }
  }

  #append(event: Omit<OrderEvent, 'id'>): void {
    this.#eventSeq += 1;
    this.#events.push({ id: `${event.at}-${this.#eventSeq}`, ...event });
  }
}

export class MemorySessionStore implements SessionStore {
  readonly #sessions = new Map<string, { data: SessionData; expiresAt: number }>();

  async createSession(id: string, data: SessionData, ttlSeconds: number): Promise<void> {
    this.#sweep();
    this.#sessions.set(id, { data: clone(data), expiresAt: Date.now() + ttlSeconds * 1000 });
  }

  async touchSession(id: string, ttlSeconds: number): Promise<SessionData | undefined> {
    const entry = this.#sessions.get(id);
    if (!entry) return undefined;
    if (entry.expiresAt <= Date.now()) {
      this.#sessions.delete(id);
      return undefined;
    }
    entry.expiresAt = Date.now() + ttlSeconds * 1000;
    return clone(entry.data);
  }

  #lastSweep = 0;

  /** Drops expired sessions (at most once a minute) so a long-running development server does not grow. */
  #sweep(): void {
    const now = Date.now();
    if (now - this.#lastSweep < 60_000) return;
    this.#lastSweep = now;
    for (const [id, entry] of this.#sessions) if (entry.expiresAt <= now) this.#sessions.delete(id);
  }
}

export function createMemoryStore(): Store {
  return {
    orders: new MemoryOrderStore(),
    sessions: new MemorySessionStore(),
    ping: async () => {},
    close: async () => {},
  };
}

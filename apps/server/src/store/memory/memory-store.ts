/**
 * In-memory store for the zero-config `pnpm start` and development: the same contract as the Redis store
 * (test/store.contract.test.ts runs against both), transition for transition (each method mirrors one Lua
 * script in src/store/lua). Each method runs synchronously to completion, which gives the atomicity a Lua script
 * gives in Redis within one process. Nothing survives a restart, and several processes do not share it:
 * NODE_ENV=production refuses it.
 */
import { DEFAULT_EVENTS_MAX_LEN, DEFAULT_SHARDS, idMinter, shardOf } from '../shards.ts';
import type { OrderStatus } from '@mp-pay/shared/api';
import {
  MAX_ATTEMPTS_PER_ORDER,
  MAX_COMBINE_ATTEMPTS,
  orderIdOf,
  orderIdOfRefund,
} from '../../domain/ids.ts';
import type { Prepared, TradeState } from '../../gateway/types.ts';
import { isAfterCursor, subOrderAttempts } from '../codec.ts';
import {
  COMBINE_PARTIAL_BY,
  COMBINE_PARTIAL_REASON,
  DOUBLE_PAYMENT_BY,
  DOUBLE_PAYMENT_REASON,
  DUE_QUEUES,
} from '../types.ts';
import type {
  AnswerPaidMessageResult,
  FinishPaidMessageResult,
  PaidMessageRecord,
  AskRefundResult,
  AttemptEndReason,
  AttemptRecord,
  DecideRefundResult,
  AttemptStore,
  ClaimRelease,
  CloseAttemptResult,
  CreateOrderOptions,
  CreateOrderResult,
  DueClaim,
  DueQueue,
  EndAttemptResult,
  EventStore,
  MarkRefundSentResult,
  NewRefund,
  RefundRecord,
  RefundRules,
  RefundStore,
  RequestRefundResult,
  SettleRefundResult,
  Identity,
  ListPosition,
  MarkClosedResult,
  MarkCombineResult,
  MarkPaidResult,
  NewAttempt,
  NewOrder,
  OpenAttemptResult,
  OrderEvent,
  OrderPage,
  OrderRecord,
  OrderStore,
  PaymentFacts,
  QueueStore,
  ResolveIdentityResult,
  SessionData,
  SessionStore,
  SetPreparedResult,
  SetScanPrepayResult,
  Store,
  SubOrderReport,
  UserRecord,
  UserStore,
} from '../types.ts';

import { MemoryRateLimitStore } from './memory-rate-limit.ts';
import { MemoryAccessTokenStore } from './memory-access-tokens.ts';
import type {
  ExternalRefund,
  ReconciliationCompleted,
  ReconciliationStore,
  RecordExternalRefundResult,
  StoredReport,
} from '../reconciliations.ts';

const clone = <T>(value: T): T => structuredClone(value);

/** An order that was paid stays paid through its refunds (lib/transition.lua's is_paid). */
const isPaid = (status: string) =>
  status === 'PAID' || status === 'PARTIALLY_REFUNDED' || status === 'REFUNDED';

interface Queue {
  due: Map<string, number>;
  claims: Map<string, number>;
}

/** The data every concern shares, as the Redis keys are shared by the scripts. */
class MemoryData {
  readonly orders = new Map<string, OrderRecord>();
  /** order id → out_trade_no → attempt. */
  readonly attempts = new Map<string, Map<string, AttemptRecord>>();
  readonly byUser = new Map<string, ListPosition[]>();
  readonly idempotency = new Map<string, { fingerprint: string; id: string; expiresAt: number }>();
  readonly identities = new Map<string, string>();
  readonly users = new Map<string, UserRecord>();
  readonly queues: Record<DueQueue, Queue> = {
    query: { due: new Map(), claims: new Map() },
    close: { due: new Map(), claims: new Map() },
    refund: { due: new Map(), claims: new Map() },
    message: { due: new Map(), claims: new Map() },
  };
  /** order id → out_refund_no → refund. */
  readonly refunds = new Map<string, Map<string, RefundRecord>>();
  /** out_trade_no → the payment's refund bookkeeping (request-refund.lua's attempt fields). */
  readonly refundTotals = new Map<
    string,
    { reserved: number; refunded: number; count: number; lastDue: number }
  >();
  readonly events: OrderEvent[] = [];
  #eventSeq = 0;
  /** Events kept per shard, like XADD MAXLEN on each shard's stream (lib/transition.lua). */
  readonly #perShard: number[];

  constructor(
    readonly shards: number = DEFAULT_SHARDS,
    readonly eventsMaxLen: number = DEFAULT_EVENTS_MAX_LEN,
  ) {
    this.#perShard = new Array<number>(shards).fill(0);
  }

  attempt(outTradeNo: string): AttemptRecord | undefined {
    const orderId = orderIdOf(outTradeNo);
    return orderId === undefined ? undefined : this.attempts.get(orderId)?.get(outTradeNo);
  }

  // ---- the steps of src/store/lua/lib/transition.lua ----

  dequeue(queue: DueQueue, id: string): void {
    this.queues[queue].due.delete(id);
    this.queues[queue].claims.delete(id);
  }

  dueBy(queue: DueQueue, id: string, at: number): void {
    const due = this.queues[queue].due;
    const current = due.get(id);
    if (current === undefined || at < current) due.set(id, at);
  }

  unsettled(orderId: string): number {
    let n = 0;
    for (const a of this.attempts.get(orderId)?.values() ?? [])
      if (a.combineOf === undefined && (a.state === 'OPEN' || a.state === 'ENDED')) n++;
    return n;
  }

  /** lib/transition.lua write_subs: a combine's sub-orders as attempts of their own, listed in `subs`. */
  writeSubs(attempts: Map<string, AttemptRecord>, combine: AttemptRecord): void {
    const subs = subOrderAttempts(combine);
    if (subs.length === 0) return;
    for (const sub of subs) attempts.set(sub.outTradeNo, { ...sub, state: 'OPEN' });
    combine.subs = subs.map((s) => s.outTradeNo);
  }

  /** lib/transition.lua refunded_status: the order's status after a refund of `trade` succeeded. */
  refundedStatus(order: OrderRecord, trade: string): void {
    const of = this.attempt(trade)?.combineOf;
    if (order.paidAttempt !== trade && (of === undefined || order.paidAttempt !== of)) return;
    const refunded =
      of === undefined
        ? (this.refundTotals.get(trade)?.refunded ?? 0)
        : (this.attempt(of)?.subs ?? []).reduce(
            (sum, no) => sum + (this.refundTotals.get(no)?.refunded ?? 0),
            0,
          );
    order.status = refunded >= (order.paidFen ?? order.totalFen) ? 'REFUNDED' : 'PARTIALLY_REFUNDED';
  }

  /** lib/transition.lua paid_sub: whether a combine has a paid sub-order. */
  paidSub(combine: AttemptRecord): boolean {
    return (combine.subs ?? []).some((no) => this.attempt(no)?.state === 'PAID');
  }

  /** lib/transition.lua close_subs. */
  closeSubs(combine: AttemptRecord, at: number): void {
    for (const no of combine.subs ?? []) {
      const sub = this.attempt(no);
      if (sub?.state === 'OPEN') Object.assign(sub, { state: 'CLOSED', closedAt: at, tradeState: 'closed' });
    }
  }

  settleCloseQueue(orderId: string, at: number): void {
    if (this.unsettled(orderId) === 0) this.dequeue('close', orderId);
    else this.dueBy('close', orderId, at);
  }

  emit(event: Omit<OrderEvent, 'id'>): void {
    this.#eventSeq += 1;
    this.events.push({ id: `${event.at}-${this.#eventSeq}`, ...event });
    // The trimming of the shard's stream, exact here where Redis trims whole nodes (MAXLEN ~): the oldest
    // entries of the event's shard go once it holds more than eventsMaxLen.
    const shard = shardOf(event.orderId, this.shards);
    this.#perShard[shard] = (this.#perShard[shard] ?? 0) + 1;
    if ((this.#perShard[shard] ?? 0) > this.eventsMaxLen) {
      const oldest = this.events.findIndex((e) => shardOf(e.orderId, this.shards) === shard);
      this.events.splice(oldest, 1);
      this.#perShard[shard] = this.eventsMaxLen;
    }
  }
}

export class MemoryOrderStore implements OrderStore {
  readonly kind = 'memory' as const;
  #lastIdempotencySweep = 0;
  constructor(private readonly d: MemoryData) {}

  async createOrder(
    order: NewOrder,
    first: NewAttempt,
    options: CreateOrderOptions,
  ): Promise<CreateOrderResult> {
    const d = this.d;
    this.#sweepIdempotency();
    const idemKey =
      options.idempotencyKey === undefined ? undefined : `${order.userId}\n${options.idempotencyKey}`;
    if (idemKey !== undefined) {
      const previous = d.idempotency.get(idemKey);
      if (previous && previous.expiresAt > Date.now()) {
        if (previous.fingerprint !== options.fingerprint) return { kind: 'conflict' };
        const existing = d.orders.get(previous.id);
        if (existing) return { kind: 'replayed', order: clone(existing) };
      }
    }
    if (d.orders.has(order.id)) throw new Error(`order id ${order.id} already exists`);
    const record: OrderRecord = {
      ...clone(order),
      status: 'PENDING',
      currentAttempt: first.outTradeNo,
      attemptCount: 1,
    };
    d.orders.set(order.id, record);
    const firstRecord: AttemptRecord = { ...clone(first), state: 'OPEN' };
    const attempts = new Map([[first.outTradeNo, firstRecord]]);
    d.writeSubs(attempts, firstRecord);
    d.attempts.set(order.id, attempts);
    const list = d.byUser.get(order.userId) ?? [];
    list.push({ createdAt: order.createdAt, id: order.id });
    d.byUser.set(order.userId, list);
    d.queues.query.due.set(order.id, options.queryDueAt);
    d.queues.close.due.set(order.id, order.expiresAt);
    if (idemKey !== undefined) {
      d.idempotency.set(idemKey, {
        fingerprint: options.fingerprint,
        id: order.id,
        expiresAt: Date.now() + options.idempotencyTtlSeconds * 1000,
      });
    }
    return { kind: 'created', order: clone(record), attempt: clone(firstRecord) };
  }

  async getOrder(id: string): Promise<OrderRecord | undefined> {
    const order = this.d.orders.get(id);
    return order && clone(order);
  }

  async listOrders(
    userId: string,
    page: { limit: number; after?: ListPosition | undefined },
  ): Promise<OrderPage> {
    return this.#page(this.d.byUser.get(userId) ?? [], page);
  }

  async listByStatus(
    status: OrderStatus,
    page: { limit: number; after?: ListPosition | undefined },
  ): Promise<OrderPage> {
    const positions = [...this.d.orders.values()]
      .filter((o) => o.status === status)
      .map((o) => ({ createdAt: o.createdAt, id: o.id }));
    return this.#page(positions, page);
  }

  /** A page of an order index, newest first, as the Redis store reads its sorted sets. */
  #page(positions: ListPosition[], page: { limit: number; after?: ListPosition | undefined }): OrderPage {
    const after = page.after;
    const sorted = [...positions]
      .sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0))
      .filter((e) => after === undefined || isAfterCursor(e, after));
    const orders = sorted
      .slice(0, page.limit)
      .map((e) => this.d.orders.get(e.id))
      .filter((o): o is OrderRecord => o !== undefined)
      .map(clone);
    return { orders, hasMore: sorted.length > page.limit };
  }

  async markClosed(
    id: string,
    closing: { closedAt: number; reason: string; closedAttempt: string | undefined },
  ): Promise<MarkClosedResult> {
    const d = this.d;
    const order = d.orders.get(id);
    if (!order) return { kind: 'not_found' };
    if (order.status === 'CLOSED') return { kind: 'already_closed' };
    if (isPaid(order.status)) return { kind: 'already_paid' };
    const current = d.attempts.get(id)?.get(order.currentAttempt);
    if (current && current.outTradeNo !== closing.closedAttempt && current.state === 'OPEN') {
      return { kind: 'attempt_open', outTradeNo: current.outTradeNo };
    }
    const closed =
      closing.closedAttempt === undefined ? undefined : d.attempts.get(id)?.get(closing.closedAttempt);
    if (closed && d.paidSub(closed)) return { kind: 'already_paid' };
    if (closed && closed.state !== 'PAID') {
      Object.assign(closed, { state: 'CLOSED', closedAt: closing.closedAt, tradeState: 'closed' });
      d.closeSubs(closed, closing.closedAt);
    }
    Object.assign(order, { status: 'CLOSED', closedAt: closing.closedAt, closeReason: closing.reason });
    d.dequeue('query', id);
    d.settleCloseQueue(id, closing.closedAt);
    d.emit({
      type: 'order.closed',
      orderId: id,
      outTradeNo: order.currentAttempt,
      totalFen: order.totalFen,
      source: closing.reason,
      at: closing.closedAt,
    });
    return { kind: 'closed' };
  }

  async askRefund(id: string, ask: { reason: string; at: number }): Promise<AskRefundResult> {
    const order = this.d.orders.get(id);
    if (!order) return { kind: 'not_found' };
    if (order.status !== 'PAID' && order.status !== 'PARTIALLY_REFUNDED') return { kind: 'not_paid' };
    if (order.refundRequest?.state === 'REQUESTED') return { kind: 'open' };
    order.refundRequest = { state: 'REQUESTED', reason: ask.reason, requestedAt: ask.at };
    return { kind: 'asked' };
  }

  async decideRefund(
    id: string,
    decision: { approve: boolean; at: number; by: string; refund: string | undefined },
  ): Promise<DecideRefundResult> {
    const order = this.d.orders.get(id);
    if (!order) return { kind: 'not_found' };
    const request = order.refundRequest;
    if (request?.state !== 'REQUESTED') return { kind: 'not_open', state: request?.state ?? '' };
    Object.assign(request, {
      state: decision.approve ? 'APPROVED' : 'REJECTED',
      decidedAt: decision.at,
      decidedBy: decision.by,
    });
    if (decision.refund !== undefined && decision.refund !== '') request.refund = decision.refund;
    return { kind: 'decided' };
  }

  /** answer-paid-message.lua */
  async answerPaidMessage(
    id: string,
    answer: Pick<PaidMessageRecord, 'templateId' | 'answer' | 'answeredAt' | 'appId' | 'openid'>,
  ): Promise<AnswerPaidMessageResult> {
    const order = this.d.orders.get(id);
    if (!order) return { kind: 'not_found' };
    if (order.paidMessage) return { kind: 'already', state: order.paidMessage.state };
    if (order.status === 'CLOSED') return { kind: 'closed' };
    const accepted = answer.answer === 'accept';
    order.paidMessage = { ...answer, state: accepted ? 'ACCEPTED' : 'DECLINED' };
    if (accepted && order.paidAt !== undefined) {
      this.d.queues.message.due.set(id, answer.answeredAt);
      return { kind: 'answered', queued: true };
    }
    return { kind: 'answered', queued: false };
  }

  /** finish-paid-message.lua */
  async finishPaidMessage(
    id: string,
    outcome: { state: 'SENT' | 'FAILED'; at: number; reason?: string; msgid?: string },
  ): Promise<FinishPaidMessageResult> {
    const message = this.d.orders.get(id)?.paidMessage;
    if (!this.d.orders.has(id)) return { kind: 'not_found' };
    if (message?.state !== 'ACCEPTED') return { kind: 'not_accepted' };
    message.state = outcome.state;
    if (outcome.state === 'SENT') message.sentAt = outcome.at;
    if (outcome.reason) message.reason = outcome.reason;
    if (outcome.msgid) message.msgid = outcome.msgid;
    this.d.dequeue('message', id);
    return { kind: 'finished' };
  }

  /** Forgets expired idempotency keys, at most once a minute (Redis expires them by TTL). */
  #sweepIdempotency(): void {
    const now = Date.now();
    if (now - this.#lastIdempotencySweep < 60_000) return;
    this.#lastIdempotencySweep = now;
    for (const [key, entry] of this.d.idempotency) if (entry.expiresAt <= now) this.d.idempotency.delete(key);
  }
}

export class MemoryAttemptStore implements AttemptStore {
  constructor(private readonly d: MemoryData) {}

  async getAttempt(outTradeNo: string): Promise<AttemptRecord | undefined> {
    const attempt = this.d.attempt(outTradeNo);
    return attempt && clone(attempt);
  }

  async listAttempts(orderId: string): Promise<AttemptRecord[]> {
    return [...(this.d.attempts.get(orderId)?.values() ?? [])].sort((a, b) => a.seq - b.seq).map(clone);
  }

  async openAttempt(
    attempt: NewAttempt,
    options: { supersede: boolean; queryDueAt: number; closeDueAt: number; now: number },
  ): Promise<OpenAttemptResult> {
    const d = this.d;
    const order = d.orders.get(attempt.orderId);
    const attempts = d.attempts.get(attempt.orderId);
    if (!order || !attempts) return { kind: 'not_found' };
    if (order.status !== 'PENDING') return { kind: 'not_pending', status: order.status };
    const current = attempts.get(order.currentAttempt);
    const currentOpen = current?.state === 'OPEN';
    if (currentOpen && !options.supersede) return { kind: 'open_exists', outTradeNo: order.currentAttempt };
    const max = attempt.combine ? MAX_COMBINE_ATTEMPTS : MAX_ATTEMPTS_PER_ORDER;
    if (order.attemptCount >= max) return { kind: 'too_many' };
    if (attempts.has(attempt.outTradeNo)) throw new Error(`attempt ${attempt.outTradeNo} already exists`);
    if (current && currentOpen) {
      Object.assign(current, { state: 'ENDED', endReason: 'superseded', endedAt: options.now });
      d.dueBy('close', order.id, options.closeDueAt);
    }
    const record: AttemptRecord = { ...clone(attempt), state: 'OPEN' };
    attempts.set(attempt.outTradeNo, record);
    d.writeSubs(attempts, record);
    order.currentAttempt = attempt.outTradeNo;
    order.attemptCount += 1;
    d.queues.query.due.set(order.id, options.queryDueAt);
    d.queues.query.claims.delete(order.id);
    d.dueBy('close', order.id, order.expiresAt);
    return { kind: 'opened', attempt: clone(record) };
  }

  async setPrepared(outTradeNo: string, prepared: Prepared, preparedAt?: number): Promise<SetPreparedResult> {
    const attempt = this.d.attempt(outTradeNo);
    const order = attempt && this.d.orders.get(attempt.orderId);
    if (!attempt || !order) return { kind: 'not_found' };
    if (order.status !== 'PENDING' || attempt.state !== 'OPEN') {
      return { kind: 'not_open', orderStatus: order.status, state: attempt.state };
    }
    attempt.prepared = clone(prepared);
    if (preparedAt === undefined) delete attempt.preparedAt;
    else attempt.preparedAt = preparedAt;
    return { kind: 'ok' };
  }

  /** Mirrors set-scan-prepay.lua. */
  async setScanPrepay(outTradeNo: string, prepayId: string, _at: number): Promise<SetScanPrepayResult> {
    const attempt = this.d.attempt(outTradeNo);
    const order = attempt && this.d.orders.get(attempt.orderId);
    if (!attempt || !order) return { kind: 'not_found' };
    if (order.status !== 'PENDING' || attempt.state !== 'OPEN') {
      return { kind: 'not_open', orderStatus: order.status, state: attempt.state };
    }
    const existing = attempt.prepared?.prepayId;
    if (existing !== undefined) return { kind: 'ok', prepayId: existing };
    attempt.prepared = { ...attempt.prepared, prepayId };
    return { kind: 'ok', prepayId };
  }

  async markPaid(outTradeNo: string, facts: PaymentFacts): Promise<MarkPaidResult> {
    const d = this.d;
    const attempt = d.attempt(outTradeNo);
    const order = attempt && d.orders.get(attempt.orderId);
    if (!attempt || !order) return { kind: 'not_found' };
    if ((attempt.mchid ?? '') !== (facts.mchid ?? '')) return { kind: 'other_merchant' };
    if (attempt.state === 'PAID') {
      return { kind: 'duplicate', sameTransaction: attempt.transactionId === facts.transactionId };
    }
    if (order.totalFen !== facts.totalFen) return { kind: 'amount_mismatch', expectedFen: order.totalFen };
    Object.assign(attempt, {
      state: 'PAID',
      transactionId: facts.transactionId,
      paidAt: facts.paidAt,
      paidVia: facts.source,
      tradeState: 'paid',
    });
    const event = {
      orderId: order.id,
      outTradeNo,
      transactionId: facts.transactionId,
      totalFen: order.totalFen,
      source: facts.source,
      at: facts.paidAt,
      ...(attempt.mchid === undefined ? {} : { mchid: attempt.mchid }),
    };
    if (isPaid(order.status)) {
      d.settleCloseQueue(order.id, facts.paidAt);
      d.emit({ type: 'payment.duplicate', ...event });
      // Its full refund, requested in the same step (mark-paid.lua).
      const refund: RefundRecord = {
        outRefundNo: `${outTradeNo}R01`,
        orderId: order.id,
        outTradeNo,
        seq: 1,
        refundFen: order.totalFen,
        totalFen: order.totalFen,
        reason: DOUBLE_PAYMENT_REASON,
        requestedBy: DOUBLE_PAYMENT_BY,
        createdAt: facts.paidAt,
        dueAt: facts.paidAt,
        state: 'PENDING',
      };
      const list = d.refunds.get(order.id) ?? new Map<string, RefundRecord>();
      list.set(refund.outRefundNo, refund);
      d.refunds.set(order.id, list);
      d.refundTotals.set(outTradeNo, {
        reserved: order.totalFen,
        refunded: 0,
        count: 1,
        lastDue: facts.paidAt,
      });
      d.queues.refund.due.set(refund.outRefundNo, facts.paidAt);
      return { kind: 'second_payment', paidAttempt: order.paidAttempt ?? '', refund: refund.outRefundNo };
    }
    const previous = order.status;
    Object.assign(order, {
      status: 'PAID',
      paidAttempt: outTradeNo,
      transactionId: facts.transactionId,
      paidAt: facts.paidAt,
      paidVia: facts.source,
    });
    const current = d.attempts.get(order.id)?.get(order.currentAttempt);
    if (current && current.outTradeNo !== outTradeNo && current.state === 'OPEN') {
      Object.assign(current, { state: 'ENDED', endReason: 'order_paid', endedAt: facts.paidAt });
    }
    d.dequeue('query', order.id);
    d.settleCloseQueue(order.id, facts.paidAt);
    if (order.paidMessage?.state === 'ACCEPTED') d.queues.message.due.set(order.id, facts.paidAt);
    d.emit({ type: 'order.paid', ...event });
    return { kind: 'paid', previous };
  }

  /** Mirrors mark-combine.lua. */
  async markCombine(
    combineNo: string,
    report: { subOrders: SubOrderReport[]; source: 'notify' | 'query' | 'close'; now: number },
  ): Promise<MarkCombineResult> {
    const d = this.d;
    const combine = d.attempt(combineNo);
    const order = combine && d.orders.get(combine.orderId);
    if (!combine || !order || combine.subs === undefined) return { kind: 'not_found' };
    const reports: { sub: AttemptRecord; r: SubOrderReport }[] = [];
    for (const r of report.subOrders) {
      const sub = d.attempt(r.outTradeNo);
      if (sub?.combineOf !== combineNo) return { kind: 'not_found' };
      if (sub.mchid !== r.mchid) return { kind: 'other_merchant', outTradeNo: sub.outTradeNo };
      reports.push({ sub, r });
    }
    for (const { sub, r } of reports) {
      if (r.outcome !== 'paid') continue;
      if (r.totalFen !== sub.totalFen) {
        return { kind: 'amount_mismatch', outTradeNo: sub.outTradeNo, expectedFen: sub.totalFen };
      }
      if (sub.state === 'PAID' && sub.transactionId !== r.transactionId) {
        return { kind: 'other_transaction', outTradeNo: sub.outTradeNo };
      }
    }
    let changed = false;
    const newlyPaid: AttemptRecord[] = [];
    for (const { sub, r } of reports) {
      if (r.outcome === 'paid' && sub.state !== 'PAID') {
        newlyPaid.push(sub);
        Object.assign(sub, {
          state: 'PAID',
          transactionId: r.transactionId,
          paidAt: r.paidAt,
          paidVia: report.source,
          tradeState: 'paid',
        });
        changed = true;
      } else if (r.outcome === 'failed' && sub.state === 'OPEN') {
        Object.assign(sub, { state: 'CLOSED', closedAt: report.now, tradeState: 'failed' });
        changed = true;
      }
    }
    const subs = combine.subs.map((no) => d.attempt(no)).filter((a) => a !== undefined);
    const paidSubs = subs.filter((a) => a.state === 'PAID');
    const closedCount = subs.filter((a) => a.state === 'CLOSED').length;
    const paidFen = paidSubs.reduce((sum, a) => sum + a.totalFen, 0);
    const firstTx = paidSubs[0]?.transactionId;
    const lastPaidAt = paidSubs.reduce((max, a) => Math.max(max, a.paidAt ?? 0), 0);
    const refundPaid = (reason: string, by: string): string[] => {
      const nos: string[] = [];
      for (const sub of paidSubs) {
        // Not twice: a sub-order with a refund already (requested, or recorded from the bill) is left alone.
        if (d.refundTotals.has(sub.outTradeNo)) continue;
        const refund: RefundRecord = {
          outRefundNo: `${sub.outTradeNo}R01`,
          orderId: order.id,
          outTradeNo: sub.outTradeNo,
          seq: 1,
          refundFen: sub.totalFen,
          totalFen: sub.totalFen,
          reason,
          requestedBy: by,
          createdAt: report.now,
          dueAt: report.now,
          state: 'PENDING',
        };
        const list = d.refunds.get(order.id) ?? new Map<string, RefundRecord>();
        list.set(refund.outRefundNo, refund);
        d.refunds.set(order.id, list);
        d.refundTotals.set(sub.outTradeNo, {
          reserved: sub.totalFen,
          refunded: 0,
          count: 1,
          lastDue: report.now,
        });
        d.queues.refund.due.set(refund.outRefundNo, report.now);
        nos.push(refund.outRefundNo);
      }
      return nos;
    };
    const orderPaid = (fen: number | undefined) => {
      Object.assign(order, {
        status: 'PAID',
        paidAttempt: combineNo,
        transactionId: firstTx,
        paidAt: lastPaidAt,
        paidVia: report.source,
      });
      if (fen !== undefined) order.paidFen = fen;
      const current = d.attempts.get(order.id)?.get(order.currentAttempt);
      if (current && current.outTradeNo !== combineNo && current.state === 'OPEN') {
        Object.assign(current, { state: 'ENDED', endReason: 'order_paid', endedAt: report.now });
      }
      d.dequeue('query', order.id);
      d.settleCloseQueue(order.id, report.now);
    };
    const event = (totalFen: number) => ({
      orderId: order.id,
      outTradeNo: combineNo,
      ...(firstTx === undefined ? {} : { transactionId: firstTx }),
      totalFen,
      source: report.source,
      at: lastPaidAt,
    });
    // mark-combine.lua's `subOrders` field: the paid sub-orders, each its merchant's own trade.
    const withSubs = (totalFen: number) => ({
      ...event(totalFen),
      subOrders: paidSubs.map((sub) => ({
        outTradeNo: sub.outTradeNo,
        transactionId: sub.transactionId ?? '',
        totalFen: sub.totalFen,
        mchid: sub.mchid ?? '',
      })),
    });
    const paidState = {
      state: 'PAID' as const,
      transactionId: firstTx,
      paidAt: lastPaidAt,
      paidVia: report.source,
      tradeState: 'paid' as const,
    };
    if (combine.state === 'PAID' || (combine.state === 'CLOSED' && paidSubs.length === 0)) {
      if (newlyPaid.length === 0) return { kind: 'duplicate' };
      // Paid after the combine was settled: the money cannot be delivered against anything, so it goes back.
      const refunds = refundPaid(DOUBLE_PAYMENT_REASON, DOUBLE_PAYMENT_BY);
      d.settleCloseQueue(order.id, report.now);
      d.emit({
        type: 'payment.duplicate',
        ...withSubs(newlyPaid.reduce((sum, a) => sum + a.totalFen, 0)),
        transactionId: newlyPaid[0]?.transactionId ?? '',
      });
      return { kind: 'second_payment', paidAttempt: order.paidAttempt ?? '', refunds };
    }
    if (paidSubs.length === subs.length) {
      Object.assign(combine, paidState);
      if (isPaid(order.status)) {
        d.settleCloseQueue(order.id, report.now);
        const refunds = refundPaid(DOUBLE_PAYMENT_REASON, DOUBLE_PAYMENT_BY);
        d.emit({ type: 'payment.duplicate', ...withSubs(order.totalFen) });
        return { kind: 'second_payment', paidAttempt: order.paidAttempt ?? '', refunds };
      }
      const previous = order.status;
      orderPaid(undefined);
      if (order.paidMessage?.state === 'ACCEPTED') d.queues.message.due.set(order.id, report.now);
      d.emit({ type: 'order.paid', ...withSubs(order.totalFen) });
      return { kind: 'paid', previous };
    }
    if (paidSubs.length + closedCount === subs.length) {
      if (paidSubs.length === 0) {
        if (combine.state !== 'OPEN') return { kind: 'duplicate' };
        Object.assign(combine, {
          state: 'ENDED',
          endReason: 'failed',
          tradeState: 'failed',
          endedAt: report.now,
        });
        d.dequeue('query', order.id);
        d.dueBy('close', order.id, report.now);
        return { kind: 'failed' };
      }
      Object.assign(combine, { ...paidState, partialFen: paidFen });
      // mark-combine.lua: a replaced combine paid in part is refunded and leaves the order as it is.
      const superseded = order.status === 'PENDING' && order.currentAttempt !== combineNo;
      if (isPaid(order.status) || superseded) {
        const refunds = refundPaid(DOUBLE_PAYMENT_REASON, DOUBLE_PAYMENT_BY);
        d.emit({ type: 'payment.duplicate', ...withSubs(paidFen) });
        d.settleCloseQueue(order.id, report.now);
        return { kind: 'second_payment', paidAttempt: order.paidAttempt ?? '', refunds };
      }
      const refunds = refundPaid(COMBINE_PARTIAL_REASON, COMBINE_PARTIAL_BY);
      const previous = order.status;
      orderPaid(paidFen);
      d.emit({ type: 'order.paid', ...withSubs(paidFen), partial: true });
      const { transactionId: _tx, ...partial } = event(paidFen);
      d.emit({ type: 'combine.partial', ...partial, at: report.now });
      return { kind: 'partial', previous, refunds };
    }
    return changed ? { kind: 'progress', paidCount: paidSubs.length } : { kind: 'duplicate' };
  }

  async endAttempt(
    outTradeNo: string,
    ending: { reason: AttemptEndReason; tradeState: TradeState; closeDueAt: number; at: number },
  ): Promise<EndAttemptResult> {
    const d = this.d;
    const attempt = d.attempt(outTradeNo);
    if (!attempt || !d.orders.has(attempt.orderId)) return { kind: 'not_found' };
    if (attempt.state !== 'OPEN') return { kind: 'not_open', state: attempt.state };
    Object.assign(attempt, {
      state: 'ENDED',
      endReason: ending.reason,
      tradeState: ending.tradeState,
      endedAt: ending.at,
    });
    d.dequeue('query', attempt.orderId);
    d.dueBy('close', attempt.orderId, ending.closeDueAt);
    return { kind: 'ended' };
  }

  async markAttemptClosed(outTradeNo: string, closedAt: number): Promise<CloseAttemptResult> {
    const d = this.d;
    const attempt = d.attempt(outTradeNo);
    const order = attempt && d.orders.get(attempt.orderId);
    if (!attempt || !order) return { kind: 'not_found' };
    if (attempt.state === 'CLOSED') return { kind: 'already_closed' };
    if (attempt.state === 'PAID' || d.paidSub(attempt)) return { kind: 'paid' };
    Object.assign(attempt, { state: 'CLOSED', closedAt, tradeState: 'closed' });
    d.closeSubs(attempt, closedAt);
    if (order.status !== 'PENDING' && d.unsettled(order.id) === 0) d.dequeue('close', order.id);
    return { kind: 'closed' };
  }
}

export class MemoryRefundStore implements RefundStore {
  constructor(private readonly d: MemoryData) {}

  async requestRefund(refund: NewRefund, rules: RefundRules): Promise<RequestRefundResult> {
    const d = this.d;
    const attempt = d.attempt(refund.outTradeNo);
    const order = attempt && d.orders.get(attempt.orderId);
    // A combine is refunded through its sub-orders (request-refund.lua).
    if (!attempt || !order || attempt.subs !== undefined) return { kind: 'not_found' };
    if (attempt.state !== 'PAID') return { kind: 'not_paid' };
    if (refund.createdAt - (attempt.paidAt ?? 0) > rules.maxAgeMs) return { kind: 'too_late' };
    const totals = d.refundTotals.get(attempt.outTradeNo) ?? {
      reserved: 0,
      refunded: 0,
      count: 0,
      lastDue: 0,
    };
    // A combine's sub-order is a payment of its own amount (request-refund.lua).
    const paymentFen = attempt.combineOf === undefined ? order.totalFen : attempt.totalFen;
    if (totals.reserved + refund.refundFen > paymentFen) {
      return { kind: 'too_much', remainingFen: paymentFen - totals.reserved };
    }
    if (totals.count >= rules.maxCount) return { kind: 'too_many' };
    const seq = totals.count + 1;
    const dueAt = Math.max(refund.createdAt, totals.lastDue + rules.minSpacingMs);
    const record: RefundRecord = {
      ...clone(refund),
      outRefundNo: `${attempt.outTradeNo}R${String(seq).padStart(2, '0')}`,
      orderId: order.id,
      seq,
      totalFen: paymentFen,
      dueAt,
      state: 'PENDING',
    };
    d.refundTotals.set(attempt.outTradeNo, {
      ...totals,
      reserved: totals.reserved + refund.refundFen,
      count: seq,
      lastDue: dueAt,
    });
    const list = d.refunds.get(order.id) ?? new Map<string, RefundRecord>();
    list.set(record.outRefundNo, record);
    d.refunds.set(order.id, list);
    d.queues.refund.due.set(record.outRefundNo, dueAt);
    return { kind: 'requested', refund: clone(record) };
  }

  #refund(outRefundNo: string): RefundRecord | undefined {
    const orderId = orderIdOfRefund(outRefundNo);
    return orderId === undefined ? undefined : this.d.refunds.get(orderId)?.get(outRefundNo);
  }

  async getRefund(outRefundNo: string): Promise<RefundRecord | undefined> {
    const refund = this.#refund(outRefundNo);
    return refund && clone(refund);
  }

  async listRefunds(orderId: string): Promise<RefundRecord[]> {
    return [...(this.d.refunds.get(orderId)?.values() ?? [])].sort((a, b) => a.seq - b.seq).map(clone);
  }

  async markRefundSent(
    outRefundNo: string,
    sent: { refundId: string | undefined; sentAt: number; queryDueAt: number },
  ): Promise<MarkRefundSentResult> {
    const refund = this.#refund(outRefundNo);
    if (!refund) return { kind: 'not_found' };
    if (refund.state !== 'PENDING') return { kind: 'not_pending', state: refund.state };
    Object.assign(refund, { state: 'PROCESSING', sentAt: sent.sentAt });
    if (sent.refundId !== undefined && sent.refundId !== '') refund.refundId = sent.refundId;
    this.d.queues.refund.due.set(outRefundNo, sent.queryDueAt);
    this.d.queues.refund.claims.delete(outRefundNo);
    return { kind: 'sent' };
  }

  async settleRefund(
    outRefundNo: string,
    outcome: Parameters<RefundStore['settleRefund']>[1],
  ): Promise<SettleRefundResult> {
    const d = this.d;
    const refund = this.#refund(outRefundNo);
    const order = refund && d.orders.get(refund.orderId);
    if (!refund || !order) return { kind: 'not_found' };
    // settle-refund.lua: only the refunded trade's merchant settles it.
    const merchant = d.attempt(refund.outTradeNo)?.mchid;
    const expected = merchant === outcome.ownMchid ? '' : (merchant ?? '');
    if (expected !== (outcome.mchid ?? '')) return { kind: 'other_merchant' };
    if (refund.state === outcome.state || refund.state === 'SUCCESS' || refund.state === 'CLOSED') {
      return { kind: 'unchanged', state: refund.state };
    }
    Object.assign(refund, { state: outcome.state, settledAt: outcome.at });
    if (outcome.refundId !== undefined && outcome.refundId !== '') refund.refundId = outcome.refundId;
    const totals = d.refundTotals.get(refund.outTradeNo) ?? {
      reserved: 0,
      refunded: 0,
      count: 0,
      lastDue: 0,
    };
    if (outcome.state === 'SUCCESS') {
      totals.refunded += refund.refundFen;
      d.refundTotals.set(refund.outTradeNo, totals);
      d.refundedStatus(order, refund.outTradeNo);
    } else if (outcome.state === 'CLOSED') {
      totals.reserved -= refund.refundFen;
    }
    d.refundTotals.set(refund.outTradeNo, totals);
    d.dequeue('refund', outRefundNo);
    const tradeMchid = d.attempt(refund.outTradeNo)?.mchid;
    d.emit({
      type:
        outcome.state === 'SUCCESS'
          ? 'refund.succeeded'
          : outcome.state === 'CLOSED'
            ? 'refund.closed'
            : 'refund.abnormal',
      orderId: order.id,
      outTradeNo: refund.outTradeNo,
      outRefundNo,
      refundFen: refund.refundFen,
      totalFen: order.totalFen,
      source: outcome.source,
      at: outcome.at,
      ...(tradeMchid === undefined ? {} : { mchid: tradeMchid }),
    });
    return { kind: 'settled', orderStatus: order.status };
  }
}

export class MemoryQueueStore implements QueueStore {
  constructor(private readonly d: MemoryData) {}

  /** Each queue's length and earliest due time (the metrics' queue gauges: src/metrics/queue-stats.ts). */
  async depths(): Promise<Record<string, { depth: number; oldestDueAt?: number }>> {
    const out: Record<string, { depth: number; oldestDueAt?: number }> = {};
    for (const queue of DUE_QUEUES) {
      const due = [...this.d.queues[queue].due.values()];
      out[queue] = due.length === 0 ? { depth: 0 } : { depth: due.length, oldestDueAt: Math.min(...due) };
    }
    return out;
  }

  async claimDue(queue: DueQueue, now: number, leaseMs: number, limit: number): Promise<DueClaim[]> {
    const q = this.d.queues[queue];
    const leaseEnd = now + leaseMs;
    const due = [...q.due.entries()]
      .filter(([, at]) => at <= now)
      .sort((a, b) => a[1] - b[1] || (a[0] < b[0] ? -1 : 1))
      .slice(0, limit);
    return due.map(([orderId]) => {
      q.due.set(orderId, leaseEnd);
      const attempt = (q.claims.get(orderId) ?? 0) + 1;
      q.claims.set(orderId, attempt);
      return { orderId, attempt, leaseEnd };
    });
  }

  async release(queue: DueQueue, claim: DueClaim, release: ClaimRelease): Promise<boolean> {
    const q = this.d.queues[queue];
    if (q.due.get(claim.orderId) !== claim.leaseEnd) return false;
    if (release.finish) this.d.dequeue(queue, claim.orderId);
    else q.due.set(claim.orderId, release.dueAt);
    return true;
  }
}

export class MemoryEventStore implements EventStore {
  constructor(private readonly d: MemoryData) {}
  async readEvents(): Promise<OrderEvent[]> {
    return this.d.events.map(clone);
  }

  async *eventPages(options: { count?: number } = {}): AsyncGenerator<OrderEvent[]> {
    const count = options.count ?? 1000;
    // A snapshot, as XRANGE pages of streams that only grow at the end would see the events already there.
    const events = this.d.events.slice();
    for (let i = 0; i < events.length; i += count) yield events.slice(i, i + count).map(clone);
  }
}

export class MemoryUserStore implements UserStore {
  constructor(private readonly d: MemoryData) {}

  async resolveIdentity(
    identity: Identity,
    fresh: { userId: string; createdAt: number },
  ): Promise<ResolveIdentityResult> {
    const key = `${identity.appId}\n${identity.openid}`;
    const existing = this.d.identities.get(key);
    if (existing !== undefined) return { userId: existing, created: false };
    this.d.identities.set(key, fresh.userId);
    this.d.users.set(fresh.userId, {
      id: fresh.userId,
      createdAt: fresh.createdAt,
      identities: { [identity.appId]: identity.openid },
    });
    return { userId: fresh.userId, created: true };
  }

  async getUser(userId: string): Promise<UserRecord | undefined> {
    const user = this.d.users.get(userId);
    return user && clone(user);
  }
}

export class MemorySessionStore implements SessionStore {
  readonly #sessions = new Map<string, { data: SessionData; expiresAt: number }>();
  #lastSweep = 0;

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

  /** Drops expired sessions (at most once a minute) so a long-running development server does not grow. */
  #sweep(): void {
    const now = Date.now();
    if (now - this.#lastSweep < 60_000) return;
    this.#lastSweep = now;
    for (const [id, entry] of this.#sessions) if (entry.expiresAt <= now) this.#sessions.delete(id);
  }
}

export function createMemoryStore(options: { shards?: number; eventsMaxLen?: number } = {}): Store {
  const data = new MemoryData(options.shards, options.eventsMaxLen);
  return {
    kind: 'memory',
    ids: idMinter(data.shards),
    users: new MemoryUserStore(data),
    sessions: new MemorySessionStore(),
    rateLimits: new MemoryRateLimitStore(),
    accessTokens: new MemoryAccessTokenStore(),
    orders: new MemoryOrderStore(data),
    attempts: new MemoryAttemptStore(data),
    refunds: new MemoryRefundStore(data),
    queues: new MemoryQueueStore(data),
    events: new MemoryEventStore(data),
    reconciliations: new MemoryReconciliationStore(data),
    ping: async () => {},
    close: async () => {},
  };
}

/** Mirrors src/store/redis/reconciliation-store.ts and its two scripts (save-reconciliation, record-external-refund). */
export class MemoryReconciliationStore implements ReconciliationStore {
  /** By the Redis key's tail: `<date>` for the shop's own report, `<date>:<mchid>` for another merchant's. */
  readonly #reports = new Map<string, StoredReport>();
  readonly #locks = new Map<string, { owner: string; until: number }>();
  readonly #completed: ReconciliationCompleted[] = [];
  /** order id → out_refund_no → the external refund. */
  readonly #external = new Map<string, Map<string, ExternalRefund>>();
  constructor(private readonly d: MemoryData) {}

  async saveReport(
    date: string,
    report: { json: string; csv: string; counts: Record<string, number> },
    now: number,
    merchant?: string,
  ): Promise<{ changed: boolean }> {
    const key = merchant === undefined ? date : `${date}:${merchant}`;
    const before = this.#reports.get(key);
    const changed = before?.json !== report.json;
    this.#reports.set(key, {
      json: report.json,
      csv: report.csv,
      runs: (before?.runs ?? 0) + 1,
      lastRunAt: now,
    });
    if (changed) {
      this.#completed.push({
        date,
        ...(merchant === undefined ? {} : { mchid: merchant }),
        counts: { ...report.counts },
        at: now,
      });
    }
    return { changed };
  }

  async getReport(date: string, merchant?: string): Promise<StoredReport | undefined> {
    const r = this.#reports.get(merchant === undefined ? date : `${date}:${merchant}`);
    return r && { ...r };
  }

  async claimRun(date: string, owner: string, ttlMs: number): Promise<boolean> {
    const held = this.#locks.get(date);
    if (held !== undefined && held.until > Date.now()) return false;
    this.#locks.set(date, { owner, until: Date.now() + ttlMs });
    return true;
  }

  async releaseRun(date: string, owner: string): Promise<void> {
    if (this.#locks.get(date)?.owner === owner) this.#locks.delete(date);
  }

  async recordExternalRefund(refund: ExternalRefund): Promise<RecordExternalRefundResult> {
    const d = this.d;
    const order = d.orders.get(refund.orderId);
    const attempt = d.attempt(refund.outTradeNo);
    if (!order || !attempt) return { kind: 'not_found' };
    const mine = this.#external.get(order.id) ?? new Map<string, ExternalRefund>();
    if (mine.has(refund.outRefundNo)) return { kind: 'already_recorded' };
    if (d.refunds.get(order.id)?.has(refund.outRefundNo)) return { kind: 'own_refund' };
    if (attempt.state !== 'PAID') return { kind: 'not_paid' };
    mine.set(refund.outRefundNo, { ...refund });
    this.#external.set(order.id, mine);
    const totals = d.refundTotals.get(refund.outTradeNo) ?? {
      reserved: 0,
      refunded: 0,
      count: 0,
      lastDue: 0,
    };
    totals.refunded += refund.refundFen;
    totals.reserved += refund.refundFen;
    d.refundTotals.set(refund.outTradeNo, totals);
    d.refundedStatus(order, refund.outTradeNo);
    d.emit({
      type: 'refund.external',
      orderId: order.id,
      outTradeNo: refund.outTradeNo,
      outRefundNo: refund.outRefundNo,
      refundFen: refund.refundFen,
      totalFen: order.totalFen,
      source: refund.source,
      at: refund.at,
      ...(attempt.mchid === undefined ? {} : { mchid: attempt.mchid }),
    });
    return { kind: 'recorded', orderStatus: order.status };
  }

  async listExternalRefunds(orderId: string): Promise<ExternalRefund[]> {
    return [...(this.#external.get(orderId)?.values() ?? [])].map((r) => ({ ...r }));
  }

  async readCompleted(): Promise<ReconciliationCompleted[]> {
    return this.#completed.map((c) => ({ ...c, counts: { ...c.counts } }));
  }
}

import type { OrderStatus } from '@mp-pay/shared/api';
import type { Cluster } from 'ioredis';
import {
  MAX_ATTEMPTS_PER_ORDER,
  MAX_COMBINE_ATTEMPTS,
  orderIdOf,
  orderIdOfRefund,
} from '../../domain/ids.ts';
import { StoreUnavailableError } from '../../errors.ts';
import type { Prepared } from '../../gateway/types.ts';
import {
  attemptDoc,
  attemptFromHash,
  attemptsFromHash,
  ATTEMPT_FIELDS,
  isAfterCursor,
  orderDoc,
  orderFromHash,
  REFUND_FIELDS,
  refundDoc,
  refundFromHash,
  refundsFromHash,
  subOrderArgs,
  subOrderAttempts,
} from '../codec.ts';
import {
  DUE_QUEUES,
  COMBINE_PARTIAL_BY,
  COMBINE_PARTIAL_REASON,
  DOUBLE_PAYMENT_BY,
  DOUBLE_PAYMENT_REASON,
  SCHEMA_VERSION,
  type AnswerPaidMessageResult,
  type FinishPaidMessageResult,
  type PaidMessageRecord,
  type AskRefundResult,
  type DecideRefundResult,
  type AttemptEndReason,
  type AttemptRecord,
  type AttemptStore,
  type ClaimRelease,
  type CloseAttemptResult,
  type CreateOrderOptions,
  type CreateOrderResult,
  type DueClaim,
  type DueQueue,
  type EndAttemptResult,
  type EventStore,
  type EventSubOrder,
  type MarkRefundSentResult,
  type NewRefund,
  type RefundRecord,
  type RefundRules,
  type RefundStore,
  type RequestRefundResult,
  type SettleRefundResult,
  type Identity,
  type ListPosition,
  type MarkClosedResult,
  type MarkCombineResult,
  type MarkPaidResult,
  type NewAttempt,
  type NewOrder,
  type OpenAttemptResult,
  type OrderEvent,
  type OrderPage,
  type OrderRecord,
  type OrderStore,
  type PaymentFacts,
  type QueueStore,
  type ResolveIdentityResult,
  type SessionData,
  type SessionStore,
  type SetPreparedResult,
  type SetScanPrepayResult,
  type Store,
  type SubOrderReport,
  type UserRecord,
  type UserStore,
} from '../types.ts';
import type { TradeState } from '../../gateway/types.ts';
import { connectCluster, connectRedis, guard, type RedisClient, type RedisStoreOptions } from './connect.ts';
import { DEFAULT_EVENTS_MAX_LEN, DEFAULT_SHARDS, idMinter, keySlot } from '../shards.ts';
import { paymentKeys, redisKeys, refundKeys, statusKeys, transitionKeys, type RedisKeys } from './keys.ts';
import {
  answerPaidMessageResult,
  finishPaidMessageResult,
  closeAttemptResult,
  createOrderResult,
  endAttemptResult,
  markClosedResult,
  markCombineResult,
  markPaidResult,
  askRefundResult,
  decideRefundResult,
  markRefundSentResult,
  openAttemptResult,
  requestRefundResult,
  settleRefundResult,
  resolveIdentityResult,
  setPreparedResult,
  setScanPrepayResult,
} from './results.ts';
import { defineScripts, type Scripts } from './scripts.ts';
import { RedisRateLimitStore } from './rate-limit-store.ts';
import { RedisAccessTokenStore } from './access-token-store.ts';
import { RedisReconciliationStore } from './reconciliation-store.ts';

export { connectCluster, connectRedis, type RedisClient, type RedisStoreOptions } from './connect.ts';

/** What every concern's class shares: one connection, the key names, the registered scripts. */
interface Backend {
  redis: RedisClient;
  keys: RedisKeys;
  scripts: Scripts;
  /** Cluster mode: a payment is acknowledged only once a replica has it (waitForReplica). */
  replicated: { timeoutMs: number } | undefined;
}

/**
 * Replication in Redis is asynchronous: a master killed right after a write can lose it on failover, and the
 * promoted replica would not know the payment WeChat was told we recorded. WAIT 1 on the connection that wrote
 * blocks until one replica acknowledged everything that connection wrote (docs/scaling.md "WAIT"). No replica in
 * time (none attached, or too slow): the store is unavailable for this call, so the notification is answered
 * FAIL and WeChat retries; the transition itself is idempotent, so the retry only waits again.
 */
async function waitForReplica(
  cluster: Cluster,
  key: string,
  timeoutMs: number,
  mark: string | undefined,
): Promise<void> {
  const owner = cluster.slots[keySlot(key)]?.[0];
  const node = cluster.nodes('master').find((n) => `${n.options.host}:${n.options.port}` === owner);
  if (node === undefined) throw new StoreUnavailableError(`Redis Cluster: no master known for ${key}`);
  // WAIT covers what this connection wrote. A payment found already recorded (by another process, perhaps not
  // replicated yet) wrote nothing here: one small write in the same slot comes after it in the master's
  // replication stream, so a replica acknowledging this write has that payment too.
  if (mark !== undefined) await guard(node.call('SET', mark, String(Date.now()), 'PX', '60000'));
  const acked = Number(await guard(node.call('WAIT', 1, timeoutMs)));
  if (acked < 1) {
    throw new StoreUnavailableError(
      `Redis Cluster: no replica of ${owner} acknowledged the write within ${timeoutMs} ms`,
    );
  }
}

/** A page of orders merged from per-shard indexes (sorted sets scored by createdAt), newest first. */
async function listShards(
  b: Backend,
  indexKeys: string[],
  page: { limit: number; after?: ListPosition | undefined },
): Promise<OrderPage> {
  const perShard = await Promise.all(indexKeys.map((key) => pageOfIndex(b.redis, key, page)));
  const merged = perShard
    .flat()
    .sort((x, y) => y.createdAt - x.createdAt || (x.id < y.id ? 1 : x.id > y.id ? -1 : 0));
  const hasMore = merged.length > page.limit;
  // One command per order: in a Cluster the orders live on several nodes; auto-pipelining batches them.
  const hashes = await Promise.all(
    merged.slice(0, page.limit).map((e) => guard(b.redis.hgetall(b.keys.order(e.id)))),
  );
  const orders: OrderRecord[] = [];
  for (const hash of hashes) {
    const order = orderFromHash(hash);
    if (order) orders.push(order);
  }
  return { orders, hasMore };
}

/** Up to limit + 1 entries of one index after the cursor, newest first. */
async function pageOfIndex(
  redis: RedisClient,
  key: string,
  page: { limit: number; after?: ListPosition | undefined },
): Promise<ListPosition[]> {
  const after = page.after;
  const max = after === undefined ? '+inf' : String(after.createdAt);
  // Orders created in the same millisecond share a score; fetch a little more than a page and drop those
  // at or before the cursor, widening the window in the (rare) case one millisecond holds many orders.
  let window = page.limit + 1 + (after === undefined ? 0 : 16);
  for (;;) {
    const flat = await guard(redis.zrevrangebyscore(key, max, '-inf', 'WITHSCORES', 'LIMIT', 0, window));
    const entries: ListPosition[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) {
      entries.push({ id: flat[i] as string, createdAt: Number(flat[i + 1]) });
    }
    const fresh = after === undefined ? entries : entries.filter((e) => isAfterCursor(e, after));
    if (fresh.length > page.limit || entries.length < window) return fresh.slice(0, page.limit + 1);
    window *= 2;
  }
}

/** The order an out_trade_no belongs to; a foreign one cannot be ours. */
const ownerOf = orderIdOf;

export class RedisOrderStore implements OrderStore {
  readonly kind = 'redis' as const;
  constructor(private readonly b: Backend) {}

  async createOrder(
    order: NewOrder,
    first: NewAttempt,
    options: CreateOrderOptions,
  ): Promise<CreateOrderResult> {
    const k = this.b.keys;
    const idem = options.idempotencyKey;
    const shard = k.shardOfOrder(order.id);
    const reply = await guard(
      this.b.scripts.createOrder(
        ...transitionKeys(k, order.id),
        idem === undefined ? k.order(order.id) : k.idempotency(shard, order.userId, idem),
        k.userOrders(order.userId, shard),
        ...statusKeys(k, order.id),
        order.id,
        order.userId,
        order.totalFen,
        order.createdAt,
        order.expiresAt,
        orderDoc(order),
        options.queryDueAt,
        idem === undefined ? '' : options.fingerprint,
        options.idempotencyTtlSeconds,
        first.outTradeNo,
        attemptDoc(first),
        ...subOrderArgs(first),
      ),
    );
    const result = createOrderResult(reply);
    if (result.kind === 'conflict') return { kind: 'conflict' };
    if (result.kind === 'collision') throw new Error(`order id ${order.id} already exists`);
    if (result.kind === 'created') {
      // The script wrote exactly this: no need to read it back on the hot path of order creation.
      return {
        kind: 'created',
        order: {
          ...structuredClone(order),
          status: 'PENDING',
          currentAttempt: first.outTradeNo,
          attemptCount: 1,
        },
        attempt: writtenAttempt(first),
      };
    }
    const stored = await this.getOrder(result.id);
    if (!stored) throw new StoreUnavailableError(`order ${result.id} vanished after its creation`);
    return { kind: 'replayed', order: stored };
  }

  async getOrder(id: string): Promise<OrderRecord | undefined> {
    return orderFromHash(await guard(this.b.redis.hgetall(this.b.keys.order(id))));
  }

  async listOrders(
    userId: string,
    page: { limit: number; after?: ListPosition | undefined },
  ): Promise<OrderPage> {
    const k = this.b.keys;
    return listShards(
      this.b,
      Array.from({ length: k.shards }, (_, s) => k.userOrders(userId, s)),
      page,
    );
  }

  async listByStatus(
    status: OrderStatus,
    page: { limit: number; after?: ListPosition | undefined },
  ): Promise<OrderPage> {
    const k = this.b.keys;
    return listShards(
      this.b,
      Array.from({ length: k.shards }, (_, s) => k.status(status, s)),
      page,
    );
  }

  async markClosed(
    id: string,
    closing: { closedAt: number; reason: string; closedAttempt: string | undefined },
  ): Promise<MarkClosedResult> {
    const reply = await guard(
      this.b.scripts.markClosed(
        ...transitionKeys(this.b.keys, id),
        ...statusKeys(this.b.keys, id),
        id,
        closing.closedAt,
        closing.reason,
        closing.closedAttempt ?? '',
      ),
    );
    return markClosedResult(reply);
  }

  async askRefund(id: string, ask: { reason: string; at: number }): Promise<AskRefundResult> {
    return askRefundResult(
      await guard(this.b.scripts.refundRequest(this.b.keys.order(id), 'ask', ask.at, ask.reason, '')),
    );
  }

  async decideRefund(
    id: string,
    decision: { approve: boolean; at: number; by: string; refund: string | undefined },
  ): Promise<DecideRefundResult> {
    return decideRefundResult(
      await guard(
        this.b.scripts.refundRequest(
          this.b.keys.order(id),
          decision.approve ? 'approve' : 'reject',
          decision.at,
          decision.by,
          decision.refund ?? '',
        ),
      ),
    );
  }

  async answerPaidMessage(
    id: string,
    answer: Pick<PaidMessageRecord, 'templateId' | 'answer' | 'answeredAt' | 'appId' | 'openid'>,
  ): Promise<AnswerPaidMessageResult> {
    const k = this.b.keys;
    return answerPaidMessageResult(
      await guard(
        this.b.scripts.answerPaidMessage(
          k.order(id),
          k.due('message', k.shardOfOrder(id)),
          id,
          answer.templateId,
          answer.answer,
          answer.answeredAt,
          answer.appId,
          answer.openid,
        ),
      ),
    );
  }

  async finishPaidMessage(
    id: string,
    outcome: { state: 'SENT' | 'FAILED'; at: number; reason?: string; msgid?: string },
  ): Promise<FinishPaidMessageResult> {
    const k = this.b.keys;
    const shard = k.shardOfOrder(id);
    return finishPaidMessageResult(
      await guard(
        this.b.scripts.finishPaidMessage(
          k.order(id),
          k.due('message', shard),
          k.claims('message', shard),
          id,
          outcome.state,
          outcome.at,
          outcome.reason ?? '',
          outcome.msgid ?? '',
        ),
      ),
    );
  }
}

/** A new attempt as create-order / open-attempt wrote it: OPEN, with a combine's sub-orders listed. */
function writtenAttempt(attempt: NewAttempt): AttemptRecord {
  const subs = subOrderAttempts(attempt).map((sub) => sub.outTradeNo);
  return { ...structuredClone(attempt), state: 'OPEN', ...(subs.length === 0 ? {} : { subs }) };
}

/** Payment transition results that changed nothing, so there is nothing to wait for a replica to have. */
const NOTHING_WRITTEN: ReadonlySet<string> = new Set([
  'not_found',
  'amount_mismatch',
  'other_merchant',
  'other_transaction',
]);

/** The refunds mark-combine requests for a partially paid (or doubly paid) combine. */
function combineRefundDoc(createdAt: number): string {
  return refundDoc({
    outTradeNo: '',
    refundFen: 0,
    reason: COMBINE_PARTIAL_REASON,
    requestedBy: COMBINE_PARTIAL_BY,
    createdAt,
  });
}

/** The refund mark-paid requests for a double payment. */
function doubleRefundDoc(createdAt: number): string {
  return refundDoc({
    outTradeNo: '',
    refundFen: 0,
    reason: DOUBLE_PAYMENT_REASON,
    requestedBy: DOUBLE_PAYMENT_BY,
    createdAt,
  });
}

export class RedisAttemptStore implements AttemptStore {
  constructor(private readonly b: Backend) {}

  async getAttempt(outTradeNo: string): Promise<AttemptRecord | undefined> {
    const orderId = ownerOf(outTradeNo);
    if (orderId === undefined) return undefined;
    const names = [outTradeNo, ...ATTEMPT_FIELDS.map((f) => `${outTradeNo}.${f}`)];
    const values = await guard(this.b.redis.hmget(this.b.keys.attempts(orderId), ...names));
    const hash: Record<string, string | undefined> = {};
    names.forEach((name, i) => {
      const value = values[i];
      if (value !== null && value !== undefined) hash[name] = value;
    });
    return attemptFromHash(hash, outTradeNo);
  }

  async listAttempts(orderId: string): Promise<AttemptRecord[]> {
    return attemptsFromHash(await guard(this.b.redis.hgetall(this.b.keys.attempts(orderId))));
  }

  async openAttempt(
    attempt: NewAttempt,
    options: { supersede: boolean; queryDueAt: number; closeDueAt: number; now: number },
  ): Promise<OpenAttemptResult> {
    const reply = await guard(
      this.b.scripts.openAttempt(
        ...transitionKeys(this.b.keys, attempt.orderId),
        attempt.orderId,
        attempt.outTradeNo,
        attemptDoc(attempt),
        options.queryDueAt,
        attempt.combine ? MAX_COMBINE_ATTEMPTS : MAX_ATTEMPTS_PER_ORDER,
        options.supersede ? '1' : '0',
        options.closeDueAt,
        options.now,
        ...subOrderArgs(attempt),
      ),
    );
    const result = openAttemptResult(reply);
    switch (result.kind) {
      case 'opened':
        return { kind: 'opened', attempt: writtenAttempt(attempt) };
      case 'collision':
        throw new Error(`attempt ${attempt.outTradeNo} already exists`);
      default:
        return result;
    }
  }

  async setPrepared(outTradeNo: string, prepared: Prepared, preparedAt?: number): Promise<SetPreparedResult> {
    const orderId = ownerOf(outTradeNo);
    if (orderId === undefined) return { kind: 'not_found' };
    const k = this.b.keys;
    return setPreparedResult(
      await guard(
        this.b.scripts.setPrepared(
          k.order(orderId),
          k.attempts(orderId),
          outTradeNo,
          JSON.stringify(prepared),
          preparedAt === undefined ? '' : String(preparedAt),
        ),
      ),
    );
  }

  async setScanPrepay(outTradeNo: string, prepayId: string, at: number): Promise<SetScanPrepayResult> {
    const orderId = ownerOf(outTradeNo);
    if (orderId === undefined) return { kind: 'not_found' };
    const k = this.b.keys;
    return setScanPrepayResult(
      await guard(
        this.b.scripts.setScanPrepay(k.order(orderId), k.attempts(orderId), outTradeNo, prepayId, String(at)),
      ),
    );
  }

  async markPaid(outTradeNo: string, facts: PaymentFacts): Promise<MarkPaidResult> {
    const orderId = ownerOf(outTradeNo);
    if (orderId === undefined) return { kind: 'not_found' };
    const k = this.b.keys;
    const reply = await guard(
      this.b.scripts.markPaid(
        ...paymentKeys(k, orderId),
        orderId,
        outTradeNo,
        String(facts.totalFen),
        facts.transactionId,
        facts.paidAt,
        facts.source,
        // Attempts left to close at WeChat are due at once: a paid order must not be paid twice.
        facts.paidAt,
        doubleRefundDoc(facts.paidAt),
        facts.mchid ?? '',
      ),
    );
    const result = markPaidResult(reply, facts.transactionId);
    await this.#durable(orderId, result.kind);
    return result;
  }

  /**
   * What a notification acknowledges must survive a failover (waitForReplica): after a payment transition that
   * wrote something, or a duplicate (whose earlier write must have reached a replica too).
   */
  async #durable(orderId: string, kind: string): Promise<void> {
    if (this.b.replicated === undefined || NOTHING_WRITTEN.has(kind)) return;
    const k = this.b.keys;
    await waitForReplica(
      this.b.redis as Cluster,
      k.order(orderId),
      this.b.replicated.timeoutMs,
      kind === 'duplicate' ? k.replicated(k.shardOfOrder(orderId)) : undefined,
    );
  }

  async markCombine(
    combineNo: string,
    report: { subOrders: SubOrderReport[]; source: 'notify' | 'query' | 'close'; now: number },
  ): Promise<MarkCombineResult> {
    const orderId = ownerOf(combineNo);
    if (orderId === undefined) return { kind: 'not_found' };
    const k = this.b.keys;
    const subs = report.subOrders.flatMap((sub) => [
      sub.outTradeNo,
      sub.outcome,
      sub.transactionId ?? '',
      sub.totalFen === undefined ? '' : String(sub.totalFen),
      sub.paidAt ?? 0,
      sub.mchid,
    ]);
    const reply = await guard(
      this.b.scripts.markCombine(
        ...paymentKeys(k, orderId),
        orderId,
        combineNo,
        report.source,
        report.now,
        combineRefundDoc(report.now),
        doubleRefundDoc(report.now),
        report.subOrders.length,
        ...subs,
      ),
    );
    const result = markCombineResult(reply);
    await this.#durable(orderId, result.kind);
    return result;
  }

  async endAttempt(
    outTradeNo: string,
    ending: { reason: AttemptEndReason; tradeState: TradeState; closeDueAt: number; at: number },
  ): Promise<EndAttemptResult> {
    const orderId = ownerOf(outTradeNo);
    if (orderId === undefined) return { kind: 'not_found' };
    const reply = await guard(
      this.b.scripts.endAttempt(
        ...transitionKeys(this.b.keys, orderId),
        orderId,
        outTradeNo,
        ending.reason,
        ending.tradeState,
        ending.closeDueAt,
        ending.at,
      ),
    );
    return endAttemptResult(reply);
  }

  async markAttemptClosed(outTradeNo: string, closedAt: number): Promise<CloseAttemptResult> {
    const orderId = ownerOf(outTradeNo);
    if (orderId === undefined) return { kind: 'not_found' };
    const reply = await guard(
      this.b.scripts.closeAttempt(...transitionKeys(this.b.keys, orderId), orderId, outTradeNo, closedAt),
    );
    return closeAttemptResult(reply);
  }
}

export class RedisRefundStore implements RefundStore {
  constructor(private readonly b: Backend) {}

  async requestRefund(refund: NewRefund, rules: RefundRules): Promise<RequestRefundResult> {
    const orderId = orderIdOf(refund.outTradeNo);
    if (orderId === undefined) return { kind: 'not_found' };
    const reply = await guard(
      this.b.scripts.requestRefund(
        ...refundKeys(this.b.keys, orderId),
        orderId,
        refund.outTradeNo,
        refund.refundFen,
        refundDoc(refund),
        refund.createdAt,
        rules.minSpacingMs,
        rules.maxCount,
        rules.maxAgeMs,
      ),
    );
    const result = requestRefundResult(reply);
    if (result.kind !== 'requested') return result;
    return {
      kind: 'requested',
      refund: {
        ...refund,
        outRefundNo: result.outRefundNo,
        orderId,
        seq: result.seq,
        totalFen: result.totalFen,
        dueAt: result.dueAt,
        state: 'PENDING',
      },
    };
  }

  async getRefund(outRefundNo: string): Promise<RefundRecord | undefined> {
    const orderId = orderIdOfRefund(outRefundNo);
    if (orderId === undefined) return undefined;
    const names = [outRefundNo, ...REFUND_FIELDS.map((f) => `${outRefundNo}.${f}`)];
    const values = await guard(this.b.redis.hmget(this.b.keys.refunds(orderId), ...names));
    const hash: Record<string, string | undefined> = {};
    names.forEach((name, i) => {
      const value = values[i];
      if (value !== null && value !== undefined) hash[name] = value;
    });
    return refundFromHash(hash, outRefundNo);
  }

  async listRefunds(orderId: string): Promise<RefundRecord[]> {
    return refundsFromHash(await guard(this.b.redis.hgetall(this.b.keys.refunds(orderId))));
  }

  async markRefundSent(
    outRefundNo: string,
    sent: { refundId: string | undefined; sentAt: number; queryDueAt: number },
  ): Promise<MarkRefundSentResult> {
    const orderId = orderIdOfRefund(outRefundNo);
    if (orderId === undefined) return { kind: 'not_found' };
    const reply = await guard(
      this.b.scripts.markRefundSent(
        ...refundKeys(this.b.keys, orderId),
        orderId,
        outRefundNo,
        sent.refundId ?? '',
        sent.sentAt,
        sent.queryDueAt,
      ),
    );
    return markRefundSentResult(reply);
  }

  async settleRefund(
    outRefundNo: string,
    outcome: Parameters<RefundStore['settleRefund']>[1],
  ): Promise<SettleRefundResult> {
    const orderId = orderIdOfRefund(outRefundNo);
    if (orderId === undefined) return { kind: 'not_found' };
    const reply = await guard(
      this.b.scripts.settleRefund(
        ...refundKeys(this.b.keys, orderId),
        ...statusKeys(this.b.keys, orderId),
        orderId,
        outRefundNo,
        outcome.state,
        outcome.refundId ?? '',
        outcome.at,
        outcome.source,
        outcome.mchid ?? '',
        outcome.ownMchid ?? '',
      ),
    );
    return settleRefundResult(reply);
  }
}

/** The order a queue member belongs to: the refund queue holds out_refund_nos, the others order ids. */
function orderOfMember(queue: DueQueue, member: string): string {
  return queue === 'refund' ? (orderIdOfRefund(member) ?? member) : member;
}

export class RedisQueueStore implements QueueStore {
  /** The shard the next claim starts at: each poll starts one further, so no shard waits behind another. */
  #next = 0;
  constructor(private readonly b: Backend) {}

  /**
   * Claims from every shard of the queue, one shard after another (each claim-due runs in its shard's slot),
   * until `limit` orders are claimed or every shard was asked: S round trips on an idle poll.
   */
  async claimDue(queue: DueQueue, now: number, leaseMs: number, limit: number): Promise<DueClaim[]> {
    const k = this.b.keys;
    const leaseEnd = now + leaseMs;
    const claims: DueClaim[] = [];
    const first = this.#next;
    this.#next = (this.#next + 1) % k.shards;
    for (let i = 0; i < k.shards && claims.length < limit; i++) {
      const shard = (first + i) % k.shards;
      const flat = (await guard(
        this.b.scripts.claimDue(
          k.due(queue, shard),
          k.claims(queue, shard),
          now,
          leaseEnd,
          limit - claims.length,
        ),
      )) as (string | number)[];
      for (let j = 0; j + 1 < flat.length; j += 2) {
        claims.push({ orderId: String(flat[j]), attempt: Number(flat[j + 1]), leaseEnd });
      }
    }
    return claims;
  }

  /**
   * Each queue's length and earliest due time over all shards (the metrics' queue gauges,
   * src/metrics/queue-stats.ts): two reads per queue and shard, at scrape time only.
   */
  async depths(): Promise<Record<string, { depth: number; oldestDueAt?: number }>> {
    const k = this.b.keys;
    const out: Record<string, { depth: number; oldestDueAt?: number }> = {};
    for (const queue of DUE_QUEUES) {
      const shards = await Promise.all(
        Array.from({ length: k.shards }, async (_, s) => {
          const [depth, first] = await Promise.all([
            guard(this.b.redis.zcard(k.due(queue, s))),
            guard(this.b.redis.zrange(k.due(queue, s), 0, 0, 'WITHSCORES')),
          ]);
          return { depth, oldest: first[1] === undefined ? undefined : Number(first[1]) };
        }),
      );
      const oldest = shards.flatMap((x) => (x.oldest === undefined ? [] : [x.oldest]));
      const depth = shards.reduce((n, x) => n + x.depth, 0);
      out[queue] = oldest.length === 0 ? { depth } : { depth, oldestDueAt: Math.min(...oldest) };
    }
    return out;
  }

  async release(queue: DueQueue, claim: DueClaim, release: ClaimRelease): Promise<boolean> {
    const k = this.b.keys;
    const shard = k.shardOfOrder(orderOfMember(queue, claim.orderId));
    const reply = await guard(
      this.b.scripts.releaseClaim(
        k.due(queue, shard),
        k.claims(queue, shard),
        claim.orderId,
        claim.leaseEnd,
        release.finish ? '' : release.dueAt,
      ),
    );
    return reply === 1;
  }
}

/** Stream entry ids (`<ms>-<seq>`) in time order, across shards. */
function byEntryId(x: OrderEvent, y: OrderEvent): number {
  const [xm = 0, xs = 0] = x.id.split('-').map(Number);
  const [ym = 0, ys = 0] = y.id.split('-').map(Number);
  return xm - ym || xs - ys;
}

/** One stream entry as an OrderEvent. */
function eventOf([id, fields]: [string, string[]]): OrderEvent {
  const f: Record<string, string> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) f[fields[i] as string] = fields[i + 1] as string;
  const event: OrderEvent = {
    id,
    type: f.type as OrderEvent['type'],
    orderId: f.orderId ?? '',
    outTradeNo: f.outTradeNo ?? '',
    totalFen: Number(f.totalFen),
    source: f.source ?? '',
    at: Number(f.at),
  };
  if (f.transactionId) event.transactionId = f.transactionId;
  if (f.outRefundNo) event.outRefundNo = f.outRefundNo;
  if (f.refundFen) event.refundFen = Number(f.refundFen);
  if (f.mchid) event.mchid = f.mchid;
  if (f.subOrders) event.subOrders = f.subOrders.split(',').map(eventSubOrder);
  if (f.partial) event.partial = true;
  return event;
}

/** One `no|tx|fen|mchid` of mark-combine.lua's `subOrders` field. */
function eventSubOrder(text: string): EventSubOrder {
  const [outTradeNo = '', transactionId = '', fen = '0', mchid = ''] = text.split('|');
  return { outTradeNo, transactionId, totalFen: Number(fen), mchid };
}

export class RedisEventStore implements EventStore {
  constructor(private readonly b: Backend) {}

  async readEvents(): Promise<OrderEvent[]> {
    const shards = await Promise.all(
      this.b.keys.allEvents().map((key) => guard(this.b.redis.xrange(key, '-', '+'))),
    );
    return shards.flat().map(eventOf).sort(byEntryId);
  }

  /**
   * Shard by shard, `count` entries at a time, oldest first in each shard: a reader of a million events
   * (reconciliation) holds one page, not every stream (bench/RESULTS.md, Reconciliation). The next page is
   * asked for before this one is converted, so Redis serialises one while this process reads the other.
   */
  async *eventPages(options: { count?: number } = {}): AsyncGenerator<OrderEvent[]> {
    const count = options.count ?? 1000;
    const page = (key: string, start: string) =>
      guard(this.b.redis.xrange(key, start, '+', 'COUNT', count)) as Promise<[string, string[]][]>;
    for (const key of this.b.keys.allEvents()) {
      let next: Promise<[string, string[]][]> | undefined = page(key, '-');
      while (next !== undefined) {
        const entries: [string, string[]][] = await next;
        // Exclusive start: the entry after the last one read.
        next = entries.length === count ? page(key, `(${entries[entries.length - 1]![0]}`) : undefined;
        if (entries.length > 0) yield entries.map(eventOf);
      }
    }
  }
}

export class RedisUserStore implements UserStore {
  constructor(private readonly b: Backend) {}

  async resolveIdentity(
    identity: Identity,
    fresh: { userId: string; createdAt: number },
  ): Promise<ResolveIdentityResult> {
    const k = this.b.keys;
    const reply = await guard(
      this.b.scripts.resolveIdentity(
        k.identity(identity.appId, identity.openid),
        k.user(fresh.userId),
        fresh.userId,
        identity.appId,
        identity.openid,
        fresh.createdAt,
      ),
    );
    return resolveIdentityResult(reply);
  }

  async getUser(userId: string): Promise<UserRecord | undefined> {
    const hash = await guard(this.b.redis.hgetall(this.b.keys.user(userId)));
    if (!hash.id) return undefined;
    const identities: Record<string, string> = {};
    for (const [name, value] of Object.entries(hash)) {
      if (name.startsWith('identity:')) identities[name.slice('identity:'.length)] = value;
    }
    return { id: hash.id, createdAt: Number(hash.createdAt), identities };
  }
}

export class RedisSessionStore implements SessionStore {
  constructor(private readonly b: Backend) {}

  async createSession(id: string, data: SessionData, ttlSeconds: number): Promise<void> {
    await guard(this.b.redis.set(this.b.keys.session(id), JSON.stringify(data), 'EX', ttlSeconds, 'NX'));
  }

  async touchSession(id: string, ttlSeconds: number): Promise<SessionData | undefined> {
    // GETEX reads and restarts the TTL in one command: the sliding expiry cannot race with expiry.
    const raw = await guard(this.b.redis.getex(this.b.keys.session(id), 'EX', ttlSeconds));
    return raw === null ? undefined : (JSON.parse(raw) as SessionData);
  }
}

/** Thrown at startup when Redis holds data of another layout: misreading it would lose or corrupt money. */
export class SchemaVersionError extends Error {
  override readonly name = 'SchemaVersionError';
}

/**
 * The data under this prefix must be of SCHEMA_VERSION and written with this shard count. An empty prefix is
 * claimed for both; data without a version (round 1 wrote none), of another version or another shard count
 * stops the server with what to do. Each key is asked alone: in a Cluster they live in different slots.
 */
async function checkSchema(redis: RedisClient, keys: RedisKeys, prefix: string): Promise<void> {
  const [found, shards] = await Promise.all([
    guard(redis.get(keys.schema)),
    guard(redis.get(keys.shardCount)),
  ]);
  if (found === null) {
    const legacy = await Promise.all(
      [`${prefix}events`, `${prefix}due:query`, `${prefix}due:expire`].map((key) => guard(redis.exists(key))),
    );
    if (legacy.some((n) => n > 0)) {
      throw new SchemaVersionError(
        `Redis under prefix "${prefix}" holds data of the first, unversioned layout (schema 1), and this server ` +
          `reads schema ${SCHEMA_VERSION}. Drain it (let open orders expire), then use a new REDIS_PREFIX; ` +
          'see docs/architecture.md "Schema versions".',
      );
    }
    // NX: of two servers starting on an empty prefix, one claims it; the other reads the claim below. The
    // shard count is claimed first: a server that sees the version sees the count.
    await guard(redis.set(keys.shardCount, String(keys.shards), 'NX'));
    await guard(redis.set(keys.schema, String(SCHEMA_VERSION), 'NX'));
    return checkSchema(redis, keys, prefix);
  }
  if (found !== String(SCHEMA_VERSION)) {
    throw new SchemaVersionError(
      `Redis under prefix "${prefix}" holds data of schema ${found}, and this server reads schema ` +
        `${SCHEMA_VERSION}: run the server version that matches it, or use another REDIS_PREFIX ` +
        '(docs/architecture.md "Schema versions").',
    );
  }
  if (shards !== String(keys.shards)) {
    throw new SchemaVersionError(
      `Redis under prefix "${prefix}" was written with REDIS_SHARDS=${shards ?? '(unknown)'}, and this server ` +
        `has REDIS_SHARDS=${keys.shards}: an order's keys depend on it, so set it back to ${shards ?? 'its value'} ` +
        '(or use another REDIS_PREFIX); docs/scaling.md "Shards".',
    );
  }
}

/** Thrown when REDIS_PREFIX carries a hash tag on a Cluster: every key would land in one slot. */
export class ClusterPrefixError extends Error {
  override readonly name = 'ClusterPrefixError';
}

export async function createRedisStore(options: RedisStoreOptions): Promise<Store> {
  const cluster = options.clusterNodes !== undefined && options.clusterNodes.length > 0;
  if (cluster && /[{}]/.test(options.prefix)) {
    throw new ClusterPrefixError(
      `REDIS_PREFIX "${options.prefix}" has a hash tag ({…}): on a Redis Cluster that would put every key in one ` +
        'slot, on one master. Schema 3 tags each key with its shard instead; use a prefix without braces, e.g. ' +
        '"mp-pay:" (docs/scaling.md "Shards").',
    );
  }
  const redis: RedisClient = cluster
    ? await connectCluster(options.clusterNodes ?? [], options)
    : await connectRedis(options);
  const shards = options.shards ?? DEFAULT_SHARDS;
  try {
    await checkSchema(redis, redisKeys(options.prefix, shards), options.prefix);
  } catch (err) {
    redis.disconnect();
    throw err;
  }
  return redisStoreOn(redis, options.prefix, {
    shards,
    eventsMaxLen: options.eventsMaxLen ?? DEFAULT_EVENTS_MAX_LEN,
    // WAIT's own timeout, kept under the command timeout so the client does not give up first.
    replicated: cluster ? { timeoutMs: Math.max(50, Math.floor(options.commandTimeoutMs / 2)) } : undefined,
  });
}

/** The store over an open connection whose prefix was checked (createRedisStore); tests use it directly. */
export function redisStoreOn(
  redis: RedisClient,
  prefix: string,
  layout: {
    shards?: number | undefined;
    eventsMaxLen?: number | undefined;
    replicated?: { timeoutMs: number } | undefined;
  } = {},
): Store {
  const shards = layout.shards ?? DEFAULT_SHARDS;
  const backend: Backend = {
    redis,
    keys: redisKeys(prefix, shards),
    scripts: defineScripts(redis, layout.eventsMaxLen ?? DEFAULT_EVENTS_MAX_LEN),
    replicated: layout.replicated,
  };
  return {
    kind: 'redis',
    ids: idMinter(shards),
    users: new RedisUserStore(backend),
    sessions: new RedisSessionStore(backend),
    orders: new RedisOrderStore(backend),
    attempts: new RedisAttemptStore(backend),
    refunds: new RedisRefundStore(backend),
    queues: new RedisQueueStore(backend),
    events: new RedisEventStore(backend),
    reconciliations: new RedisReconciliationStore(redis, backend.keys, backend.scripts),
    rateLimits: new RedisRateLimitStore(backend.scripts, prefix),
    accessTokens: new RedisAccessTokenStore(redis, backend.scripts, prefix),
    ping: async () => {
      await guard(redis.ping());
    },
    // A Cluster client re-emits its nodes' errors, so one listener covers every connection.
    onRedisError: (listener) => {
      redis.on('error', listener);
    },
    close: async () => {
      try {
        await redis.quit();
      } catch {
        redis.disconnect();
      }
    },
  };
}

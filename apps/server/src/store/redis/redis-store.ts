import type { OrderStatus } from '@mp-pay/shared/api';
import type { Redis } from 'ioredis';
import { MAX_ATTEMPTS_PER_ORDER, orderIdOf, orderIdOfRefund } from '../../domain/ids.ts';
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
} from '../codec.ts';
import {
  DOUBLE_PAYMENT_BY,
  DOUBLE_PAYMENT_REASON,
  SCHEMA_VERSION,
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
  type MarkRefundSentResult,
  type NewRefund,
  type RefundOutcome,
  type RefundRecord,
  type RefundRules,
  type RefundStore,
  type RequestRefundResult,
  type SettleRefundResult,
  type Identity,
  type ListPosition,
  type MarkClosedResult,
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
  type UserRecord,
  type UserStore,
} from '../types.ts';
import type { TradeState } from '../../gateway/types.ts';
import { connectRedis, guard, type RedisStoreOptions } from './connect.ts';
import { redisKeys, refundKeys, statusKeys, transitionKeys, type RedisKeys } from './keys.ts';
import {
  closeAttemptResult,
  createOrderResult,
  endAttemptResult,
  markClosedResult,
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

export { connectRedis, type RedisStoreOptions } from './connect.ts';

/** What every concern's class shares: one connection, the key names, the registered scripts. */
interface Backend {
  redis: Redis;
  keys: RedisKeys;
  scripts: Scripts;
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
    const reply = await guard(
      this.b.scripts.createOrder(
        ...transitionKeys(k, order.id),
        idem === undefined ? k.order(order.id) : k.idempotency(order.userId, idem),
        k.userOrders(order.userId),
        ...statusKeys(k),
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
    return this.#listIndex(this.b.keys.userOrders(userId), page);
  }

  async listByStatus(
    status: OrderStatus,
    page: { limit: number; after?: ListPosition | undefined },
  ): Promise<OrderPage> {
    return this.#listIndex(this.b.keys.status(status), page);
  }

  /** A page of an order index (sorted set scored by createdAt), newest first. */
  async #listIndex(
    key: string,
    page: { limit: number; after?: ListPosition | undefined },
  ): Promise<OrderPage> {
    const { redis, keys } = this.b;
    const after = page.after;
    const max = after === undefined ? '+inf' : String(after.createdAt);
    // Orders created in the same millisecond share a score; fetch a little more than a page and drop those
    // at or before the cursor, widening the window in the (rare) case one millisecond holds many orders.
    let window = page.limit + 1 + (after === undefined ? 0 : 16);
    let ids: string[];
    for (;;) {
      const flat = await guard(redis.zrevrangebyscore(key, max, '-inf', 'WITHSCORES', 'LIMIT', 0, window));
      const entries: ListPosition[] = [];
      for (let i = 0; i + 1 < flat.length; i += 2) {
        entries.push({ id: flat[i] as string, createdAt: Number(flat[i + 1]) });
      }
      const fresh = after === undefined ? entries : entries.filter((e) => isAfterCursor(e, after));
      if (fresh.length > page.limit || entries.length < window) {
        ids = fresh.map((e) => e.id);
        break;
      }
      window *= 2;
    }
    const hasMore = ids.length > page.limit;
    const pipeline = redis.pipeline();
    for (const id of ids.slice(0, page.limit)) pipeline.hgetall(keys.order(id));
    const replies = (await guard(pipeline.exec())) ?? [];
    const orders: OrderRecord[] = [];
    for (const [err, hash] of replies) {
      if (err) throw new StoreUnavailableError(`Redis: ${err.message}`, { cause: err });
      const order = orderFromHash(hash as Record<string, string>);
      if (order) orders.push(order);
    }
    return { orders, hasMore };
  }

  async markClosed(
    id: string,
    closing: { closedAt: number; reason: string; closedAttempt: string | undefined },
  ): Promise<MarkClosedResult> {
    const reply = await guard(
      this.b.scripts.markClosed(
        ...transitionKeys(this.b.keys, id),
        ...statusKeys(this.b.keys),
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
        MAX_ATTEMPTS_PER_ORDER,
        options.supersede ? '1' : '0',
        options.closeDueAt,
        options.now,
      ),
    );
    const result = openAttemptResult(reply);
    switch (result.kind) {
      case 'opened':
        return { kind: 'opened', attempt: { ...structuredClone(attempt), state: 'OPEN' } };
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
    const reply = await guard(
      this.b.scripts.markPaid(
        ...transitionKeys(this.b.keys, orderId),
        this.b.keys.due('refund'),
        this.b.keys.refunds(orderId),
        ...statusKeys(this.b.keys),
        orderId,
        outTradeNo,
        String(facts.totalFen),
        facts.transactionId,
        facts.paidAt,
        facts.source,
        // Attempts left to close at WeChat are due at once: a paid order must not be paid twice.
        facts.paidAt,
        doubleRefundDoc(facts.paidAt),
      ),
    );
    return markPaidResult(reply, facts.transactionId);
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
    outcome: { state: RefundOutcome; refundId: string | undefined; at: number; source: string },
  ): Promise<SettleRefundResult> {
    const orderId = orderIdOfRefund(outRefundNo);
    if (orderId === undefined) return { kind: 'not_found' };
    const reply = await guard(
      this.b.scripts.settleRefund(
        ...refundKeys(this.b.keys, orderId),
        ...statusKeys(this.b.keys),
        orderId,
        outRefundNo,
        outcome.state,
        outcome.refundId ?? '',
        outcome.at,
        outcome.source,
      ),
    );
    return settleRefundResult(reply);
  }
}

export class RedisQueueStore implements QueueStore {
  constructor(private readonly b: Backend) {}

  async claimDue(queue: DueQueue, now: number, leaseMs: number, limit: number): Promise<DueClaim[]> {
    const k = this.b.keys;
    const leaseEnd = now + leaseMs;
    const flat = (await guard(
      this.b.scripts.claimDue(k.due(queue), k.claims(queue), now, leaseEnd, limit),
    )) as (string | number)[];
    const claims: DueClaim[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) {
      claims.push({ orderId: String(flat[i]), attempt: Number(flat[i + 1]), leaseEnd });
    }
    return claims;
  }

  async release(queue: DueQueue, claim: DueClaim, release: ClaimRelease): Promise<boolean> {
    const k = this.b.keys;
    const reply = await guard(
      this.b.scripts.releaseClaim(
        k.due(queue),
        k.claims(queue),
        claim.orderId,
        claim.leaseEnd,
        release.finish ? '' : release.dueAt,
      ),
    );
    return reply === 1;
  }
}

export class RedisEventStore implements EventStore {
  constructor(private readonly b: Backend) {}

  async readEvents(): Promise<OrderEvent[]> {
    const entries = await guard(this.b.redis.xrange(this.b.keys.events, '-', '+'));
    return entries.map(([id, fields]) => {
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
      return event;
    });
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
 * The data under this prefix must be of SCHEMA_VERSION. An empty prefix is claimed for it; data without a
 * version (round 1 wrote none) or of another version stops the server with what to do.
 */
async function checkSchema(redis: Redis, keys: RedisKeys, prefix: string): Promise<void> {
  const found = await guard(redis.get(keys.schema));
  if (found === null) {
    const legacy = await guard(redis.exists(keys.events, keys.due('query'), `${prefix}due:expire`));
    if (legacy > 0) {
      throw new SchemaVersionError(
        `Redis under prefix "${prefix}" holds data of the first, unversioned layout (schema 1), and this server ` +
          `reads schema ${SCHEMA_VERSION}. Drain it (let open orders expire), then use a new REDIS_PREFIX; ` +
          'see docs/architecture.md "Schema versions".',
      );
    }
    // NX: of two servers starting on an empty prefix, one claims it; the other reads the claim below.
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
}

export async function createRedisStore(options: RedisStoreOptions): Promise<Store> {
  const redis = await connectRedis(options);
  try {
    await checkSchema(redis, redisKeys(options.prefix), options.prefix);
  } catch (err) {
    redis.disconnect();
    throw err;
  }
  return redisStoreOn(redis, options.prefix);
}

/** The store over an open connection whose prefix was checked (createRedisStore); tests use it directly. */
export function redisStoreOn(redis: Redis, prefix: string): Store {
  const backend: Backend = { redis, keys: redisKeys(prefix), scripts: defineScripts(redis) };
  return {
    kind: 'redis',
    users: new RedisUserStore(backend),
    sessions: new RedisSessionStore(backend),
    orders: new RedisOrderStore(backend),
    attempts: new RedisAttemptStore(backend),
    refunds: new RedisRefundStore(backend),
    queues: new RedisQueueStore(backend),
    events: new RedisEventStore(backend),
    rateLimits: new RedisRateLimitStore(redis, prefix),
    ping: async () => {
      await guard(redis.ping());
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

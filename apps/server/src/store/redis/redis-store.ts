import { Redis } from 'ioredis';
import { StoreUnavailableError } from '../../errors.ts';
import { isAfterCursor, orderDoc, orderFromHash } from '../codec.ts';
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
import { redisKeys, type RedisKeys } from './keys.ts';
import { createOrderResult, markClosedResult, markPaidResult, setPrepayResult } from './results.ts';
import { defineScripts, type Scripts } from './scripts.ts';

export interface RedisStoreOptions {
  url: string;
  prefix: string;
  commandTimeoutMs: number;
}

/**
 * Fails fast instead of queueing: with Redis down, a notification must be answered FAIL now (so WeChat retries
 * later), not hang until WeChat's own timeout. Reconnection keeps going in the background.
 */
export async function connectRedis(options: RedisStoreOptions): Promise<Redis> {
  const redis = new Redis(options.url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: options.commandTimeoutMs,
    connectTimeout: Math.max(options.commandTimeoutMs, 1000),
    retryStrategy: (times) => Math.min(100 * times, 1000),
    // Concurrent notifications each run one Lua script; pipelining sends the scripts issued in the same tick in
    // one socket write instead of one syscall each. Atomicity is per script, so batching changes nothing else.
    enableAutoPipelining: true,
  });
  // Errors surface on the commands that fail; the 'error' event would otherwise crash the process. During the
  // first connect it carries the real cause (ECONNREFUSED, WRONGPASS…): connect() itself only rejects with
  // "Connection is closed.", which sent people with a wrong password off to check whether Redis was running.
  let cause: Error | undefined;
  redis.on('error', (err: Error) => {
    cause = err;
  });
  try {
    await redis.connect();
  } catch (err) {
    redis.disconnect();
    const where = new URL(options.url);
    const password = decodeURIComponent(where.password);
    const reason = (cause ?? (err as Error)).message;
    throw new StoreUnavailableError(
      `cannot connect to Redis at ${where.hostname}:${where.port || 6379} ` +
        `(${password ? reason.replaceAll(password, '[redacted]') : reason}); ` +
        'start Redis or fix REDIS_URL, or unset REDIS_URL to use the in-memory store in development',
    );
  }
  return redis;
}

/**
 * Redis refusing work for now: a demoted primary after a failover (READONLY), memory full (OOM), a long script
 * (BUSY), loading, no quorum. Redis 7 appends `script: <sha>, on @user_script:<line>` to such an error when a
 * script's redis.call hit it, so the error code, not the word "script", tells it from a bug in a script.
 */
const TRANSIENT_REPLY_RE = /^(READONLY|OOM|BUSY|LOADING|MASTERDOWN|NOREPLICAS|TRYAGAIN|CLUSTERDOWN)\b/;

/** Redis errors become StoreUnavailableError (retryable, nothing decided) except script bugs, which stay loud. */
async function guard<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (err) {
    const e = err as Error;
    if (e.name === 'ReplyError' && !TRANSIENT_REPLY_RE.test(e.message) && /script|lua/i.test(e.message)) {
      throw err;
    }
    throw new StoreUnavailableError(`Redis: ${e.message}`, { cause: err });
  }
}

export class RedisOrderStore implements OrderStore {
  readonly kind = 'redis' as const;
  readonly #redis: Redis;
  readonly #keys: RedisKeys;
  readonly #scripts: Scripts;

  constructor(redis: Redis, prefix: string) {
    this.#redis = redis;
    this.#keys = redisKeys(prefix);
    this.#scripts = defineScripts(redis);
  }

  async createOrder(order: NewOrder, options: CreateOrderOptions): Promise<CreateOrderResult> {
    const k = this.#keys;
    const idem = options.idempotencyKey;
    const reply = await guard(
      this.#scripts.createOrder(
        k.order(order.id),
        idem === undefined ? k.order(order.id) : k.idempotency(order.openid, idem),
        k.userOrders(order.openid),
        k.due('query'),
        k.due('expire'),
        order.id,
        order.openid,
        order.totalFen,
        order.createdAt,
        order.expiresAt,
        orderDoc(order),
        options.queryDueAt,
        idem === undefined ? '' : options.fingerprint,
        options.idempotencyTtlSeconds,
      ),
    );
    const result = createOrderResult(reply);
    if (result.kind === 'conflict') return { kind: 'conflict' };
    if (result.kind === 'collision') throw new Error(`order id ${order.id} already exists`);
    const stored = await this.getOrder(result.id);
    if (!stored) throw new StoreUnavailableError(`order ${result.id} vanished right after creation`);
    return { kind: result.kind, order: stored };
  }

  async getOrder(id: string): Promise<OrderRecord | undefined> {
    return orderFromHash(await guard(this.#redis.hgetall(this.#keys.order(id))));
  }

  async listOrders(
    openid: string,
    page: { limit: number; after?: ListPosition | undefined },
  ): Promise<OrderPage> {
    const key = this.#keys.userOrders(openid);
    const after = page.after;
    const max = after === undefined ? '+inf' : String(after.createdAt);
    // Orders created in the same millisecond share a score; fetch a little more than a page and drop those
    // at or before the cursor, widening the window in the (rare) case one millisecond holds many orders.
    let window = page.limit + 1 + (after === undefined ? 0 : 16);
    let ids: string[];
    for (;;) {
      const flat = await guard(
        this.#redis.zrevrangebyscore(key, max, '-inf', 'WITHSCORES', 'LIMIT', 0, window),
      );
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
    const pipeline = this.#redis.pipeline();
    for (const id of ids.slice(0, page.limit)) pipeline.hgetall(this.#keys.order(id));
    const replies = (await guard(pipeline.exec())) ?? [];
    const orders: OrderRecord[] = [];
    for (const [err, hash] of replies) {
      if (err) throw new StoreUnavailableError(`Redis: ${err.message}`, { cause: err });
      const order = orderFromHash(hash as Record<string, string>);
      if (order) orders.push(order);
    }
    return { orders, hasMore };
  }

  async setPrepayId(id: string, prepayId: string): Promise<SetPrepayResult> {
    return setPrepayResult(await guard(this.#scripts.setPrepay(this.#keys.order(id), prepayId)));
  }

  async markPaid(id: string, facts: PaymentFacts): Promise<MarkPaidResult> {
    const reply = await guard(
      this.#scripts.markPaid(
        ...this.#transitionKeys(id),
        id,
        String(facts.totalFee),
        facts.transactionId,
        facts.timeEnd,
        facts.paidAt,
        facts.source,
      ),
    );
    return markPaidResult(reply, facts.transactionId);
  }

  async markClosed(id: string, closing: { closedAt: number; reason: string }): Promise<MarkClosedResult> {
    const reply = await guard(
      this.#scripts.markClosed(...this.#transitionKeys(id), id, closing.closedAt, closing.reason),
    );
    return markClosedResult(reply);
  }

  async claimDue(queue: DueQueue, now: number, leaseMs: number, limit: number): Promise<DueClaim[]> {
    const k = this.#keys;
    const flat = (await guard(
      this.#scripts.claimDue(k.due(queue), k.attempts(queue), now, now + leaseMs, limit),
    )) as (string | number)[];
    const claims: DueClaim[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) {
      claims.push({ orderId: String(flat[i]), attempt: Number(flat[i + 1]) });
    }
    return claims;
  }

  async reschedule(queue: DueQueue, id: string, dueAt: number): Promise<void> {
    // XX: only update a queued order; a transition that removed it meanwhile must win.
    await guard(this.#redis.zadd(this.#keys.due(queue), 'XX', dueAt, id));
  }

  async finishDue(queue: DueQueue, id: string): Promise<void> {
    await guard(this.#scripts.finishDue(this.#keys.due(queue), this.#keys.attempts(queue), id));
  }

  async readEvents(): Promise<OrderEvent[]> {
    const entries = await guard(this.#redis.xrange(this.#keys.events, '-', '+'));
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
      return event;
    });
  }

  #transitionKeys(id: string): [string, string, string, string, string, string] {
    const k = this.#keys;
    return [
      k.order(id),
      k.events,
      k.due('query'),
      k.due('expire'),
      k.attempts('query'),
      k.attempts('expire'),
    ];
  }
}

export class RedisSessionStore implements SessionStore {
  readonly #redis: Redis;
  readonly #keys: RedisKeys;

  constructor(redis: Redis, prefix: string) {
    this.#redis = redis;
    this.#keys = redisKeys(prefix);
  }

  async createSession(id: string, data: SessionData, ttlSeconds: number): Promise<void> {
    await guard(this.#redis.set(this.#keys.session(id), JSON.stringify(data), 'EX', ttlSeconds, 'NX'));
  }

  async touchSession(id: string, ttlSeconds: number): Promise<SessionData | undefined> {
    // GETEX reads and restarts the TTL in one command: the sliding expiry cannot race with expiry.
    const raw = await guard(this.#redis.getex(this.#keys.session(id), 'EX', ttlSeconds));
    return raw === null ? undefined : (JSON.parse(raw) as SessionData);
  }
}

export async function createRedisStore(options: RedisStoreOptions): Promise<Store> {
  const redis = await connectRedis(options);
  return {
    orders: new RedisOrderStore(redis, options.prefix),
    sessions: new RedisSessionStore(redis, options.prefix),
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

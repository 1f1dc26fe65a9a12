/**
 * One contract, two stores: the Redis store (real Redis) and the memory store must behave identically,
 * concurrency included, so `pnpm start` without Redis behaves like production does.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMemoryStore } from '../src/store/memory/memory-store.ts';
import { createRedisStore } from '../src/store/redis/redis-store.ts';
import type { NewOrder, OrderStore, PaymentFacts, SessionStore, Store } from '../src/store/types.ts';
import { dropPrefix, TEST_REDIS_URL, uniquePrefix } from './helpers/redis.ts';

function newOrder(openid: string, overrides: Partial<NewOrder> = {}): NewOrder {
  const id = 'T' + randomBytes(12).toString('hex');
  const createdAt = Date.now();
  return {
    id,
    outTradeNo: id,
    openid,
    description: 'mp-pay test order',
    items: [{ productId: 'tea', name: 'Tea', unitPriceFen: 150, quantity: 2, subtotalFen: 300 }],
    totalFen: 300,
    createdAt,
    expiresAt: createdAt + 60_000,
    payRequest: {
      body: 'mp-pay test order',
      spbillCreateIp: '127.0.0.1',
      notifyUrl: 'http://127.0.0.1:3000/wechatpay/notify',
      timeStart: '20260101000000',
      timeExpire: '20260101003000',
    },
    ...overrides,
  };
}

const options = (extra: { idempotencyKey?: string; fingerprint?: string; queryDueAt?: number } = {}) => ({
  fingerprint: extra.fingerprint ?? 'fp-1',
  idempotencyTtlSeconds: 600,
  queryDueAt: extra.queryDueAt ?? Date.now() + 60_000,
  ...(extra.idempotencyKey === undefined ? {} : { idempotencyKey: extra.idempotencyKey }),
});

const paid = (overrides: Partial<PaymentFacts> = {}): PaymentFacts => ({
  transactionId: '4200000001' + randomBytes(6).toString('hex'),
  totalFee: 300,
  timeEnd: '20260101001000',
  paidAt: Date.now(),
  source: 'notify',
  ...overrides,
});

const user = () => 'o' + randomBytes(10).toString('hex');

function contract(name: string, open: () => Promise<{ store: Store; cleanup: () => Promise<void> }>) {
  describe(`${name} store contract`, () => {
    let store: Store;
    let orders: OrderStore;
    let sessions: SessionStore;
    let cleanup: () => Promise<void>;

    beforeAll(async () => {
      ({ store, cleanup } = await open());
      orders = store.orders;
      sessions = store.sessions;
    });
    afterAll(async () => {
      await store.close();
      await cleanup();
    });

    const eventsFor = async (id: string) => (await orders.readEvents()).filter((e) => e.orderId === id);

    it('creates a PENDING order and reads it back unchanged', async () => {
      const order = newOrder(user());
      const result = await orders.createOrder(order, options());
      expect(result.kind).toBe('created');
      const stored = await orders.getOrder(order.id);
      expect(stored).toEqual({ ...order, status: 'PENDING' });
      expect(await orders.getOrder('nope' + order.id)).toBeUndefined();
    });

    it('replays the same order for a repeated idempotency key and refuses a different request', async () => {
      const buyer = user();
      const first = await orders.createOrder(newOrder(buyer), options({ idempotencyKey: 'key-1' }));
      const again = await orders.createOrder(newOrder(buyer), options({ idempotencyKey: 'key-1' }));
      expect(first.kind).toBe('created');
      expect(again.kind).toBe('replayed');
      if (first.kind !== 'created' || again.kind !== 'replayed') throw new Error('unreachable');
      expect(again.order.id).toBe(first.order.id);
      const other = await orders.createOrder(
        newOrder(buyer),
        options({ idempotencyKey: 'key-1', fingerprint: 'fp-2' }),
      );
      expect(other.kind).toBe('conflict');
      // The key is scoped to the buyer: someone else's identical key is a new order.
      const stranger = await orders.createOrder(newOrder(user()), options({ idempotencyKey: 'key-1' }));
      expect(stranger.kind).toBe('created');
      const page = await orders.listOrders(buyer, { limit: 10 });
      expect(page.orders.map((o) => o.id)).toEqual([first.order.id]);
    });

    it('concurrent creations with one idempotency key make exactly one order', async () => {
      const buyer = user();
      const results = await Promise.all(
        Array.from({ length: 20 }, () =>
          orders.createOrder(newOrder(buyer), options({ idempotencyKey: 'race' })),
        ),
      );
      const ids = new Set(results.map((r) => (r.kind === 'conflict' ? 'conflict' : r.order.id)));
      expect(ids.size).toBe(1);
      expect(results.filter((r) => r.kind === 'created')).toHaveLength(1);
      expect((await orders.listOrders(buyer, { limit: 50 })).orders).toHaveLength(1);
    });

    it('records a prepay_id only while PENDING', async () => {
      const order = newOrder(user());
      await orders.createOrder(order, options());
      expect(await orders.setPrepayId(order.id, 'wx-prepay-1')).toEqual({ kind: 'ok' });
      expect((await orders.getOrder(order.id))?.prepayId).toBe('wx-prepay-1');
      await orders.markPaid(order.id, paid());
      expect(await orders.setPrepayId(order.id, 'wx-prepay-2')).toEqual({
        kind: 'not_pending',
        status: 'PAID',
      });
      expect((await orders.getOrder(order.id))?.prepayId).toBe('wx-prepay-1');
      expect(await orders.setPrepayId('missing' + order.id, 'x')).toEqual({ kind: 'not_found' });
    });

    it('refuses a payment whose amount differs, changing nothing', async () => {
      const order = newOrder(user());
      await orders.createOrder(order, options());
      expect(await orders.markPaid(order.id, paid({ totalFee: 1 }))).toEqual({
        kind: 'amount_mismatch',
        expectedFen: 300,
      });
      expect((await orders.getOrder(order.id))?.status).toBe('PENDING');
      expect(await eventsFor(order.id)).toEqual([]);
      expect(await orders.markPaid('missing' + order.id, paid())).toEqual({ kind: 'not_found' });
    });

    it('pays once: one order.paid event, duplicates change nothing', async () => {
      const order = newOrder(user());
      await orders.createOrder(order, options());
      const facts = paid();
      expect(await orders.markPaid(order.id, facts)).toEqual({ kind: 'paid', previous: 'PENDING' });
      expect(await orders.markPaid(order.id, facts)).toEqual({ kind: 'duplicate', sameTransaction: true });
      expect(await orders.markPaid(order.id, paid())).toEqual({ kind: 'duplicate', sameTransaction: false });
      const stored = await orders.getOrder(order.id);
      expect(stored).toMatchObject({
        status: 'PAID',
        transactionId: facts.transactionId,
        timeEnd: facts.timeEnd,
        paidAt: facts.paidAt,
        paidVia: 'notify',
      });
      const events = await eventsFor(order.id);
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({
        type: 'order.paid',
        outTradeNo: order.id,
        transactionId: facts.transactionId,
        totalFen: 300,
        source: 'notify',
      });
    });

    it('50 concurrent identical payments make exactly one transition and one event', async () => {
      const order = newOrder(user());
      await orders.createOrder(order, options());
      const facts = paid();
      const results = await Promise.all(Array.from({ length: 50 }, () => orders.markPaid(order.id, facts)));
      expect(results.filter((r) => r.kind === 'paid')).toHaveLength(1);
      expect(results.filter((r) => r.kind === 'duplicate')).toHaveLength(49);
      expect(await eventsFor(order.id)).toHaveLength(1);
    });

    it('closes a PENDING order once; a PAID order stays PAID', async () => {
      const order = newOrder(user());
      await orders.createOrder(order, options());
      expect(await orders.markClosed(order.id, { closedAt: Date.now(), reason: 'expired' })).toEqual({
        kind: 'closed',
      });
      expect(await orders.markClosed(order.id, { closedAt: Date.now(), reason: 'expired' })).toEqual({
        kind: 'already_closed',
      });
      const stored = await orders.getOrder(order.id);
      expect(stored).toMatchObject({ status: 'CLOSED', closeReason: 'expired' });
      expect((await eventsFor(order.id)).map((e) => e.type)).toEqual(['order.closed']);

      const paidOrder = newOrder(user());
      await orders.createOrder(paidOrder, options());
      await orders.markPaid(paidOrder.id, paid());
      expect(await orders.markClosed(paidOrder.id, { closedAt: Date.now(), reason: 'buyer' })).toEqual({
        kind: 'already_paid',
      });
      expect((await orders.getOrder(paidOrder.id))?.status).toBe('PAID');
      expect(await orders.markClosed('missing' + order.id, { closedAt: 1, reason: 'x' })).toEqual({
        kind: 'not_found',
      });
    });

    it('a payment WeChat confirms for a CLOSED order still records PAID (money must be fulfilled or refunded)', async () => {
      const order = newOrder(user());
      await orders.createOrder(order, options());
      await orders.markClosed(order.id, { closedAt: Date.now(), reason: 'expired' });
      expect(await orders.markPaid(order.id, paid({ source: 'query' }))).toEqual({
        kind: 'paid',
        previous: 'CLOSED',
      });
      expect((await eventsFor(order.id)).map((e) => e.type)).toEqual(['order.closed', 'order.paid']);
    });

    it('claims due orders atomically with a lease, and transitions dequeue them', async () => {
      const base = Date.now() + 10 * 86_400_000; // far enough that other tests' orders are not due
      const a = newOrder(user());
      const b = newOrder(user());
      await orders.createOrder(a, options({ queryDueAt: base + 100 }));
      await orders.createOrder(b, options({ queryDueAt: base + 200 }));
      const mine = (claims: { orderId: string }[]) =>
        claims.filter((c) => c.orderId === a.id || c.orderId === b.id);

      expect(mine(await orders.claimDue('query', base + 50, 1000, 1000))).toEqual([]);
      expect(mine(await orders.claimDue('query', base + 150, 1000, 1000))).toEqual([
        { orderId: a.id, attempt: 1 },
      ]);
      // Leased: not claimable again before the lease ends.
      expect(mine(await orders.claimDue('query', base + 250, 1000, 1000))).toEqual([
        { orderId: b.id, attempt: 1 },
      ]);
      expect(mine(await orders.claimDue('query', base + 1149, 1000, 1000))).toEqual([]);
      expect(mine(await orders.claimDue('query', base + 1150, 1000, 1000))).toEqual([
        { orderId: a.id, attempt: 2 },
      ]);

      await orders.reschedule('query', a.id, base + 5000);
      expect(mine(await orders.claimDue('query', base + 4999, 10, 1000))).toEqual([
        { orderId: b.id, attempt: 2 },
      ]);
      await orders.markPaid(a.id, paid());
      // The transition removed `a` from both queues; a late reschedule must not bring it back.
      await orders.reschedule('query', a.id, base + 6000);
      expect(mine(await orders.claimDue('query', base + 10_000, 10, 1000))).toEqual([
        { orderId: b.id, attempt: 3 },
      ]);
      expect(mine(await orders.claimDue('expire', base + 10_000, 10, 1000))).toEqual([
        { orderId: b.id, attempt: 1 },
      ]);
      await orders.finishDue('query', b.id);
      expect(mine(await orders.claimDue('query', base + 99_999, 10, 1000))).toEqual([]);
      await orders.markClosed(b.id, { closedAt: Date.now(), reason: 'expired' });
      expect(mine(await orders.claimDue('expire', base + 99_999, 10, 1000))).toEqual([]);
    });

    it('concurrent claimers never get the same order', async () => {
      const base = Date.now() + 20 * 86_400_000;
      const ids = new Set<string>();
      for (let i = 0; i < 30; i++) {
        const order = newOrder(user());
        ids.add(order.id);
        await orders.createOrder(order, options({ queryDueAt: base + i }));
      }
      const batches = await Promise.all(
        Array.from({ length: 6 }, () => orders.claimDue('query', base + 1000, 60_000, 7)),
      );
      const claimed = batches.flat().filter((c) => ids.has(c.orderId));
      expect(claimed).toHaveLength(30);
      expect(new Set(claimed.map((c) => c.orderId)).size).toBe(30);
      for (const id of ids) await orders.finishDue('query', id);
    });

    it('lists a buyer’s orders newest first across pages, same-millisecond orders included', async () => {
      const buyer = user();
      const t = Date.now();
      const created = [t - 3000, t - 2000, t - 2000, t - 2000, t - 1000].map((createdAt) =>
        newOrder(buyer, { createdAt }),
      );
      for (const order of created) await orders.createOrder(order, options());
      await orders.createOrder(newOrder(user()), options());
      const expected = [...created]
        .sort((x, y) => y.createdAt - x.createdAt || (x.id < y.id ? 1 : -1))
        .map((o) => o.id);
      const seen: string[] = [];
      let after: { createdAt: number; id: string } | undefined;
      for (let pages = 0; pages < 10; pages++) {
        const page = await orders.listOrders(buyer, { limit: 2, after });
        seen.push(...page.orders.map((o) => o.id));
        const last = page.orders.at(-1);
        if (!page.hasMore || !last) break;
        after = { createdAt: last.createdAt, id: last.id };
      }
      expect(seen).toEqual(expected);
    });

    it('keeps sessions server-side and expires them', async () => {
      const id = randomBytes(32).toString('hex');
      const data = { openid: user(), sessionKey: 'c2Vzc2lvbi1rZXk=', createdAt: Date.now() };
      // A 2 s TTL leaves room for a loaded machine between the steps below.
      await sessions.createSession(id, data, 2);
      expect(await sessions.touchSession(id, 2)).toEqual(data);
      expect(await sessions.touchSession('x' + id, 2)).toBeUndefined();
      // Sliding: used more often than its TTL, it outlives the TTL ...
      const until = Date.now() + 2600;
      while (Date.now() < until) {
        expect(await sessions.touchSession(id, 2)).toEqual(data);
        await sleep(250);
      }
      // ... and left alone, it expires.
      await sleep(2300);
      expect(await sessions.touchSession(id, 2)).toBeUndefined();
    });
  });
}

contract('memory', async () => ({ store: createMemoryStore(), cleanup: async () => {} }));

contract('redis', async () => {
  const prefix = uniquePrefix('store');
  const store = await createRedisStore({ url: TEST_REDIS_URL, prefix, commandTimeoutMs: 2000 });
  return { store, cleanup: () => dropPrefix(prefix) };
});

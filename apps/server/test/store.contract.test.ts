/**
 * One contract, two stores: the Redis store (real Redis) and the memory store must behave identically,
 * concurrency included, so `pnpm start` without Redis behaves like production does.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import type { OrderStatus } from '@mp-pay/shared/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attemptOutTradeNo, newOrderId, newUserId } from '../src/domain/ids.ts';
import { createMemoryStore } from '../src/store/memory/memory-store.ts';
import { createRedisStore } from '../src/store/redis/redis-store.ts';
import { idempotencyShard, identityShard, shardOf } from '../src/store/shards.ts';
import type {
  AttemptStore,
  DueClaim,
  NewOrder,
  OrderEvent,
  OrderStore,
  PaymentFacts,
  QueueStore,
  SessionStore,
  Store,
} from '../src/store/types.ts';
import { dropPrefix, TEST_REDIS_URL, uniquePrefix } from './helpers/redis.ts';
import { attemptOf, newOrder, paymentFailed } from './helpers/records.ts';

const options = (extra: { idempotencyKey?: string; fingerprint?: string; queryDueAt?: number } = {}) => ({
  fingerprint: extra.fingerprint ?? 'fp-1',
  idempotencyTtlSeconds: 600,
  queryDueAt: extra.queryDueAt ?? Date.now() + 60_000,
  ...(extra.idempotencyKey === undefined ? {} : { idempotencyKey: extra.idempotencyKey }),
});

const paid = (overrides: Partial<PaymentFacts> = {}): PaymentFacts => ({
  transactionId: '4200000001' + randomBytes(6).toString('hex'),
  totalFen: 300,
  paidAt: Date.now(),
  source: 'notify',
  ...overrides,
});

const user = () => newUserId();
const no = (order: NewOrder, seq = 1) => attemptOutTradeNo(order.id, seq);

function contract(name: string, open: () => Promise<{ store: Store; cleanup: () => Promise<void> }>) {
  describe(`${name} store contract`, () => {
    let store: Store;
    let orders: OrderStore;
    let attempts: AttemptStore;
    let queues: QueueStore;
    let sessions: SessionStore;
    let cleanup: () => Promise<void>;

    beforeAll(async () => {
      ({ store, cleanup } = await open());
      ({ orders, attempts, queues, sessions } = store);
    });
    afterAll(async () => {
      await store.close();
      await cleanup();
    });

    const eventsFor = async (id: string) => (await store.events.readEvents()).filter((e) => e.orderId === id);
    const create = async (order: NewOrder, extra: Parameters<typeof options>[0] = {}) => {
      const result = await orders.createOrder(order, attemptOf(order), options(extra));
      return result;
    };
    const later = (ms: number) => Date.now() + ms;
    /** An order as the service makes one: its id minted into its idempotency key's shard (store.ids). */
    const keyedOrder = (buyer: string, key: string) =>
      newOrder(buyer, { id: store.ids.orderId(Date.now(), buyer, key) });

    it('creates a PENDING order with its first OPEN attempt and reads both back unchanged', async () => {
      const order = newOrder(user());
      const result = await create(order);
      expect(result.kind).toBe('created');
      const expected = { ...order, status: 'PENDING', currentAttempt: no(order), attemptCount: 1 };
      if (result.kind === 'created') expect(result.order).toEqual(expected);
      expect(await orders.getOrder(order.id)).toEqual(expected);
      expect(await attempts.getAttempt(no(order))).toEqual({ ...attemptOf(order), state: 'OPEN' });
      expect(await attempts.listAttempts(order.id)).toEqual([{ ...attemptOf(order), state: 'OPEN' }]);
      expect(await orders.getOrder(newOrderId(Date.now()))).toBeUndefined();
      expect(await attempts.getAttempt('not-one-of-ours')).toBeUndefined();
    });

    it('replays the same order for a repeated idempotency key and refuses a different request', async () => {
      const buyer = user();
      const first = await create(keyedOrder(buyer, 'key-1'), { idempotencyKey: 'key-1' });
      const again = await create(keyedOrder(buyer, 'key-1'), { idempotencyKey: 'key-1' });
      expect(first.kind).toBe('created');
      expect(again.kind).toBe('replayed');
      if (first.kind !== 'created' || again.kind !== 'replayed') throw new Error('unreachable');
      expect(again.order.id).toBe(first.order.id);
      const other = await create(keyedOrder(buyer, 'key-1'), {
        idempotencyKey: 'key-1',
        fingerprint: 'fp-2',
      });
      expect(other.kind).toBe('conflict');
      // The key is scoped to the buyer: someone else's identical key is a new order.
      const stranger = user();
      expect((await create(keyedOrder(stranger, 'key-1'), { idempotencyKey: 'key-1' })).kind).toBe('created');
      const page = await orders.listOrders(buyer, { limit: 10 });
      expect(page.orders.map((o) => o.id)).toEqual([first.order.id]);
    });

    it('concurrent creations with one idempotency key make exactly one order', async () => {
      const buyer = user();
      const results = await Promise.all(
        Array.from({ length: 20 }, () => create(keyedOrder(buyer, 'race'), { idempotencyKey: 'race' })),
      );
      const ids = new Set(results.map((r) => (r.kind === 'conflict' ? 'conflict' : r.order.id)));
      expect(ids.size).toBe(1);
      expect(results.filter((r) => r.kind === 'created')).toHaveLength(1);
      expect((await orders.listOrders(buyer, { limit: 50 })).orders).toHaveLength(1);
    });

    it('records prepared data only on an OPEN attempt of a PENDING order', async () => {
      const order = newOrder(user());
      await create(order);
      expect(await attempts.setPrepared(no(order), { prepayId: 'wx-prepay-1' })).toEqual({ kind: 'ok' });
      expect((await attempts.getAttempt(no(order)))?.prepared).toEqual({ prepayId: 'wx-prepay-1' });
      await attempts.markPaid(no(order), paid());
      expect(await attempts.setPrepared(no(order), { prepayId: 'wx-prepay-2' })).toEqual({
        kind: 'not_open',
        orderStatus: 'PAID',
        state: 'PAID',
      });
      expect((await attempts.getAttempt(no(order)))?.prepared).toEqual({ prepayId: 'wx-prepay-1' });
      expect(await attempts.setPrepared(no(order, 2), { prepayId: 'x' })).toEqual({ kind: 'not_found' });
    });

    it('records when it was prepared, and accepts a refresh while the attempt is OPEN (H5 mweb_url)', async () => {
      const order = newOrder(user());
      await create(order);
      expect(await attempts.setPrepared(no(order), { redirectUrl: 'https://wx/mweb?1' }, 1_000)).toEqual({
        kind: 'ok',
      });
      expect(await attempts.getAttempt(no(order))).toMatchObject({
        prepared: { redirectUrl: 'https://wx/mweb?1' },
        preparedAt: 1_000,
      });
      expect(await attempts.setPrepared(no(order), { redirectUrl: 'https://wx/mweb?2' }, 300_000)).toEqual({
        kind: 'ok',
      });
      const refreshed = await attempts.getAttempt(no(order));
      expect(refreshed?.prepared).toEqual({ redirectUrl: 'https://wx/mweb?2' });
      expect(refreshed?.preparedAt).toBe(300_000);
      expect((await attempts.listAttempts(order.id))[0]?.preparedAt).toBe(300_000);
      // Without a time (callers from before it was kept), none is claimed.
      await attempts.setPrepared(no(order), { redirectUrl: 'https://wx/mweb?3' });
      expect((await attempts.getAttempt(no(order)))?.preparedAt).toBeUndefined();
      // Once the attempt is no longer OPEN, neither changes.
      await attempts.setPrepared(no(order), { redirectUrl: 'https://wx/mweb?4' }, 400_000);
      await attempts.markPaid(no(order), paid());
      expect(
        await attempts.setPrepared(no(order), { redirectUrl: 'https://wx/mweb?5' }, 500_000),
      ).toMatchObject({
        kind: 'not_open',
      });
      expect(await attempts.getAttempt(no(order))).toMatchObject({
        prepared: { redirectUrl: 'https://wx/mweb?4' },
        preparedAt: 400_000,
      });
    });

    it("records a mode-1 scan's prepay_id beside the long link: first one wins, only while OPEN", async () => {
      const order = newOrder(user());
      await create(order);
      const link = 'weixin://wxpay/bizpayurl?sign=X&appid=wx1&mch_id=1&product_id=p&time_stamp=1&nonce_str=n';
      await attempts.setPrepared(no(order), { link }, 1_000);
      expect(await attempts.setScanPrepay(no(order), 'wx-scan-1', 2_000)).toEqual({
        kind: 'ok',
        prepayId: 'wx-scan-1',
      });
      // A concurrent scan placed its own: it is told the recorded one, nothing changes.
      expect(await attempts.setScanPrepay(no(order), 'wx-scan-2', 3_000)).toEqual({
        kind: 'ok',
        prepayId: 'wx-scan-1',
      });
      expect((await attempts.getAttempt(no(order)))?.prepared).toEqual({ link, prepayId: 'wx-scan-1' });
      expect((await attempts.listAttempts(order.id))[0]?.prepared).toEqual({ link, prepayId: 'wx-scan-1' });
      expect((await attempts.getAttempt(no(order)))?.preparedAt).toBe(1_000);

      // Ended (a close got there first): refused, nothing written.
      const other = newOrder(user());
      await create(other);
      await attempts.setPrepared(no(other), { link }, 1_000);
      await attempts.endAttempt(no(other), {
        reason: 'closing',
        tradeState: 'unknown',
        closeDueAt: 0,
        at: 5,
      });
      expect(await attempts.setScanPrepay(no(other), 'wx-scan-3', 6)).toEqual({
        kind: 'not_open',
        orderStatus: 'PENDING',
        state: 'ENDED',
      });
      expect((await attempts.getAttempt(no(other)))?.prepared).toEqual({ link });
      expect(await attempts.setScanPrepay(no(other, 2), 'x', 7)).toEqual({ kind: 'not_found' });
    });

    it('refuses a payment whose amount differs, changing nothing', async () => {
      const order = newOrder(user());
      await create(order);
      expect(await attempts.markPaid(no(order), paid({ totalFen: 1 }))).toEqual({
        kind: 'amount_mismatch',
        expectedFen: 300,
      });
      expect((await orders.getOrder(order.id))?.status).toBe('PENDING');
      expect((await attempts.getAttempt(no(order)))?.state).toBe('OPEN');
      expect(await eventsFor(order.id)).toEqual([]);
      expect(await attempts.markPaid(no(order, 7), paid())).toEqual({ kind: 'not_found' });
      expect(await attempts.markPaid('foreign-trade-no', paid())).toEqual({ kind: 'not_found' });
    });

    it('pays once: one order.paid event, duplicates change nothing', async () => {
      const order = newOrder(user());
      await create(order);
      const facts = paid();
      expect(await attempts.markPaid(no(order), facts)).toEqual({ kind: 'paid', previous: 'PENDING' });
      expect(await attempts.markPaid(no(order), facts)).toEqual({ kind: 'duplicate', sameTransaction: true });
      expect(await attempts.markPaid(no(order), paid())).toEqual({
        kind: 'duplicate',
        sameTransaction: false,
      });
      expect(await orders.getOrder(order.id)).toMatchObject({
        status: 'PAID',
        paidAttempt: no(order),
        transactionId: facts.transactionId,
        paidAt: facts.paidAt,
        paidVia: 'notify',
      });
      expect(await attempts.getAttempt(no(order))).toMatchObject({
        state: 'PAID',
        transactionId: facts.transactionId,
        paidAt: facts.paidAt,
        paidVia: 'notify',
        tradeState: 'paid',
      });
      const events = await eventsFor(order.id);
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({
        type: 'order.paid',
        outTradeNo: no(order),
        transactionId: facts.transactionId,
        totalFen: 300,
        source: 'notify',
      });
    });

    it('50 concurrent identical payments make exactly one transition and one event', async () => {
      const order = newOrder(user());
      await create(order);
      const facts = paid();
      const results = await Promise.all(
        Array.from({ length: 50 }, () => attempts.markPaid(no(order), facts)),
      );
      expect(results.filter((r) => r.kind === 'paid')).toHaveLength(1);
      expect(results.filter((r) => r.kind === 'duplicate')).toHaveLength(49);
      expect(await eventsFor(order.id)).toHaveLength(1);
    });

    it('a failed attempt ends; the next attempt gets a new out_trade_no and pays the order', async () => {
      const order = newOrder(user());
      await create(order);
      const ending = {
        reason: 'failed' as const,
        tradeState: 'failed' as const,
        closeDueAt: later(1000),
        at: Date.now(),
      };
      expect(await attempts.endAttempt(no(order), ending)).toEqual({ kind: 'ended' });
      expect(await attempts.endAttempt(no(order), ending)).toEqual({ kind: 'not_open', state: 'ENDED' });
      expect(await attempts.getAttempt(no(order))).toMatchObject({ state: 'ENDED', endReason: 'failed' });
      expect((await orders.getOrder(order.id))?.status).toBe('PENDING');

      const second = attemptOf(order, 2, { signType: 'HMAC-SHA256' });
      const opened = await attempts.openAttempt(second, {
        supersede: false,
        queryDueAt: later(60_000),
        closeDueAt: later(1),
        now: Date.now(),
      });
      expect(opened).toEqual({ kind: 'opened', attempt: { ...second, state: 'OPEN' } });
      expect(await orders.getOrder(order.id)).toMatchObject({
        currentAttempt: no(order, 2),
        attemptCount: 2,
      });
      // An OPEN attempt is reported, not doubled.
      expect(
        await attempts.openAttempt(attemptOf(order, 3), {
          supersede: false,
          queryDueAt: 0,
          closeDueAt: 0,
          now: Date.now(),
        }),
      ).toEqual({ kind: 'open_exists', outTradeNo: no(order, 2) });

      expect(await attempts.markPaid(no(order, 2), paid())).toEqual({ kind: 'paid', previous: 'PENDING' });
      expect(await orders.getOrder(order.id)).toMatchObject({ status: 'PAID', paidAttempt: no(order, 2) });
      expect(
        await attempts.openAttempt(attemptOf(order, 3), {
          supersede: false,
          queryDueAt: 0,
          closeDueAt: 0,
          now: Date.now(),
        }),
      ).toEqual({ kind: 'not_pending', status: 'PAID' });
    });

    it('two requests racing to open the next attempt: one opens it, the other is told to use it', async () => {
      const order = newOrder(user());
      await create(order);
      await attempts.endAttempt(no(order), paymentFailed(later(1)));
      const options = { supersede: false, queryDueAt: later(1), closeDueAt: later(1), now: Date.now() };
      const results = await Promise.all([
        attempts.openAttempt(attemptOf(order, 2), options),
        attempts.openAttempt(attemptOf(order, 2), options),
      ]);
      expect(results.map((r) => r.kind).sort()).toEqual(['open_exists', 'opened']);
      expect(results.find((r) => r.kind === 'open_exists')).toEqual({
        kind: 'open_exists',
        outTradeNo: no(order, 2),
      });
    });

    it('refuses a 100th attempt without touching the open one', async () => {
      const order = newOrder(user());
      await create(order);
      const options = { supersede: true, queryDueAt: later(1), closeDueAt: later(1), now: Date.now() };
      for (let seq = 2; seq <= 99; seq++) {
        expect((await attempts.openAttempt(attemptOf(order, seq), options)).kind).toBe('opened');
      }
      const hundredth = { ...attemptOf(order, 99), outTradeNo: `${order.id}9X` };
      expect(await attempts.openAttempt(hundredth, options)).toEqual({ kind: 'too_many' });
      expect((await attempts.getAttempt(no(order, 99)))?.state).toBe('OPEN');
      expect((await attempts.listAttempts(order.id)).filter((a) => a.state === 'OPEN')).toHaveLength(1);
    });

    it('a second paid attempt is a double payment: recorded once, emitted once as payment.duplicate', async () => {
      const order = newOrder(user());
      await create(order);
      await attempts.openAttempt(attemptOf(order, 2), {
        supersede: true,
        queryDueAt: later(60_000),
        closeDueAt: later(1),
        now: Date.now(),
      });
      expect(await attempts.getAttempt(no(order))).toMatchObject({ state: 'ENDED', endReason: 'superseded' });
      const first = paid();
      const second = paid();
      expect(await attempts.markPaid(no(order, 2), first)).toEqual({ kind: 'paid', previous: 'PENDING' });
      const results = await Promise.all(
        Array.from({ length: 10 }, () => attempts.markPaid(no(order), second)),
      );
      expect(results.filter((r) => r.kind === 'second_payment')).toEqual([
        { kind: 'second_payment', paidAttempt: no(order, 2), refund: `${no(order)}R01` },
      ]);
      // Its full refund was requested in the same step, queued at once.
      expect(await store.refunds.getRefund(`${no(order)}R01`)).toMatchObject({
        outTradeNo: no(order),
        refundFen: 300,
        state: 'PENDING',
        requestedBy: 'system:double_payment',
      });
      expect(
        await store.refunds.requestRefund(
          { outTradeNo: no(order), refundFen: 1, reason: 'x', requestedBy: 'staff:x', createdAt: Date.now() },
          { minSpacingMs: 0, maxCount: 50, maxAgeMs: 86_400_000 },
        ),
      ).toEqual({ kind: 'too_much', remainingFen: 0 });
      expect(results.filter((r) => r.kind === 'duplicate')).toHaveLength(9);
      expect(await orders.getOrder(order.id)).toMatchObject({
        status: 'PAID',
        paidAttempt: no(order, 2),
        transactionId: first.transactionId,
      });
      const events = await eventsFor(order.id);
      expect(events.map((e) => [e.type, e.outTradeNo, e.transactionId])).toEqual([
        ['order.paid', no(order, 2), first.transactionId],
        ['payment.duplicate', no(order), second.transactionId],
      ]);
    });

    it('paying ends the open attempt of another; attempts close one by one', async () => {
      const order = newOrder(user());
      await create(order);
      await attempts.endAttempt(no(order), paymentFailed(later(1000)));
      await attempts.openAttempt(attemptOf(order, 2), {
        supersede: false,
        queryDueAt: later(1),
        closeDueAt: later(1),
        now: Date.now(),
      });
      // The ended first attempt gets paid after all (the buyer's slow bank): the open second must not be payable.
      expect(await attempts.markPaid(no(order), paid())).toEqual({ kind: 'paid', previous: 'PENDING' });
      expect(await attempts.getAttempt(no(order, 2))).toMatchObject({
        state: 'ENDED',
        endReason: 'order_paid',
      });
      expect(await attempts.markAttemptClosed(no(order, 2), Date.now())).toEqual({ kind: 'closed' });
      expect(await attempts.markAttemptClosed(no(order, 2), Date.now())).toEqual({ kind: 'already_closed' });
      expect(await attempts.markAttemptClosed(no(order), Date.now())).toEqual({ kind: 'paid' });
      expect(await attempts.getAttempt(no(order, 2))).toMatchObject({
        state: 'CLOSED',
        tradeState: 'closed',
      });
    });

    it('closes a PENDING order once; a PAID order stays PAID; a newer open attempt blocks the close', async () => {
      const order = newOrder(user());
      await create(order);
      const closing = { closedAt: Date.now(), reason: 'expired', closedAttempt: no(order) };
      expect(await orders.markClosed(order.id, closing)).toEqual({ kind: 'closed' });
      expect(await orders.markClosed(order.id, closing)).toEqual({ kind: 'already_closed' });
      expect(await orders.getOrder(order.id)).toMatchObject({ status: 'CLOSED', closeReason: 'expired' });
      expect((await attempts.getAttempt(no(order)))?.state).toBe('CLOSED');
      expect((await eventsFor(order.id)).map((e) => e.type)).toEqual(['order.closed']);

      const paidOrder = newOrder(user());
      await create(paidOrder);
      await attempts.markPaid(no(paidOrder), paid());
      expect(
        await orders.markClosed(paidOrder.id, {
          closedAt: Date.now(),
          reason: 'buyer',
          closedAttempt: no(paidOrder),
        }),
      ).toEqual({ kind: 'already_paid' });
      expect((await orders.getOrder(paidOrder.id))?.status).toBe('PAID');

      const raced = newOrder(user());
      await create(raced);
      await attempts.openAttempt(attemptOf(raced, 2), {
        supersede: true,
        queryDueAt: later(1),
        closeDueAt: later(1),
        now: Date.now(),
      });
      expect(
        await orders.markClosed(raced.id, {
          closedAt: Date.now(),
          reason: 'buyer',
          closedAttempt: no(raced),
        }),
      ).toEqual({ kind: 'attempt_open', outTradeNo: no(raced, 2) });
      expect((await orders.getOrder(raced.id))?.status).toBe('PENDING');
      expect(
        await orders.markClosed(newOrderId(Date.now()), {
          closedAt: 1,
          reason: 'x',
          closedAttempt: undefined,
        }),
      ).toEqual({ kind: 'not_found' });
    });

    it('a payment WeChat confirms for a CLOSED order still records PAID (money must be fulfilled or refunded)', async () => {
      const order = newOrder(user());
      await create(order);
      await orders.markClosed(order.id, {
        closedAt: Date.now(),
        reason: 'expired',
        closedAttempt: no(order),
      });
      expect(await attempts.markPaid(no(order), paid({ source: 'query' }))).toEqual({
        kind: 'paid',
        previous: 'CLOSED',
      });
      expect((await eventsFor(order.id)).map((e) => e.type)).toEqual(['order.closed', 'order.paid']);
    });

    it('claims due orders atomically with a lease, and transitions dequeue them', async () => {
      const base = Date.now() + 10 * 86_400_000; // far enough that other tests' orders are not due
      const a = newOrder(user(), { expiresAt: base + 50_000 });
      const b = newOrder(user(), { expiresAt: base + 50_000 });
      await create(a, { queryDueAt: base + 100 });
      await create(b, { queryDueAt: base + 200 });
      const mine = (claims: DueClaim[]) =>
        claims
          .filter((c) => c.orderId === a.id || c.orderId === b.id)
          .map(({ orderId, attempt }) => ({ orderId, attempt }));
      const claimOf = async (queue: 'query' | 'close', now: number, leaseMs: number, id: string) => {
        const claim = (await queues.claimDue(queue, now, leaseMs, 1000)).find((c) => c.orderId === id);
        if (!claim) throw new Error(`${id} was not claimed at ${now}`);
        return claim;
      };

      expect(mine(await queues.claimDue('query', base + 50, 1000, 1000))).toEqual([]);
      const a1 = await claimOf('query', base + 150, 1000, a.id);
      expect(a1).toEqual({ orderId: a.id, attempt: 1, leaseEnd: base + 1150 });
      // Leased: not claimable again before the lease ends.
      expect(mine(await queues.claimDue('query', base + 250, 1000, 1000))).toEqual([
        { orderId: b.id, attempt: 1 },
      ]);
      expect(mine(await queues.claimDue('query', base + 1149, 1000, 1000))).toEqual([]);
      const a2 = await claimOf('query', base + 1150, 1000, a.id);
      expect(a2.attempt).toBe(2);

      // Only the claim holding the lease releases the order: the older one changes nothing.
      expect(await queues.release('query', a1, { finish: false, dueAt: base + 1 })).toBe(false);
      expect(await queues.release('query', a2, { finish: false, dueAt: base + 5000 })).toBe(true);
      expect(mine(await queues.claimDue('query', base + 4999, 10, 1000))).toEqual([
        { orderId: b.id, attempt: 2 },
      ]);
      const a3 = await claimOf('query', base + 5000, 10_000, a.id);
      await attempts.markPaid(no(a), paid());
      // The transition removed `a` from both queues meanwhile; the worker's late decision must not bring it back.
      expect(await queues.release('query', a3, { finish: false, dueAt: base + 6000 })).toBe(false);
      expect(mine(await queues.claimDue('query', base + 99_999, 10, 1000))).toEqual([
        { orderId: b.id, attempt: 3 },
      ]);
      expect(mine(await queues.claimDue('close', base + 49_999, 10, 1000))).toEqual([]);
      const b1 = await claimOf('close', base + 50_000, 10, b.id);
      expect(b1.attempt).toBe(1);
      expect(await queues.release('close', b1, { finish: true })).toBe(true);
      expect(mine(await queues.claimDue('close', base + 99_999, 10, 1000))).toEqual([]);
    });

    it('a transition during a job wins over the worker’s release', async () => {
      const base = Date.now() + 40 * 86_400_000;
      const order = newOrder(user(), { createdAt: base, expiresAt: base + 50_000 });
      await create(order, { queryDueAt: base + 100 });
      const claim = (await queues.claimDue('query', base + 100, 30_000, 1000)).find(
        (c) => c.orderId === order.id,
      );
      if (!claim) throw new Error('not claimed');
      // While the job runs, the attempt fails and the buyer pays again: a new attempt re-queues the order.
      await attempts.endAttempt(no(order), paymentFailed(base + 1000));
      await attempts.openAttempt(attemptOf(order, 2), {
        supersede: false,
        queryDueAt: base + 700,
        closeDueAt: base,
        now: Date.now(),
      });
      // The job, having seen the failure, says "done with this order": that must not drop the new attempt.
      expect(await queues.release('query', claim, { finish: true })).toBe(false);
      const again = (await queues.claimDue('query', base + 700, 1000, 1000)).filter(
        (c) => c.orderId === order.id,
      );
      expect(again.map((c) => c.orderId)).toEqual([order.id]);
    });

    it('an ended attempt keeps its order in the close queue until WeChat confirms the close', async () => {
      const base = Date.now() + 30 * 86_400_000;
      const order = newOrder(user(), { createdAt: base, expiresAt: base + 50_000 });
      await create(order, { queryDueAt: base + 100 });
      const mine = (claims: DueClaim[]) =>
        claims.filter((c) => c.orderId === order.id).map(({ orderId, attempt }) => ({ orderId, attempt }));
      await attempts.endAttempt(no(order), paymentFailed(base + 1000));
      // Nothing to query any more; the close is due early, not at the expiry.
      expect(mine(await queues.claimDue('query', base + 200, 10, 1000))).toEqual([]);
      expect(mine(await queues.claimDue('close', base + 1000, 10, 1000))).toEqual([
        { orderId: order.id, attempt: 1 },
      ]);
      // A new attempt queues the order for queries again; the order closes (expired) with the ended one open.
      await attempts.openAttempt(attemptOf(order, 2), {
        supersede: false,
        queryDueAt: base + 300,
        closeDueAt: base,
        now: Date.now(),
      });
      expect(mine(await queues.claimDue('query', base + 300, 10, 1000))).toEqual([
        { orderId: order.id, attempt: 1 },
      ]);
      await orders.markClosed(order.id, {
        closedAt: base + 2000,
        reason: 'expired',
        closedAttempt: no(order, 2),
      });
      expect(mine(await queues.claimDue('query', base + 99_999, 10, 1000))).toEqual([]);
      expect(mine(await queues.claimDue('close', base + 2000, 10, 1000))).toEqual([
        { orderId: order.id, attempt: 2 },
      ]);
      await attempts.markAttemptClosed(no(order), base + 3000);
      expect(mine(await queues.claimDue('close', base + 99_999, 10, 1000))).toEqual([]);
    });

    it('concurrent claimers never get the same order', async () => {
      const base = Date.now() + 20 * 86_400_000;
      const ids = new Set<string>();
      for (let i = 0; i < 30; i++) {
        const order = newOrder(user());
        ids.add(order.id);
        await create(order, { queryDueAt: base + i });
      }
      const batches = await Promise.all(
        Array.from({ length: 6 }, () => queues.claimDue('query', base + 1000, 60_000, 7)),
      );
      const claimed = batches.flat().filter((c) => ids.has(c.orderId));
      expect(claimed).toHaveLength(30);
      expect(new Set(claimed.map((c) => c.orderId)).size).toBe(30);
      for (const claim of claimed) await queues.release('query', claim, { finish: true });
    });

    it('lists a buyer’s orders newest first across pages, same-millisecond orders included', async () => {
      const buyer = user();
      const t = Date.now();
      const created = [t - 3000, t - 2000, t - 2000, t - 2000, t - 1000].map((createdAt) =>
        newOrder(buyer, { createdAt }),
      );
      for (const order of created) await create(order);
      await create(newOrder(user()));
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

    describe('refunds', () => {
      const rules = { minSpacingMs: 60_000, maxCount: 50, maxAgeMs: 365 * 86_400_000 };
      const paidOrder = async () => {
        const order = newOrder(user());
        await create(order);
        await attempts.markPaid(no(order), paid());
        return order;
      };
      const ask = (outTradeNo: string, refundFen: number, createdAt = Date.now()) =>
        store.refunds.requestRefund(
          { outTradeNo, refundFen, reason: 'test', requestedBy: 'staff:test', createdAt },
          rules,
        );

      it('mints one out_refund_no per refund and spaces the refunds of a payment a minute apart', async () => {
        const order = await paidOrder();
        const t = Date.now();
        const first = await ask(no(order), 100, t);
        const second = await ask(no(order), 50, t + 1000);
        expect(first).toMatchObject({
          kind: 'requested',
          refund: {
            outRefundNo: `${no(order)}R01`,
            seq: 1,
            refundFen: 100,
            totalFen: 300,
            dueAt: t,
            state: 'PENDING',
          },
        });
        // Asked for a second later: queued for a minute after the first, not refused.
        expect(second).toMatchObject({
          kind: 'requested',
          refund: { outRefundNo: `${no(order)}R02`, dueAt: t + 60_000 },
        });
        expect((await store.refunds.listRefunds(order.id)).map((r) => r.outRefundNo)).toEqual([
          `${no(order)}R01`,
          `${no(order)}R02`,
        ]);
        expect(await store.refunds.getRefund(`${no(order)}R02`)).toMatchObject({
          reason: 'test',
          requestedBy: 'staff:test',
        });
      });

      it('never lets the refunds of a payment add up to more than it, even when requests race', async () => {
        const order = await paidOrder();
        const results = await Promise.all(Array.from({ length: 10 }, () => ask(no(order), 70)));
        expect(results.filter((r) => r.kind === 'requested')).toHaveLength(4); // 4 × 70 = 280 ≤ 300 < 5 × 70
        expect(results.find((r) => r.kind === 'too_much')).toEqual({ kind: 'too_much', remainingFen: 20 });
        expect((await ask(no(order), 20)).kind).toBe('requested');
        expect(await ask(no(order), 1)).toEqual({ kind: 'too_much', remainingFen: 0 });
      });

      it('refuses refunds of unpaid payments, after a year, and beyond 50', async () => {
        const unpaid = newOrder(user());
        await create(unpaid);
        expect(await ask(no(unpaid), 10)).toEqual({ kind: 'not_paid' });
        expect(await ask(`${newOrderId(Date.now())}01`, 10)).toEqual({ kind: 'not_found' });
        const order = await paidOrder();
        expect(await ask(no(order), 10, Date.now() + 366 * 86_400_000)).toEqual({ kind: 'too_late' });
        for (let i = 0; i < 50; i++) expect((await ask(no(order), 1)).kind).toBe('requested');
        expect(await ask(no(order), 1)).toEqual({ kind: 'too_many' });
      });

      it('settles once with one event; SUCCESS refunds the order step by step, CLOSED frees the amount', async () => {
        const order = await paidOrder();
        const a = await ask(no(order), 100);
        const b = await ask(no(order), 200);
        if (a.kind !== 'requested' || b.kind !== 'requested') throw new Error('not requested');
        const ra = a.refund.outRefundNo;
        const rb = b.refund.outRefundNo;
        expect(
          await store.refunds.markRefundSent(ra, { refundId: '503000001', sentAt: 1, queryDueAt: later(1) }),
        ).toEqual({
          kind: 'sent',
        });
        expect(
          await store.refunds.markRefundSent(ra, { refundId: '503000001', sentAt: 2, queryDueAt: later(1) }),
        ).toEqual({
          kind: 'not_pending',
          state: 'PROCESSING',
        });
        const success = { state: 'SUCCESS' as const, refundId: '503000001', at: 10, source: 'notify' };
        const settled = await Promise.all(
          Array.from({ length: 5 }, () => store.refunds.settleRefund(ra, success)),
        );
        expect(settled.filter((r) => r.kind === 'settled')).toEqual([
          { kind: 'settled', orderStatus: 'PARTIALLY_REFUNDED' },
        ]);
        expect(await store.refunds.settleRefund(ra, { ...success, state: 'CLOSED' })).toEqual({
          kind: 'unchanged',
          state: 'SUCCESS',
        });
        // CLOSED: nothing refunded, the 200 may be asked for again.
        expect(
          await store.refunds.settleRefund(rb, {
            state: 'CLOSED',
            refundId: undefined,
            at: 11,
            source: 'query',
          }),
        ).toEqual({
          kind: 'settled',
          orderStatus: 'PARTIALLY_REFUNDED',
        });
        const again = await ask(no(order), 200);
        if (again.kind !== 'requested') throw new Error(again.kind);
        // ABNORMAL, then WeChat's later SUCCESS: both recorded, each once.
        expect(
          (await store.refunds.settleRefund(again.refund.outRefundNo, { ...success, state: 'ABNORMAL' }))
            .kind,
        ).toBe('settled');
        expect(await store.refunds.settleRefund(again.refund.outRefundNo, success)).toEqual({
          kind: 'settled',
          orderStatus: 'REFUNDED',
        });
        expect(await orders.getOrder(order.id)).toMatchObject({ status: 'REFUNDED' });
        const events = (await eventsFor(order.id)).filter((e) => e.type.startsWith('refund.'));
        expect(events.map((e) => [e.type, e.outRefundNo, e.refundFen])).toEqual([
          ['refund.succeeded', ra, 100],
          ['refund.closed', rb, 200],
          ['refund.abnormal', again.refund.outRefundNo, 200],
          ['refund.succeeded', again.refund.outRefundNo, 200],
        ]);
        // A refunded order is still a paid one: a late duplicate of its payment changes nothing.
        expect((await attempts.markPaid(no(order), paid())).kind).toBe('duplicate');
        expect(
          (await orders.markClosed(order.id, { closedAt: 1, reason: 'x', closedAttempt: undefined })).kind,
        ).toBe('already_paid');
      });

      it('keeps one open refund request per order and records one decision', async () => {
        const unpaid = newOrder(user());
        await create(unpaid);
        expect(await orders.askRefund(unpaid.id, { reason: 'x', at: 1 })).toEqual({ kind: 'not_paid' });
        const order = await paidOrder();
        expect(await orders.askRefund(order.id, { reason: 'too big', at: 1 })).toEqual({ kind: 'asked' });
        expect(await orders.askRefund(order.id, { reason: 'again', at: 2 })).toEqual({ kind: 'open' });
        expect((await orders.getOrder(order.id))?.refundRequest).toEqual({
          state: 'REQUESTED',
          reason: 'too big',
          requestedAt: 1,
        });
        const decisions = await Promise.all([
          orders.decideRefund(order.id, { approve: true, at: 3, by: 'staff:a', refund: `${no(order)}R01` }),
          orders.decideRefund(order.id, { approve: false, at: 3, by: 'staff:b', refund: undefined }),
        ]);
        expect(decisions.filter((d) => d.kind === 'decided')).toHaveLength(1);
        const decided = (await orders.getOrder(order.id))?.refundRequest;
        expect(decided?.state === 'APPROVED' ? decided.refund : 'rejected').toBe(
          decided?.state === 'APPROVED' ? `${no(order)}R01` : 'rejected',
        );
        // Once decided, the buyer may ask again (a new request).
        expect(await orders.askRefund(order.id, { reason: 'later', at: 4 })).toEqual({ kind: 'asked' });
        expect((await orders.getOrder(order.id))?.refundRequest).toEqual({
          state: 'REQUESTED',
          reason: 'later',
          requestedAt: 4,
        });
        expect(await orders.askRefund(newOrderId(Date.now()), { reason: 'x', at: 1 })).toEqual({
          kind: 'not_found',
        });
      });

      it('queues PENDING refunds at their due time and leaves the queue once settled', async () => {
        const base = Date.now() + 50 * 86_400_000;
        const order = newOrder(user(), { createdAt: base - 1000 });
        await create(order);
        await attempts.markPaid(no(order), paid({ paidAt: base - 500 }));
        const r = await ask(no(order), 10, base);
        if (r.kind !== 'requested') throw new Error(r.kind);
        const mine = async (now: number) =>
          (await queues.claimDue('refund', now, 1000, 1000)).filter(
            (c) => c.orderId === r.refund.outRefundNo,
          );
        expect(await mine(base - 1)).toEqual([]);
        expect((await mine(base)).map((c) => c.attempt)).toEqual([1]);
        await store.refunds.markRefundSent(r.refund.outRefundNo, {
          refundId: undefined,
          sentAt: base,
          queryDueAt: base + 5000,
        });
        expect(await mine(base + 4999)).toEqual([]);
        expect((await mine(base + 5000)).map((c) => c.attempt)).toEqual([1]);
        await store.refunds.settleRefund(r.refund.outRefundNo, {
          state: 'SUCCESS',
          refundId: 'x',
          at: base,
          source: 'query',
        });
        expect(await mine(base + 99_999)).toEqual([]);
      });
    });

    it('lists orders by status, following every transition', async () => {
      const inStatus = async (status: OrderStatus, ids: string[]) => {
        const found: string[] = [];
        let after: { createdAt: number; id: string } | undefined;
        for (;;) {
          const page = await orders.listByStatus(status, { limit: 50, after });
          found.push(...page.orders.map((o) => o.id));
          const last = page.orders.at(-1);
          if (!page.hasMore || !last) break;
          after = { createdAt: last.createdAt, id: last.id };
        }
        return ids.filter((id) => found.includes(id));
      };
      const a = newOrder(user());
      const b = newOrder(user());
      await create(a);
      await create(b);
      expect(await inStatus('PENDING', [a.id, b.id])).toEqual([a.id, b.id]);
      await attempts.markPaid(no(a), paid());
      await orders.markClosed(b.id, { closedAt: 1, reason: 'buyer', closedAttempt: no(b) });
      expect(await inStatus('PENDING', [a.id, b.id])).toEqual([]);
      expect(await inStatus('PAID', [a.id, b.id])).toEqual([a.id]);
      expect(await inStatus('CLOSED', [a.id, b.id])).toEqual([b.id]);
      const r = await store.refunds.requestRefund(
        { outTradeNo: no(a), refundFen: 100, reason: 'x', requestedBy: 'staff:x', createdAt: Date.now() },
        { minSpacingMs: 0, maxCount: 50, maxAgeMs: 86_400_000 },
      );
      if (r.kind !== 'requested') throw new Error(r.kind);
      await store.refunds.settleRefund(r.refund.outRefundNo, {
        state: 'SUCCESS',
        refundId: 'x',
        at: 1,
        source: 'query',
      });
      expect(await inStatus('PAID', [a.id])).toEqual([]);
      expect(await inStatus('PARTIALLY_REFUNDED', [a.id])).toEqual([a.id]);
    });

    it("lists a buyer's orders and the staff's status lists across shards, newest first, page by page", async () => {
      const buyer = user();
      const base = Date.now() - 10_000;
      // Many orders in the same few milliseconds: they fall in several shards and share scores.
      const made = Array.from({ length: 24 }, (_, i) => newOrder(buyer, { createdAt: base + (i % 5) }));
      for (const order of made) await create(order);
      expect(new Set(made.map((o) => shardOf(o.id, 16))).size).toBeGreaterThan(4);
      const expected = [...made]
        .sort((x, y) => y.createdAt - x.createdAt || (x.id < y.id ? 1 : -1))
        .map((o) => o.id);
      const seen: string[] = [];
      let after: { id: string; createdAt: number } | undefined;
      for (;;) {
        const page = await orders.listOrders(buyer, { limit: 5, ...(after ? { after } : {}) });
        seen.push(...page.orders.map((o) => o.id));
        const last = page.orders.at(-1);
        if (!page.hasMore || !last) break;
        after = { id: last.id, createdAt: last.createdAt };
      }
      expect(seen).toEqual(expected);
      const pending = await orders.listByStatus('PENDING', { limit: 200 });
      const mine = pending.orders.map((o) => o.id).filter((id) => made.some((o) => o.id === id));
      expect(mine).toEqual(expected);
    });

    it("mints ids into the shard their keys share: an idempotency key's order, an identity's user", () => {
      const buyer = user();
      const a = store.ids.orderId(Date.now(), buyer, 'k');
      const b = store.ids.orderId(Date.now(), buyer, 'k');
      expect(a).not.toBe(b);
      expect(shardOf(a, 16)).toBe(idempotencyShard(buyer, 'k', 16));
      expect(shardOf(b, 16)).toBe(idempotencyShard(buyer, 'k', 16));
      expect(store.ids.orderId(Date.now(), buyer, undefined)).toMatch(/^\d{14}[0-9A-Za-z]{16}$/);
      const identity = { appId: 'wx5ad0b0c0de5a4db0', openid: 'oShard' };
      expect(shardOf(store.ids.userId(identity), 16)).toBe(identityShard('wx5ad0b0c0de5a4db0', 'oShard', 16));
    });

    it('maps an identity to one user, even when first sign-ins race', async () => {
      const identity = { appId: 'wx5ad0b0c0de5a4db0', openid: 'o' + randomBytes(10).toString('hex') };
      const results = await Promise.all(
        Array.from({ length: 10 }, () =>
          store.users.resolveIdentity(identity, { userId: store.ids.userId(identity), createdAt: 1 }),
        ),
      );
      expect(new Set(results.map((r) => r.userId)).size).toBe(1);
      expect(results.filter((r) => r.created)).toHaveLength(1);
      const userId = results[0]?.userId as string;
      expect(await store.users.getUser(userId)).toEqual({
        id: userId,
        createdAt: 1,
        identities: { [identity.appId]: identity.openid },
      });
      // The same openid under another AppID is another identity.
      const otherIdentity = { ...identity, appId: 'wx0000000000000002' };
      const other = await store.users.resolveIdentity(otherIdentity, {
        userId: store.ids.userId(otherIdentity),
        createdAt: 2,
      });
      expect(other.created).toBe(true);
      expect(other.userId).not.toBe(userId);
      expect(await store.users.getUser(user())).toBeUndefined();
    });

    it('keeps sessions server-side and expires them', async () => {
      const id = randomBytes(32).toString('hex');
      const data = {
        userId: user(),
        appId: 'wx5ad0b0c0de5a4db0',
        openid: 'o' + randomBytes(10).toString('hex'),
        sessionKey: 'c2Vzc2lvbi1rZXk=',
        createdAt: Date.now(),
      };
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

    it('counts rate-limit hits per bucket and fixed window, atomically, and starts again each window', async () => {
      const bucket = 'test:' + randomBytes(6).toString('hex');
      const hour = 3_600_000;
      const start = Math.floor(Date.now() / hour) * hour;
      // 30 concurrent hits in one window: each gets its own count, none lost.
      const hits = await Promise.all(
        Array.from({ length: 30 }, (_, i) => store.rateLimits.hit(bucket, hour, start + i)),
      );
      expect(hits.map((h) => h.count).sort((a, b) => a - b)).toEqual(
        Array.from({ length: 30 }, (_, i) => i + 1),
      );
      expect(new Set(hits.map((h) => h.resetAt))).toEqual(new Set([start + hour]));
      // Another bucket is counted apart; the last millisecond of the window still counts in it.
      expect(await store.rateLimits.hit(bucket + 'x', hour, start + hour - 1)).toEqual({
        count: 1,
        resetAt: start + hour,
      });
      expect((await store.rateLimits.hit(bucket, hour, start + hour - 1)).count).toBe(31);
      // The next window starts from 1.
      expect(await store.rateLimits.hit(bucket, hour, start + hour)).toEqual({
        count: 1,
        resetAt: start + 2 * hour,
      });
      // A short window: counted apart from the hourly one of the same bucket.
      expect(await store.rateLimits.hit(bucket, 1000, start + 10)).toEqual({
        count: 1,
        resetAt: start + 1000,
      });
    });
  });
}

contract('memory', async () => ({ store: createMemoryStore(), cleanup: async () => {} }));

contract('redis', async () => {
  const prefix = uniquePrefix('store');
  const store = await createRedisStore({ url: TEST_REDIS_URL, prefix, commandTimeoutMs: 2000 });
  return { store, cleanup: () => dropPrefix(prefix) };
});

describe('Redis schema version', () => {
  const prefix = uniquePrefix('schema');
  afterAll(() => dropPrefix(prefix));

  it('claims an empty prefix, reopens it, and refuses data of another version or of round 1', async () => {
    const first = await createRedisStore({ url: TEST_REDIS_URL, prefix, commandTimeoutMs: 2000 });
    await first.close();
    const again = await createRedisStore({ url: TEST_REDIS_URL, prefix, commandTimeoutMs: 2000 });
    await again.close();
    const redis = new Redis(TEST_REDIS_URL);
    try {
      expect(await redis.get(`${prefix}schema`)).toBe('3');
      expect(await redis.get(`${prefix}shards`)).toBe('16');
      // The shard count is part of the layout: another one would look for every order in the wrong shard.
      await expect(
        createRedisStore({ url: TEST_REDIS_URL, prefix, commandTimeoutMs: 2000, shards: 8 }),
      ).rejects.toThrow(/written with REDIS_SHARDS=16, and this server has REDIS_SHARDS=8/);
      // Schema 2 (one event stream, one queue per kind) is refused.
      await redis.set(`${prefix}schema`, '2');
      await expect(createRedisStore({ url: TEST_REDIS_URL, prefix, commandTimeoutMs: 2000 })).rejects.toThrow(
        /schema 2, and this server reads schema 3/,
      );
      // Round 1 wrote no version but always had an event stream or a due queue.
      await redis.del(`${prefix}schema`);
      await redis.zadd(`${prefix}due:expire`, 1, 'old-order');
      await expect(createRedisStore({ url: TEST_REDIS_URL, prefix, commandTimeoutMs: 2000 })).rejects.toThrow(
        /first, unversioned layout/,
      );
    } finally {
      await redis.quit();
    }
  });
});

/**
 * Each shard's event stream is capped (XADD MAXLEN ~ EVENTS_MAX_LEN in lib/transition.lua): the newest entries
 * stay, the oldest go. Redis trims whole stream nodes (100 entries by default), so its length is "about" the cap;
 * the memory store trims exactly. One shard here, so every event lands in the same stream.
 */
describe.each([
  [
    'memory',
    async () => ({ store: createMemoryStore({ shards: 1, eventsMaxLen: 10 }), cleanup: async () => {} }),
  ],
  [
    'redis',
    async () => {
      const prefix = uniquePrefix('trim');
      const store = await createRedisStore({
        url: TEST_REDIS_URL,
        prefix,
        commandTimeoutMs: 2000,
        shards: 1,
        eventsMaxLen: 10,
      });
      return { store, cleanup: () => dropPrefix(prefix) };
    },
  ],
] as const)('%s store: the event stream is trimmed', (name, open) => {
  it('keeps about EVENTS_MAX_LEN of the newest entries per shard', async () => {
    const { store, cleanup } = await open();
    try {
      const made: NewOrder[] = [];
      for (let i = 0; i < 300; i++) {
        const order = newOrder(user());
        made.push(order);
        await store.orders.createOrder(order, attemptOf(order), options());
        await store.attempts.markPaid(no(order), paid());
      }
      const events = await store.events.readEvents();
      if (name === 'memory') expect(events).toHaveLength(10);
      expect(events.length).toBeGreaterThanOrEqual(10);
      expect(events.length).toBeLessThan(300);
      // The newest survive, in order; the oldest are gone.
      expect(events.at(-1)?.orderId).toBe(made.at(-1)?.id);
      expect(events.some((e) => e.orderId === made[0]?.id)).toBe(false);
      // Paged reads (reconciliation's ledger) give the same events, a page at a time.
      const pages: OrderEvent[][] = [];
      for await (const page of store.events.eventPages({ count: 3 })) pages.push(page);
      expect(pages.every((page) => page.length >= 1 && page.length <= 3)).toBe(true);
      const paged = pages.flat().sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      expect(paged.map((e) => e.id)).toEqual(events.map((e) => e.id));
      expect(paged).toEqual(events);
    } finally {
      await store.close();
      await cleanup();
    }
  });
});

describe.each([
  ['memory', async () => ({ store: createMemoryStore(), cleanup: async () => {} })],
  [
    'redis',
    async () => {
      const prefix = uniquePrefix('depths');
      const store = await createRedisStore({ url: TEST_REDIS_URL, prefix, commandTimeoutMs: 2000 });
      return { store, cleanup: () => dropPrefix(prefix) };
    },
  ],
] as const)('%s store: queue depths for the metrics', (_name, open) => {
  it('counts every shard of each queue and names the earliest due time', async () => {
    const { store, cleanup } = await open();
    try {
      const queues = store.queues as QueueStore & {
        depths(): Promise<Record<string, { depth: number; oldestDueAt?: number }>>;
      };
      expect(await queues.depths()).toEqual({
        close: { depth: 0 },
        query: { depth: 0 },
        refund: { depth: 0 },
        message: { depth: 0 },
      });
      const made = Array.from({ length: 12 }, (_, i) => newOrder(user(), { expiresAt: 2_000_000 + i }));
      for (const [i, order] of made.entries()) {
        await store.orders.createOrder(order, attemptOf(order), options({ queryDueAt: 1_000_000 + i }));
      }
      expect(await queues.depths()).toEqual({
        close: { depth: 12, oldestDueAt: 2_000_000 },
        query: { depth: 12, oldestDueAt: 1_000_000 },
        refund: { depth: 0 },
        message: { depth: 0 },
      });
    } finally {
      await store.close();
      await cleanup();
    }
  });
});

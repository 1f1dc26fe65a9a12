/**
 * The reconciliation part of the store contract (src/store/reconciliations.ts): the Redis store (real Redis, its
 * Lua scripts) and the memory store behave the same.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attemptOutTradeNo, newUserId } from '../src/domain/ids.ts';
import { createMemoryStore } from '../src/store/memory/memory-store.ts';
import { createRedisStore } from '../src/store/redis/redis-store.ts';
import type { NewOrder, Store } from '../src/store/types.ts';
import { dropPrefix, TEST_REDIS_URL, uniquePrefix } from './helpers/redis.ts';
import { attemptOf, newOrder } from './helpers/records.ts';

function contract(name: string, open: () => Promise<{ store: Store; cleanup: () => Promise<void> }>) {
  describe(`${name} store: reconciliations`, () => {
    let store: Store;
    let cleanup: () => Promise<void>;
    beforeAll(async () => {
      ({ store, cleanup } = await open());
    });
    afterAll(async () => {
      await store.close();
      await cleanup();
    });

    const paidOrder = async (): Promise<NewOrder> => {
      const order = newOrder(newUserId());
      await store.orders.createOrder(order, attemptOf(order), {
        fingerprint: 'fp',
        idempotencyTtlSeconds: 60,
        queryDueAt: Date.now() + 60_000,
      });
      await store.attempts.markPaid(attemptOutTradeNo(order.id, 1), {
        transactionId: '4200' + randomBytes(8).toString('hex'),
        totalFen: 300,
        paidAt: Date.now(),
        source: 'notify',
      });
      return order;
    };
    const external = (order: NewOrder, outRefundNo: string, refundFen: number) => ({
      orderId: order.id,
      outTradeNo: attemptOutTradeNo(order.id, 1),
      outRefundNo,
      refundId: '5030' + randomBytes(6).toString('hex'),
      refundFen,
      at: Date.now(),
      source: 'reconcile:2026-11-30',
    });

    it('records a console refund once: refunded, reserved, order status, one refund.external event', async () => {
      const order = await paidOrder();
      const first = await store.reconciliations.recordExternalRefund(external(order, 'CONSOLE1', 100));
      expect(first).toEqual({ kind: 'recorded', orderStatus: 'PARTIALLY_REFUNDED' });
      expect(await store.reconciliations.recordExternalRefund(external(order, 'CONSOLE1', 100))).toEqual({
        kind: 'already_recorded',
      });
      const events = (await store.events.readEvents()).filter(
        (e) => e.orderId === order.id && e.type === 'refund.external',
      );
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({ outRefundNo: 'CONSOLE1', refundFen: 100, totalFen: 300 });
      expect((await store.reconciliations.listExternalRefunds(order.id)).map((r) => r.outRefundNo)).toEqual([
        'CONSOLE1',
      ]);
      // Not one of the shop's refunds, but the money is gone: only 200 fen remain refundable.
      expect(await store.refunds.listRefunds(order.id)).toEqual([]);
      const rules = { minSpacingMs: 0, maxCount: 50, maxAgeMs: 365 * 86_400_000 };
      const ask = (fen: number) =>
        store.refunds.requestRefund(
          {
            outTradeNo: attemptOutTradeNo(order.id, 1),
            refundFen: fen,
            reason: 't',
            requestedBy: 'staff:t',
            createdAt: Date.now(),
          },
          rules,
        );
      expect(await ask(201)).toEqual({ kind: 'too_much', remainingFen: 200 });
      // The rest refunded from the console too: REFUNDED.
      expect(await store.reconciliations.recordExternalRefund(external(order, 'CONSOLE2', 200))).toEqual({
        kind: 'recorded',
        orderStatus: 'REFUNDED',
      });
      expect((await store.orders.getOrder(order.id))?.status).toBe('REFUNDED');
      expect((await store.orders.listByStatus('REFUNDED', { limit: 100 })).orders.map((o) => o.id)).toContain(
        order.id,
      );
    });

    it('refuses a console refund of an unpaid or unknown payment, and one of the shop’s own numbers', async () => {
      const unpaid = newOrder(newUserId());
      await store.orders.createOrder(unpaid, attemptOf(unpaid), {
        fingerprint: 'fp',
        idempotencyTtlSeconds: 60,
        queryDueAt: Date.now() + 60_000,
      });
      expect(await store.reconciliations.recordExternalRefund(external(unpaid, 'C1', 10))).toEqual({
        kind: 'not_paid',
      });
      const ghost = newOrder(newUserId());
      expect(await store.reconciliations.recordExternalRefund(external(ghost, 'C1', 10))).toEqual({
        kind: 'not_found',
      });
      const order = await paidOrder();
      const mine = await store.refunds.requestRefund(
        {
          outTradeNo: attemptOutTradeNo(order.id, 1),
          refundFen: 10,
          reason: 't',
          requestedBy: 'staff:t',
          createdAt: Date.now(),
        },
        { minSpacingMs: 0, maxCount: 50, maxAgeMs: 365 * 86_400_000 },
      );
      if (mine.kind !== 'requested') throw new Error(mine.kind);
      expect(
        await store.reconciliations.recordExternalRefund(external(order, mine.refund.outRefundNo, 10)),
      ).toEqual({ kind: 'own_refund' });
    });

    it('stores a report and emits reconciliation.completed only when it changed', async () => {
      const date = `2026-0${1 + ((randomBytes(1)[0] as number) % 9)}-1${randomBytes(1)[0]! % 9}`;
      const before = (await store.reconciliations.readCompleted()).length;
      expect(await store.reconciliations.getReport(date)).toBeUndefined();
      const report = { json: '{"a":1}', csv: 'a\r\n', counts: { matched: 1 } };
      expect(await store.reconciliations.saveReport(date, report, 1000)).toEqual({ changed: true });
      expect(await store.reconciliations.saveReport(date, report, 2000)).toEqual({ changed: false });
      expect(await store.reconciliations.getReport(date)).toEqual({
        json: '{"a":1}',
        csv: 'a\r\n',
        runs: 2,
        lastRunAt: 2000,
      });
      expect(
        await store.reconciliations.saveReport(
          date,
          { ...report, json: '{"a":2}', counts: { matched: 2 } },
          3000,
        ),
      ).toEqual({ changed: true });
      // Another merchant's report of the same day is its own: stored beside the shop's, its event names it.
      const other = { json: '{"b":1}', csv: 'b\r\n', counts: { matched: 5 } };
      expect(await store.reconciliations.getReport(date, '1900000209')).toBeUndefined();
      expect(await store.reconciliations.saveReport(date, other, 4000, '1900000209')).toEqual({
        changed: true,
      });
      expect(await store.reconciliations.saveReport(date, other, 5000, '1900000209')).toEqual({
        changed: false,
      });
      expect(await store.reconciliations.getReport(date, '1900000209')).toEqual({
        json: '{"b":1}',
        csv: 'b\r\n',
        runs: 2,
        lastRunAt: 5000,
      });
      expect((await store.reconciliations.getReport(date))?.json).toBe('{"a":2}');
      const completed = (await store.reconciliations.readCompleted()).slice(before);
      expect(completed).toEqual([
        { date, counts: { matched: 1 }, at: 1000 },
        { date, counts: { matched: 2 }, at: 3000 },
        { date, mchid: '1900000209', counts: { matched: 5 }, at: 4000 },
      ]);
    });

    it('gives a day’s run claim to one owner at a time, released only by its owner', async () => {
      const date = '2026-10-0' + String(1 + ((randomBytes(1)[0] as number) % 9));
      const claims = await Promise.all(
        ['a', 'b', 'c'].map((owner) => store.reconciliations.claimRun(date, owner, 10_000)),
      );
      expect(claims.filter(Boolean)).toHaveLength(1);
      const winner = ['a', 'b', 'c'][claims.indexOf(true)] as string;
      const loser = winner === 'a' ? 'b' : 'a';
      await store.reconciliations.releaseRun(date, loser);
      expect(await store.reconciliations.claimRun(date, loser, 10_000)).toBe(false);
      await store.reconciliations.releaseRun(date, winner);
      expect(await store.reconciliations.claimRun(date, loser, 50)).toBe(true);
      await new Promise((resolve) => setTimeout(resolve, 80));
      // An expired claim can be taken.
      expect(await store.reconciliations.claimRun(date, winner, 10_000)).toBe(true);
      await store.reconciliations.releaseRun(date, winner);
    });
  });
}

contract('memory', async () => ({ store: createMemoryStore(), cleanup: async () => {} }));

contract('redis', async () => {
  const prefix = uniquePrefix('recon-store');
  const store = await createRedisStore({ url: TEST_REDIS_URL, prefix, commandTimeoutMs: 2000 });
  return { store, cleanup: () => dropPrefix(prefix) };
});

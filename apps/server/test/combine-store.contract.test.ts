/**
 * The combine transitions (mark-combine.lua and the scripts that know sub-orders, docs/combine.md) against both
 * stores: every sub-order paid, progress then a partial payment, a sub-order paid after its combine was settled,
 * the merchant and amount checks, closes that must not swallow a paid sub-order, refunds per sub-order and the
 * order's status from them, and the events the ledger reads.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attemptOutTradeNo, newUserId, subOrderOutTradeNo } from '../src/domain/ids.ts';
import { createMemoryStore } from '../src/store/memory/memory-store.ts';
import { createRedisStore } from '../src/store/redis/redis-store.ts';
import type { NewOrder, Store, SubOrderReport } from '../src/store/types.ts';
import { dropPrefix, TEST_REDIS_URL, uniquePrefix } from './helpers/redis.ts';
import { attemptOf, newOrder } from './helpers/records.ts';

const MAIN = '1900000109';
const TEAWARE = '1900000209';
const RULES = { minSpacingMs: 0, maxCount: 50, maxAgeMs: 365 * 86_400_000 };

/** A two-merchant order (300 = 100 of the shop's own + 200 of teaware) with its first combine attempt. */
function combineOrder(): { order: NewOrder; combine: string; own: string; theirs: string } {
  const order = newOrder(newUserId(), { totalFen: 300 });
  return {
    order,
    combine: attemptOutTradeNo(order.id, 1),
    own: subOrderOutTradeNo(order.id, 1, 0),
    theirs: subOrderOutTradeNo(order.id, 1, 1),
  };
}

const tx = () => '4200000' + randomBytes(10).toString('hex').slice(0, 21);
const paidReport = (no: string, mchid: string, totalFen: number, transactionId = tx()): SubOrderReport => ({
  outTradeNo: no,
  mchid,
  outcome: 'paid',
  transactionId,
  totalFen,
  paidAt: Date.now(),
});
const report = (no: string, mchid: string, outcome: 'failed' | 'open'): SubOrderReport => ({
  outTradeNo: no,
  mchid,
  outcome,
});

function contract(name: string, open: () => Promise<{ store: Store; cleanup: () => Promise<void> }>) {
  describe(`${name} store: combine transitions`, () => {
    let store: Store;
    let cleanup: () => Promise<void>;
    beforeAll(async () => {
      ({ store, cleanup } = await open());
    });
    afterAll(async () => {
      await store.close();
      await cleanup();
    });

    const place = async () => {
      const c = combineOrder();
      const attempt = attemptOf(c.order, 1, {
        apiVersion: 'v3',
        signType: 'RSA',
        combine: {
          subOrders: [
            { outTradeNo: c.own, mchid: MAIN, merchant: 'main', totalFen: 100, description: 'tea' },
            { outTradeNo: c.theirs, mchid: TEAWARE, merchant: 'teaware', totalFen: 200, description: 'pot' },
          ],
        },
      });
      const created = await store.orders.createOrder(c.order, attempt, {
        fingerprint: 'fp',
        idempotencyTtlSeconds: 600,
        queryDueAt: Date.now() + 60_000,
      });
      expect(created.kind).toBe('created');
      return c;
    };
    const mark = (combine: string, subOrders: SubOrderReport[]) =>
      store.attempts.markCombine(combine, { subOrders, source: 'notify', now: Date.now() });
    const events = async (id: string) => (await store.events.readEvents()).filter((e) => e.orderId === id);

    it('writes the sub-orders as attempts of their own merchant and amount, listed on the combine', async () => {
      const c = await place();
      const combine = await store.attempts.getAttempt(c.combine);
      expect(combine?.subs).toEqual([c.own, c.theirs]);
      expect(await store.attempts.getAttempt(c.theirs)).toMatchObject({
        combineOf: c.combine,
        mchid: TEAWARE,
        totalFen: 200,
        state: 'OPEN',
      });
    });

    it('every sub-order paid: PAID once, the event lists each sub-order with its merchant', async () => {
      const c = await place();
      const reports = [paidReport(c.own, MAIN, 100), paidReport(c.theirs, TEAWARE, 200)];
      expect(await mark(c.combine, reports)).toEqual({ kind: 'paid', previous: 'PENDING' });
      expect(await mark(c.combine, reports)).toEqual({ kind: 'duplicate' });
      expect((await store.orders.getOrder(c.order.id))?.status).toBe('PAID');
      const [paid, ...rest] = await events(c.order.id);
      expect(rest).toEqual([]);
      expect(paid).toMatchObject({ type: 'order.paid', outTradeNo: c.combine, totalFen: 300 });
      expect(paid?.subOrders).toEqual([
        { outTradeNo: c.own, transactionId: reports[0]?.transactionId, totalFen: 100, mchid: MAIN },
        { outTradeNo: c.theirs, transactionId: reports[1]?.transactionId, totalFen: 200, mchid: TEAWARE },
      ]);
    });

    it('refuses a wrong amount or a report naming another merchant, changing nothing', async () => {
      const c = await place();
      expect(await mark(c.combine, [paidReport(c.own, MAIN, 100), paidReport(c.theirs, TEAWARE, 1)])).toEqual(
        {
          kind: 'amount_mismatch',
          outTradeNo: c.theirs,
          expectedFen: 200,
        },
      );
      expect(await mark(c.combine, [paidReport(c.own, TEAWARE, 100)])).toEqual({
        kind: 'other_merchant',
        outTradeNo: c.own,
      });
      expect((await store.attempts.getAttempt(c.own))?.state).toBe('OPEN');
      expect(await mark(attemptOutTradeNo(c.order.id, 1), [report(c.order.id + '9z', MAIN, 'open')])).toEqual(
        {
          kind: 'not_found',
        },
      );
    });

    it('one paid while the other is payable is progress; once the other fails, a partial payment refunded', async () => {
      const c = await place();
      const own = paidReport(c.own, MAIN, 100);
      expect(await mark(c.combine, [own, report(c.theirs, TEAWARE, 'open')])).toEqual({
        kind: 'progress',
        paidCount: 1,
      });
      expect((await store.orders.getOrder(c.order.id))?.status).toBe('PENDING');
      // A paid sub-order keeps its combine from being closed as if nothing was paid.
      expect(await store.attempts.markAttemptClosed(c.combine, Date.now())).toEqual({ kind: 'paid' });
      expect(
        (
          await store.orders.markClosed(c.order.id, {
            closedAt: Date.now(),
            reason: 'expired',
            closedAttempt: c.combine,
          })
        ).kind,
      ).toBe('already_paid');

      const partial = await mark(c.combine, [own, report(c.theirs, TEAWARE, 'failed')]);
      expect(partial).toEqual({ kind: 'partial', previous: 'PENDING', refunds: [`${c.own}R01`] });
      expect(await store.orders.getOrder(c.order.id)).toMatchObject({ status: 'PAID', paidFen: 100 });
      expect((await store.attempts.getAttempt(c.theirs))?.state).toBe('CLOSED');
      const types = (await events(c.order.id)).map((e) => [e.type, e.totalFen, e.partial ?? false]);
      expect(types).toEqual([
        ['order.paid', 100, true],
        ['combine.partial', 100, false],
      ]);
      expect((await store.refunds.getRefund(`${c.own}R01`))?.refundFen).toBe(100);
      // Refunded in full: REFUNDED against what was paid, not the total.
      await store.refunds.markRefundSent(`${c.own}R01`, {
        refundId: 'r1',
        sentAt: Date.now(),
        queryDueAt: Date.now() + 60_000,
      });
      const settle = (mchid?: string) =>
        store.refunds.settleRefund(`${c.own}R01`, {
          state: 'SUCCESS',
          refundId: 'r1',
          at: Date.now(),
          source: 'notify',
          ownMchid: MAIN,
          ...(mchid === undefined ? {} : { mchid }),
        });
      // Only the refunded trade's merchant settles it: a report in another merchant's name changes nothing.
      expect(await settle(TEAWARE)).toEqual({ kind: 'other_merchant' });
      const settled = await settle();
      expect(settled).toEqual({ kind: 'settled', orderStatus: 'REFUNDED' });

      // The other sub-order paid after all: a second payment, refunded in full in the same step.
      const late = await mark(c.combine, [paidReport(c.theirs, TEAWARE, 200)]);
      expect(late).toMatchObject({ kind: 'second_payment', refunds: [`${c.theirs}R01`] });
      expect((await store.refunds.getRefund(`${c.theirs}R01`))?.refundFen).toBe(200);
    });

    it('a combine the buyer replaced, paid in part, is refunded and leaves the order payable', async () => {
      const c = await place();
      const next = attemptOf(c.order, 2);
      const opened = await store.attempts.openAttempt(next, {
        supersede: true,
        queryDueAt: Date.now() + 60_000,
        closeDueAt: Date.now(),
        now: Date.now(),
      });
      expect(opened.kind).toBe('opened');
      const result = await mark(c.combine, [
        paidReport(c.own, MAIN, 100),
        report(c.theirs, TEAWARE, 'failed'),
      ]);
      expect(result).toEqual({ kind: 'second_payment', paidAttempt: '', refunds: [`${c.own}R01`] });
      expect((await store.orders.getOrder(c.order.id))?.status).toBe('PENDING');
      expect((await store.attempts.getAttempt(next.outTradeNo))?.state).toBe('OPEN');
      const types = (await events(c.order.id)).map((e) => [e.type, e.totalFen]);
      expect(types).toEqual([['payment.duplicate', 100]]);
    });

    it('refunds per sub-order: capped by its amount, never of the combine itself; REFUNDED when all are', async () => {
      const c = await place();
      await mark(c.combine, [paidReport(c.own, MAIN, 100), paidReport(c.theirs, TEAWARE, 200)]);
      const ask = (no: string, fen: number) =>
        store.refunds.requestRefund(
          {
            outTradeNo: no,
            refundFen: fen,
            reason: 'test',
            requestedBy: 'staff:test',
            createdAt: Date.now(),
          },
          RULES,
        );
      expect((await ask(c.combine, 1)).kind).toBe('not_found');
      expect(await ask(c.theirs, 201)).toEqual({ kind: 'too_much', remainingFen: 200 });
      const settle = async (fen: number, no: string, mchid?: string) => {
        const made = await ask(no, fen);
        if (made.kind !== 'requested') throw new Error(made.kind);
        await store.refunds.markRefundSent(made.refund.outRefundNo, {
          refundId: 'r',
          sentAt: Date.now(),
          queryDueAt: Date.now() + 60_000,
        });
        return store.refunds.settleRefund(made.refund.outRefundNo, {
          state: 'SUCCESS',
          refundId: 'r' + fen,
          at: Date.now(),
          source: 'query',
          ownMchid: MAIN,
          ...(mchid === undefined ? {} : { mchid }),
        });
      };
      expect(await settle(200, c.theirs, TEAWARE)).toEqual({
        kind: 'settled',
        orderStatus: 'PARTIALLY_REFUNDED',
      });
      expect(await settle(100, c.own)).toEqual({ kind: 'settled', orderStatus: 'REFUNDED' });
      const refundEvents = (await events(c.order.id)).filter((e) => e.type === 'refund.succeeded');
      // The refund of another merchant's sub-order names it: its own bill lists it (the ledger leaves it out).
      expect(refundEvents.map((e) => [e.outTradeNo, e.mchid])).toEqual([
        [c.theirs, TEAWARE],
        [c.own, MAIN],
      ]);
    });
  });
}

contract('memory', async () => ({ store: createMemoryStore(), cleanup: async () => {} }));
contract('redis', async () => {
  const prefix = uniquePrefix('combine-store');
  const store = await createRedisStore({ url: TEST_REDIS_URL, prefix, commandTimeoutMs: 2000 });
  return { store, cleanup: () => dropPrefix(prefix) };
});

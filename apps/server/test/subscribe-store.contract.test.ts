/**
 * The subscribe-message part of the store contract (answer-paid-message, mark-paid's queueing,
 * finish-paid-message, the access-token cache and its lock): the Redis store and the memory store behave alike.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attemptOutTradeNo, newUserId } from '../src/domain/ids.ts';
import { createMemoryStore } from '../src/store/memory/memory-store.ts';
import { createRedisStore } from '../src/store/redis/redis-store.ts';
import type { NewOrder, Store } from '../src/store/types.ts';
import { attemptOf, newOrder } from './helpers/records.ts';
import { dropPrefix, TEST_REDIS_URL, uniquePrefix } from './helpers/redis.ts';

const answer = (kind: string, at = Date.now()) => ({
  templateId: 'tpl-paid',
  answer: kind,
  answeredAt: at,
  appId: 'wx5ad0b0c0de5a4db0',
  openid: 'oBuyer0000000000000000000001',
});

function contract(name: string, open: () => Promise<{ store: Store; cleanup: () => Promise<void> }>) {
  describe(`${name} store: paid messages and access tokens`, () => {
    let store: Store;
    let cleanup: () => Promise<void>;
    beforeAll(async () => {
      ({ store, cleanup } = await open());
    });
    afterAll(async () => {
      await store.close();
      await cleanup();
    });

    const create = async () => {
      const order = newOrder(newUserId());
      await store.orders.createOrder(order, attemptOf(order), {
        fingerprint: 'fp',
        idempotencyTtlSeconds: 60,
        queryDueAt: Date.now() + 60_000,
      });
      return order;
    };
    const pay = (order: NewOrder, paidAt = Date.now()) =>
      store.attempts.markPaid(attemptOutTradeNo(order.id, 1), {
        transactionId: '4200' + randomBytes(8).toString('hex'),
        totalFen: order.totalFen,
        paidAt,
        source: 'notify',
      });
    /** Everything due in the message queue now, claimed (and so leased). */
    const claimAll = () => store.queues.claimDue('message', Date.now() + 1000, 30_000, 1000);

    it('records the first answer only; an accept is queued when the order is paid, once', async () => {
      const order = await create();
      expect(await store.orders.answerPaidMessage(order.id, answer('accept'))).toEqual({
        kind: 'answered',
        queued: false,
      });
      expect(await store.orders.answerPaidMessage(order.id, answer('reject'))).toEqual({
        kind: 'already',
        state: 'ACCEPTED',
      });
      expect((await claimAll()).map((c) => c.orderId)).not.toContain(order.id);
      const paidAt = Date.now();
      expect((await pay(order, paidAt)).kind).toBe('paid');
      expect((await pay(order, paidAt)).kind).toBe('duplicate');
      const claims = (await claimAll()).filter((c) => c.orderId === order.id);
      expect(claims).toEqual([expect.objectContaining({ orderId: order.id, attempt: 1 })]);
      // Leased: nobody else gets it before the lease ends.
      expect((await claimAll()).map((c) => c.orderId)).not.toContain(order.id);
      expect((await store.orders.getOrder(order.id))?.paidMessage).toEqual({
        ...answer('accept', expect.any(Number)),
        state: 'ACCEPTED',
      });

      expect(
        await store.orders.finishPaidMessage(order.id, { state: 'SENT', at: paidAt + 5, msgid: '42' }),
      ).toEqual({
        kind: 'finished',
      });
      expect(
        await store.orders.finishPaidMessage(order.id, { state: 'FAILED', at: paidAt + 6, reason: 'x' }),
      ).toEqual({
        kind: 'not_accepted',
      });
      const message = (await store.orders.getOrder(order.id))?.paidMessage;
      expect(message).toMatchObject({ state: 'SENT', sentAt: paidAt + 5, msgid: '42' });
      expect(message?.reason).toBeUndefined();
      // Out of the queue, lease and all.
      expect((await claimAll()).map((c) => c.orderId)).not.toContain(order.id);
    });

    it('queues an accept for an order already paid at once; a refusal is never queued', async () => {
      const paidFirst = await create();
      await pay(paidFirst);
      expect(await store.orders.answerPaidMessage(paidFirst.id, answer('accept'))).toEqual({
        kind: 'answered',
        queued: true,
      });
      const declined = await create();
      expect(await store.orders.answerPaidMessage(declined.id, answer('ban'))).toEqual({
        kind: 'answered',
        queued: false,
      });
      await pay(declined);
      const claimed = (await claimAll()).map((c) => c.orderId);
      expect(claimed).toContain(paidFirst.id);
      expect(claimed).not.toContain(declined.id);
      expect((await store.orders.getOrder(declined.id))?.paidMessage?.state).toBe('DECLINED');
      expect(await store.orders.finishPaidMessage(declined.id, { state: 'SENT', at: 1 })).toEqual({
        kind: 'not_accepted',
      });
      await store.orders.finishPaidMessage(paidFirst.id, { state: 'FAILED', at: 2, reason: '43101: no' });
      expect((await store.orders.getOrder(paidFirst.id))?.paidMessage).toMatchObject({
        state: 'FAILED',
        reason: '43101: no',
      });
    });

    it('refuses an answer for a CLOSED or unknown order', async () => {
      const order = await create();
      expect(
        (
          await store.orders.markClosed(order.id, {
            closedAt: Date.now(),
            reason: 'buyer',
            closedAttempt: attemptOutTradeNo(order.id, 1),
          })
        ).kind,
      ).toBe('closed');
      expect(await store.orders.answerPaidMessage(order.id, answer('accept'))).toEqual({ kind: 'closed' });
      expect((await store.orders.getOrder(order.id))?.paidMessage).toBeUndefined();
      const unknown = newOrder(newUserId());
      expect(await store.orders.answerPaidMessage(unknown.id, answer('accept'))).toEqual({
        kind: 'not_found',
      });
      expect(await store.orders.finishPaidMessage(unknown.id, { state: 'SENT', at: 1 })).toEqual({
        kind: 'not_found',
      });
    });

    it('keeps one access token per app, fetched under a lock only its owner releases', async () => {
      const app = `wx${randomBytes(8).toString('hex')}`;
      const now = Date.now();
      const tokens = store.accessTokens;
      expect(await tokens.get(app)).toBeUndefined();
      expect(await tokens.lock(app, 'a', 10_000, now)).toBe(true);
      expect(await tokens.lock(app, 'b', 10_000, now)).toBe(false);
      // Not b's lock to release.
      await tokens.unlock(app, 'b');
      expect(await tokens.lock(app, 'b', 10_000, now)).toBe(false);
      const token = { token: 'T1', refreshAt: now + 60_000, expiresAt: now + 120_000 };
      await tokens.save(app, token, 'a', now);
      expect(await tokens.get(app)).toEqual(token);
      // Saving released a's lock.
      expect(await tokens.lock(app, 'b', 10_000, now)).toBe(true);
      await tokens.unlock(app, 'b');
      expect(await tokens.lock(app, 'c', 10_000, now)).toBe(true);
      await tokens.unlock(app, 'c');
    });
  });
}

contract('memory', async () => ({ store: createMemoryStore(), cleanup: async () => {} }));

contract('redis', async () => {
  const prefix = uniquePrefix('subscribe-store');
  const store = await createRedisStore({ url: TEST_REDIS_URL, prefix, commandTimeoutMs: 2000 });
  return { store, cleanup: () => dropPrefix(prefix) };
});

/**
 * Proof for "every script's keys share one slot, and the shards spread" (issues 4 and 13, schema 3):
 *  - no Lua script builds a key name itself: every redis.call names a KEYS[n] (Cluster routes by KEYS only);
 *  - every script call the store makes, recorded with MONITOR on real Redis, names keys of a single slot with a
 *    plain REDIS_PREFIX (no hash tag needed), and an order's keys carry its shard's tag `{s<n>}`;
 *  - the shard tags fall in different slots (the real three-master spread is test/cluster/*.test.ts).
 */
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { createRedisStore } from '../src/store/redis/redis-store.ts';
import { redisKeys } from '../src/store/redis/keys.ts';
import { attemptOutTradeNo } from '../src/domain/ids.ts';
import { keySlot as storeKeySlot, shardOf, shardTag } from '../src/store/shards.ts';
import { attemptOf } from './helpers/records.ts';
import { dropPrefix, TEST_REDIS_URL, waitFor } from './helpers/redis.ts';

const LUA_DIR = new URL('../src/store/lua/', import.meta.url);

/** Redis Cluster's key slot: CRC16/XMODEM of the hash tag (or the whole key) modulo 16384. */
function keySlot(key: string): number {
  const open = key.indexOf('{');
  const close = open === -1 ? -1 : key.indexOf('}', open + 1);
  const hashed = close > open + 1 ? key.slice(open + 1, close) : key;
  let crc = 0;
  for (const byte of Buffer.from(hashed, 'utf8')) {
    crc ^= byte << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc % 16384;
}

describe('Redis Cluster readiness', () => {
  it('computes slots like Redis (known values from the Cluster spec and redis-cli)', () => {
    expect(keySlot('123456789')).toBe(0x31c3 % 16384);
    expect(keySlot('{user1000}.following')).toBe(keySlot('{user1000}.followers'));
    expect(keySlot('{}foo')).not.toBe(keySlot('{}bar')); // an empty tag hashes the whole key
    // The store's own copy routes WAIT to the master of a key (redis-store.ts waitForReplica).
    for (const key of ['123456789', '{user1000}.following', '{}foo', 'mp-pay:{s3}:order:x'])
      expect(storeKeySlot(key)).toBe(keySlot(key));
  });

  it('puts the 16 default shards in 16 different slots', () => {
    const slots = Array.from({ length: 16 }, (_, s) => keySlot(`mp-pay:${shardTag(s)}:events`));
    expect(new Set(slots).size).toBe(16);
  });

  it('has no Lua script that builds a key name: every redis.call names KEYS[n]', () => {
    const files = [
      ...readdirSync(LUA_DIR).filter((f) => f.endsWith('.lua')),
      ...readdirSync(new URL('lib/', LUA_DIR)).map((f) => `lib/${f}`),
    ];
    expect(files.length).toBeGreaterThanOrEqual(6);
    for (const file of files) {
      const lua = readFileSync(new URL(file, LUA_DIR), 'utf8').replace(/--.*$/gm, '');
      const calls = [...lua.matchAll(/redis\.call\(\s*'[A-Z]+'\s*,\s*([^,)]+)/g)].map((m) => m[1]?.trim());
      expect(calls.length, file).toBeGreaterThan(0);
      // KEYS[n], or KEYS[name] inside the shared library's helpers, which take the KEYS index as an argument.
      for (const firstKey of calls)
        expect(firstKey, `${file}: ${firstKey}`).toMatch(/^KEYS\[(\d+|[A-Za-z_]+( \+ \d+)?)\]$/);
    }
  });

  describe('script calls recorded on real Redis', () => {
    const prefix = `mp-pay-test-cluster-${randomBytes(4).toString('hex')}:`;
    afterAll(() => dropPrefix(prefix));

    it('name keys of one slot per call with a plain prefix, and the order key carries its shard tag', async () => {
      const monitor = new Redis(TEST_REDIS_URL);
      const calls: string[][] = [];
      const feed = await monitor.monitor();
      feed.on('monitor', (_time: string, args: string[]) => {
        // Only this store's calls: other test files run their scripts on the same Redis at the same time.
        if (/^eval(sha)?$/i.test(args[0] ?? '') && args[3]?.startsWith(prefix)) calls.push(args);
      });
      const store = await createRedisStore({ url: TEST_REDIS_URL, prefix, commandTimeoutMs: 2000 });
      try {
        const now = Date.now();
        const buyer = store.ids.userId({ appId: 'wx5ad0b0c0de5a4db0', openid: 'oCluster' });
        const ids = ['k1', 'k2'].map((key) => store.ids.orderId(now, buyer, key));
        for (const [i, id] of ids.entries()) {
          const order = {
            id,
            userId: buyer,
            description: 'cluster',
            items: [{ productId: 'tea', name: 'Tea', unitPriceFen: 100, quantity: 1, subtotalFen: 100 }],
            totalFen: 100,
            createdAt: now,
            expiresAt: now + 60_000,
          };
          await store.orders.createOrder(order, attemptOf(order), {
            idempotencyKey: `k${i + 1}`,
            fingerprint: 'fp',
            idempotencyTtlSeconds: 60,
            queryDueAt: now,
          });
          await store.attempts.setPrepared(attemptOutTradeNo(id, 1), { prepayId: 'wx' + id });
        }
        const [paidId, closedId] = ids as [string, string];
        await store.attempts.markPaid(attemptOutTradeNo(paidId, 1), {
          transactionId: '42' + paidId,
          totalFen: 100,
          paidAt: now,
          source: 'notify',
        });
        const claims = await store.queues.claimDue('query', now + 1, 30_000, 10);
        for (const claim of claims) await store.queues.release('query', claim, { finish: true });
        await store.attempts.endAttempt(attemptOutTradeNo(closedId, 1), {
          reason: 'failed',
          tradeState: 'failed',
          closeDueAt: now,
          at: Date.now(),
        });
        await store.attempts.markAttemptClosed(attemptOutTradeNo(closedId, 1), now);
        await store.orders.markClosed(closedId, { closedAt: now, reason: 'buyer', closedAttempt: undefined });
        await store.users.resolveIdentity(
          { appId: 'wx5ad0b0c0de5a4db0', openid: 'oCluster' },
          { userId: buyer, createdAt: now },
        );

        // MONITOR delivers asynchronously: wait for every call (2 create, 2 prepared, paid, one claim per shard,
        // end, close attempt, closed, identity, and one finish per claim).
        await waitFor(() => calls.length >= 9 + 16 + claims.length, 'script calls in MONITOR');
        for (const args of calls) {
          const numKeys = Number(args[2]);
          const keys = args.slice(3, 3 + numKeys);
          expect(numKeys, args.join(' ')).toBeGreaterThan(0);
          expect(new Set(keys.map(keySlot)).size, keys.join(' ')).toBe(1);
        }
        const orderKeys = calls.flatMap((args) => args.slice(3, 3 + Number(args[2])));
        for (const id of ids) {
          expect(orderKeys).toContain(redisKeys(prefix).order(id));
          expect(redisKeys('mp-pay:').order(id)).toBe(`mp-pay:{s${shardOf(id, 16)}}:order:${id}`);
        }
      } finally {
        await store.close();
        monitor.disconnect();
      }
    });
  });
});

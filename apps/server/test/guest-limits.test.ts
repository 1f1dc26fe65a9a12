/**
 * Guests cost us without a credential (docs/channels.md "Guest"): guest sessions are limited per client address
 * and a guest's orders per guest, in fixed clock-hour windows counted in real Redis, shared by every process.
 * Beyond: 429 rate_limited with Retry-After. X-Forwarded-For counts only through TRUST_PROXY; 0 turns
 * guests off; sessions with a WeChat identity are never counted.
 *
 * Three servers on one Redis prefix: #0 behind one trusted proxy, #1 with no proxy trusted, #2 with guests off.
 * Each test starts at the beginning of a fresh window (the app clock moved to the next hour), so a real hour
 * boundary never falls inside a test.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ErrorBody } from '@mp-pay/shared/api';
import { addressBucket } from '../src/http/rate-limit.ts';
import { guestToken, placeChannelOrder } from './helpers/channels.ts';
import { TEST_REDIS_URL } from './helpers/redis.ts';
import { json, signIn, startStack, type Stack } from './helpers/stack.ts';

const HOUR = 3_600_000;

describe('guest limits', () => {
  let stack: Stack;
  let redis: Redis;
  let offset = 0;

  beforeAll(async () => {
    stack = await startStack({
      label: 'guest-limits',
      servers: 3,
      env: { GUEST_SESSIONS_PER_IP_PER_HOUR: '3', GUEST_ORDERS_PER_HOUR: '2' },
      serverEnv: [{ TRUST_PROXY: '1' }, {}, { GUEST_SESSIONS_PER_IP_PER_HOUR: '0' }],
    });
    redis = new Redis(TEST_REDIS_URL);
  });
  afterAll(async () => {
    redis?.disconnect();
    await stack?.close();
  });

  const server = (i: number) => stack.servers[i] as NonNullable<Stack['servers'][number]>;

  /** Moves the app clock 1 s past the next hour: the test runs at the start of a fresh window. */
  async function freshWindow(): Promise<void> {
    const now = Date.now() + offset;
    const ms = Math.ceil(now / HOUR) * HOUR + 1000 - now;
    offset += ms;
    await stack.advanceClock(ms);
  }

  async function guest(i: number, forwardedFor?: string) {
    const res = await fetch(`${server(i).url}/api/session/guest`, {
      method: 'POST',
      headers: forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor },
    });
    return { status: res.status, retryAfter: res.headers.get('retry-after'), body: await json(res) };
  }

  /** The rate-limit counters in Redis under the stack's prefix. */
  async function counterKeys(): Promise<string[]> {
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await redis.scan(cursor, 'MATCH', `${stack.prefix}rate:*`, 'COUNT', 500);
      cursor = next;
      keys.push(...batch);
    } while (cursor !== '0');
    return keys.sort();
  }

  it('counts an IPv4 address as itself and an IPv6 address by its /64', () => {
    expect(addressBucket('203.0.113.7')).toBe('203.0.113.7');
    expect(addressBucket('::ffff:203.0.113.7')).toBe('203.0.113.7');
    expect(addressBucket('2001:db8:1:2::1')).toBe('2001:db8:1:2::/64');
    expect(addressBucket('2001:0db8:0001:0002:ffff:0:0:9')).toBe('2001:db8:1:2::/64');
    expect(addressBucket('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(addressBucket('::1')).toBe('0:0:0:0::/64');
    expect(addressBucket('64:ff9b::192.0.2.1')).toBe('64:ff9b:0:0::/64');
  });

  it('limits guest sessions per forwarded address behind a trusted proxy: 429 + Retry-After', async () => {
    await freshWindow();
    for (let i = 0; i < 3; i++) expect((await guest(0, '203.0.113.7')).status).toBe(201);
    const refused = await guest(0, '203.0.113.7');
    expect(refused.status).toBe(429);
    expect((refused.body as unknown as ErrorBody).error).toBe('rate_limited');
    expect((refused.body as unknown as ErrorBody).message).toMatch(/At most 3 guest sessions .* per hour/);
    // Retry-After: whole seconds until the window ends, ~1 h after the start of the window.
    expect(refused.retryAfter).toMatch(/^\d+$/);
    expect(Number(refused.retryAfter)).toBeGreaterThan(3500);
    expect(Number(refused.retryAfter)).toBeLessThanOrEqual(3599);
    // Other addresses are not affected, and neither is the proxy's own address.
    expect((await guest(0, '203.0.113.8')).status).toBe(201);
    expect((await guest(0, '198.51.100.1, 203.0.113.9')).status).toBe(201);
    // One IPv6 client cannot pick fresh addresses in its /64; another /64 is another client.
    for (const ip of ['2001:db8:1:2::1', '2001:db8:1:2::2', '2001:db8:1:2:ffff::3'])
      expect((await guest(0, ip)).status).toBe(201);
    expect((await guest(0, '2001:db8:1:2::4')).status).toBe(429);
    expect((await guest(0, '2001:db8:1:3::1')).status).toBe(201);
  });

  it('ignores X-Forwarded-For without TRUST_PROXY, and shares the count between processes', async () => {
    await freshWindow();
    // Server #1 trusts no proxy: three different forged addresses all count as the socket's 127.0.0.1.
    for (const forged of ['192.0.2.1', '192.0.2.2', '192.0.2.3'])
      expect((await guest(1, forged)).status).toBe(201);
    expect((await guest(1, '192.0.2.4')).status).toBe(429);
    // Server #0 sees the same 127.0.0.1 when no proxy header is sent: the count is in Redis, not in a process.
    expect((await guest(0)).status).toBe(429);
    expect((await guest(0, '192.0.2.4')).status).toBe(201);
  });

  it('starts counting again when the window ends (Retry-After later)', async () => {
    await freshWindow();
    for (let i = 0; i < 3; i++) expect((await guest(0, '203.0.113.20')).status).toBe(201);
    const refused = await guest(0, '203.0.113.20');
    expect(refused.status).toBe(429);
    const wait = Number(refused.retryAfter) * 1000;
    // One second before the window ends: still refused; at its end: accepted again.
    offset += wait - 2000;
    await stack.advanceClock(wait - 2000);
    expect((await guest(0, '203.0.113.20')).status).toBe(429);
    offset += 2000;
    await stack.advanceClock(2000);
    expect((await guest(0, '203.0.113.20')).status).toBe(201);
  });

  it('counters live in Redis under the deployment prefix, with a TTL of their window', async () => {
    await freshWindow();
    expect((await guest(0, '203.0.113.30')).status).toBe(201);
    const key = (await counterKeys()).find((k) => k.includes('{guest-session:203.0.113.30}'));
    expect(key).toMatch(new RegExp(`^${stack.prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}rate:\\{`));
    expect(await redis.get(key as string)).toBe('1');
    // From now to the end of the (app clock's) window plus the skew margin: about 1 h + 1 min.
    const ttl = await redis.pttl(key as string);
    expect(ttl).toBeGreaterThan(HOUR - 60_000);
    expect(ttl).toBeLessThanOrEqual(HOUR + 60_000);
  });

  it('limits each guest’s orders, not other guests’, and starts again with the next window', async () => {
    await freshWindow();
    const token = await guestToken(server(0));
    for (let i = 0; i < 2; i++)
      expect((await placeChannelOrder(server(0), token, 'native')).status).toBe(201);
    const res = await fetch(`${server(0).url}/api/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ items: [{ productId: 'green-tea', quantity: 1 }], channel: 'native' }),
    });
    expect(res.status).toBe(429);
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(3500);
    const body = await json<ErrorBody>(res);
    expect(body.error).toBe('rate_limited');
    expect(body.message).toMatch(/At most 2 orders per hour/);
    // Shared by every process: the same guest on server #1 is refused too.
    expect((await placeChannelOrder(server(1), token, 'native')).status).toBe(429);
    // Another guest is counted apart.
    const other = await guestToken(server(0));
    expect((await placeChannelOrder(server(0), other, 'native')).status).toBe(201);
    await freshWindow();
    expect((await placeChannelOrder(server(0), token, 'native')).status).toBe(201);
  });

  it('never counts a mini-program buyer: no limit, no counter written', async () => {
    await freshWindow();
    const before = await counterKeys();
    const token = await signIn(stack, 'guest-limits-mp', server(0));
    for (let i = 0; i < 4; i++) {
      const order = await placeChannelOrder(server(0), token, 'miniprogram');
      expect(order.status).toBe(201);
    }
    expect(await counterKeys()).toEqual(before);
  });

  it('GUEST_SESSIONS_PER_IP_PER_HOUR=0 turns guests off; mini-program sign-in still works', async () => {
    await freshWindow();
    const before = await counterKeys();
    for (let i = 0; i < 2; i++) {
      const refused = await guest(2);
      expect(refused.status).toBe(400);
      expect((refused.body as unknown as ErrorBody).error).toBe('channel_not_available');
      expect(refused.retryAfter).toBeNull();
    }
    expect(await counterKeys()).toEqual(before);
    const token = await signIn(stack, 'guest-limits-off', server(2));
    expect((await placeChannelOrder(server(2), token, 'miniprogram')).status).toBe(201);
  });
});

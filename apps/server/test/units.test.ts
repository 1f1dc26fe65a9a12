import { describe, expect, it } from 'vitest';
import { AppError } from '../src/errors.ts';
import { clientIp } from '../src/http/client-ip.ts';
import { backoffMs } from '../src/jobs/backoff.ts';
import { Catalog, truncateUtf8 } from '../src/services/catalog.ts';
import { splitOf } from '../src/services/orders.ts';
import { QueryThrottle } from '../src/services/query-throttle.ts';
import { decodeCursor, encodeCursor } from '../src/store/codec.ts';

describe('small pieces', () => {
  it('splits an order by merchant: one trade, one other merchant’s trade, or a combine of 2–10 (docs/combine.md)', () => {
    const part = (seller: string, i = 0) => ({
      seller,
      mchid: seller === 'main' ? '1900000109' : String(1900000200 + i),
      totalFen: 100 + i,
      description: `part ${i}`,
    });
    expect(splitOf([part('main')], false)).toEqual({ kind: 'single', mchid: undefined });
    expect(splitOf([part('teaware', 9)], true)).toEqual({ kind: 'single', mchid: '1900000209' });
    expect(splitOf([part('main'), part('teaware', 9)], true)).toEqual({
      kind: 'combine',
      parts: [
        { mchid: '1900000109', merchant: 'main', totalFen: 100, description: 'part 0' },
        { mchid: '1900000209', merchant: 'teaware', totalFen: 109, description: 'part 9' },
      ],
    });
    // Refused before WeChat sees anything: other merchants without APIv3, more sub-orders than WeChat takes.
    const refused = (fn: () => unknown) => {
      try {
        fn();
      } catch (err) {
        return (err as AppError).id;
      }
      return 'accepted';
    };
    expect(refused(() => splitOf([part('main'), part('teaware', 9)], false))).toBe('channel_not_available');
    const eleven = Array.from({ length: 11 }, (_, i) => part(`s${i}`, i));
    expect(refused(() => splitOf(eleven, true))).toBe('invalid_request');
    expect(splitOf(eleven.slice(0, 10), true).kind).toBe('combine');
  });

  it('backs off exponentially up to the cap', () => {
    expect([1, 2, 3, 4, 5, 50].map((a) => backoffMs(a, 1000, 10_000))).toEqual([
      1000, 2000, 4000, 8000, 10_000, 10_000,
    ]);
  });

  it('prices orders from the catalogue only, and keeps body within 127 UTF-8 bytes', () => {
    const catalog = Catalog.load();
    const priced = catalog.price([
      { productId: 'green-tea', quantity: 3 },
      { productId: 'sample', quantity: 1 },
    ]);
    expect(priced.totalFen).toBe(3 * 3800 + 1);
    expect(priced.description).toBe('mp-pay - Longjing green tea, 50 g +1');
    expect(() => catalog.price([{ productId: 'nope', quantity: 1 }])).toThrow(AppError);
    const cut = truncateUtf8('茶'.repeat(100), 127);
    expect(Buffer.byteLength(cut)).toBeLessThanOrEqual(127);
    expect(cut).toBe('茶'.repeat(42));
  });

  it('unwraps IPv4-mapped addresses for spbill_create_ip', () => {
    expect(clientIp('::ffff:10.0.0.7')).toBe('10.0.0.7');
    expect(clientIp('2001:db8::1')).toBe('2001:db8::1');
    expect(clientIp('not-an-ip')).toBe('127.0.0.1');
  });

  it('lets one refresh per order through per interval, bounded in memory', () => {
    const throttle = new QueryThrottle(1000, 2);
    expect(throttle.take('a', 0)).toBe(true);
    expect(throttle.take('a', 999)).toBe(false);
    expect(throttle.take('a', 1000)).toBe(true);
    expect(throttle.take('b', 1000)).toBe(true);
    expect(throttle.take('c', 1000)).toBe(true); // evicts the oldest ("a")
    expect(throttle.take('a', 1001)).toBe(true);
  });

  it('round-trips list cursors and refuses foreign ones', () => {
    const position = { createdAt: 1_767_225_600_000, id: '20260101000000abcdefABCDEF0123' };
    expect(decodeCursor(encodeCursor(position))).toEqual(position);
    expect(decodeCursor('bm9wZQ')).toBeUndefined();
  });
});

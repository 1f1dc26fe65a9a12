import { describe, expect, test } from 'vitest';
import { formatAmount, formatFen, formatYuan, groupThousands } from '../../miniprogram/utils/money.ts';
import { formatBeijingTime, formatCountdown } from '../../miniprogram/utils/time.ts';

describe('formatFen', () => {
  test.each([
    [0, '0.00'],
    [1, '0.01'],
    [5, '0.05'],
    [10, '0.10'],
    [99, '0.99'],
    [100, '1.00'],
    [1234, '12.34'],
    [1990, '19.90'],
    [100000, '1000.00'],
    [-5, '-0.05'],
    [-150, '-1.50'],
    [Number.MAX_SAFE_INTEGER, '90071992547409.91'],
  ])('%i fen -> %s', (fen, text) => {
    expect(formatFen(fen)).toBe(text);
  });

  test('works on integers only: 0.1 + 0.2 style amounts are rejected, not rounded', () => {
    expect(() => formatFen(0.1 + 0.2)).toThrow(/integer number of fen/);
    expect(() => formatFen(12.5)).toThrow(TypeError);
    expect(() => formatFen(Number.NaN)).toThrow(TypeError);
    expect(() => formatFen(Number.POSITIVE_INFINITY)).toThrow(TypeError);
    expect(() => formatFen(Number.MAX_SAFE_INTEGER + 1)).toThrow(TypeError);
  });

  test('the sum of formatted parts equals the formatted sum (no float drift)', () => {
    // 3 x 19.90 is 59.70 exactly; the float product 3 * 19.9 is 59.699999999999996.
    expect(formatFen(3 * 1990)).toBe('59.70');
    expect(formatYuan(1205 * 7)).toBe('¥84.35');
  });
});

describe('thousands separators', () => {
  test.each([
    [0, '0.00'],
    [99999, '999.99'],
    [100000, '1,000.00'],
    [123456789, '1,234,567.89'],
    [100000000, '1,000,000.00'],
    [-100000, '-1,000.00'],
    [-99999, '-999.99'],
    [Number.MAX_SAFE_INTEGER, '90,071,992,547,409.91'],
  ])('%i fen -> %s', (fen, text) => {
    expect(formatAmount(fen)).toBe(text);
  });

  test('formatYuan, what every page shows, groups too', () => {
    expect(formatYuan(1990)).toBe('¥19.90');
    expect(formatYuan(1234567)).toBe('¥12,345.67');
  });

  test('groupThousands leaves the fraction alone and refuses what is not a plain amount', () => {
    expect(groupThousands('1234.5678')).toBe('1,234.5678');
    expect(groupThousands('1234567')).toBe('1,234,567');
    expect(() => groupThousands('1e21')).toThrow(TypeError);
    expect(() => groupThousands('¥12')).toThrow(TypeError);
  });

  test('integers only, like formatFen', () => {
    expect(() => formatAmount(0.1 + 0.2)).toThrow(TypeError);
  });
});

describe('formatBeijingTime', () => {
  test('shows UTC instants in UTC+8 whatever the local zone', () => {
    expect(formatBeijingTime('2026-11-25T06:30:00.000Z')).toBe('2026-11-25 14:30');
    expect(formatBeijingTime('2026-12-31T16:05:00Z')).toBe('2027-01-01 00:05');
    expect(formatBeijingTime('2026-11-25T14:30:00+08:00')).toBe('2026-11-25 14:30');
  });
  test('shows an unparsable value as given rather than "NaN"', () => {
    expect(formatBeijingTime('soon')).toBe('soon');
  });
});

describe('formatCountdown', () => {
  test.each([
    [15 * 60 * 1000, '15:00'],
    [15 * 60 * 1000 - 1, '15:00'],
    [59_001, '01:00'],
    [1, '00:01'],
    [3_909_000, '1:05:09'],
    [0, ''],
    [-5, ''],
    [Number.NaN, ''],
  ])('%d ms -> "%s"', (ms, text) => {
    expect(formatCountdown(ms)).toBe(text);
  });
});

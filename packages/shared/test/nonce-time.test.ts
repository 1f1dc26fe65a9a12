import { describe, expect, it } from 'vitest';
import {
  createNonce,
  createOutTradeNo,
  formatWechatTime,
  OUT_TRADE_NO_RE,
  parseWechatTime,
} from '../src/wechatpay/index.ts';

describe('createNonce / createOutTradeNo', () => {
  it('creates 32-character alphanumeric nonces by default and honours the length', () => {
    expect(createNonce()).toMatch(/^[A-Za-z0-9]{32}$/);
    expect(createNonce(8)).toMatch(/^[A-Za-z0-9]{8}$/);
    expect(() => createNonce(33)).toThrow(RangeError);
    expect(() => createNonce(0)).toThrow(RangeError);
  });

  it('creates valid, unique out_trade_no values', () => {
    const seen = new Set<string>();
    const now = new Date('2026-11-25T06:00:00Z');
    for (let i = 0; i < 10_000; i++) {
      const no = createOutTradeNo(now);
      expect(no).toMatch(OUT_TRADE_NO_RE);
      expect(no.length).toBeLessThanOrEqual(32);
      expect(no.startsWith('20261125140000')).toBe(true);
      seen.add(no);
    }
    expect(seen.size).toBe(10_000);
  });
});

describe('WeChat times (Beijing, yyyyMMddHHmmss)', () => {
  it('formats in UTC+8 and parses back', () => {
    const date = new Date('2026-12-31T16:30:05Z');
    expect(formatWechatTime(date)).toBe('20270101003005');
    expect(parseWechatTime('20270101003005')?.toISOString()).toBe('2026-12-31T16:30:05.000Z');
  });

  it.each(['2027010100300', '202701010030055', '20270230120000', '20271301120000', 'abcdefghijklmn', ''])(
    'rejects %j',
    (text) => {
      expect(parseWechatTime(text)).toBeUndefined();
    },
  );
});

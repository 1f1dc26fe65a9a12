import { describe, expect, it } from 'vitest';
import { beijingDay, billAvailability, billReadyAt, billTime, oldestBillDay } from '../src/bills/calendar.ts';

/** The bill calendar (docs/protocol.md §8 "Bills"): Beijing days, ready at 10:00 the next day, three months kept. */
const at = (iso: string) => Date.parse(iso);

describe('bill calendar', () => {
  it('days are Beijing calendar days (UTC+8)', () => {
    expect(beijingDay(at('2026-11-30T15:59:59Z'))).toBe('20261130');
    expect(beijingDay(at('2026-11-30T16:00:00Z'))).toBe('20261201');
    expect(billTime(at('2026-11-30T16:00:05Z'))).toBe('2026-12-01 00:00:05');
  });

  it('a day is ready from 10:00 Beijing the next day, across month and year ends', () => {
    expect(new Date(billReadyAt('20261130')).toISOString()).toBe('2026-12-01T02:00:00.000Z');
    expect(new Date(billReadyAt('20261231')).toISOString()).toBe('2027-01-01T02:00:00.000Z');
    expect(billAvailability('20261130', at('2026-12-01T01:59:59Z'))).toBe('creating');
    expect(billAvailability('20261130', at('2026-12-01T02:00:00Z'))).toBe('ready');
    expect(billAvailability('20261201', at('2026-12-01T02:00:00Z'))).toBe('creating');
    expect(billAvailability('20261202', at('2026-12-01T02:00:00Z'))).toBe('future');
  });

  it('keeps three calendar months', () => {
    const now = at('2026-12-01T02:00:00Z');
    expect(oldestBillDay(now)).toBe('20260901');
    expect(billAvailability('20260901', now)).toBe('ready');
    expect(billAvailability('20260831', now)).toBe('expired');
    expect(oldestBillDay(at('2026-05-31T04:00:00Z'))).toBe('20260228');
    expect(oldestBillDay(at('2028-05-31T04:00:00Z'))).toBe('20280229');
  });
});

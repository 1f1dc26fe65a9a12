/**
 * Beijing calendar days (UTC+8 all year, no daylight saving): WeChat dates bills, and a bill's trade times, by
 * them (docs/reconciliation.md).
 */
import { isBillDate } from '@mp-pay/shared/bills';

const DAY_MS = 86_400_000;
const BEIJING_OFFSET_MS = 8 * 3_600_000;

/** Whether `text` is a real YYYY-MM-DD day (the bills' own rule, @mp-pay/shared/bills). */
export function isDate(text: string): boolean {
  return isBillDate(text, 'v3');
}

/** The Beijing day of an instant, YYYY-MM-DD. */
export function beijingDate(at: number): string {
  return new Date(at + BEIJING_OFFSET_MS).toISOString().slice(0, 10);
}

/** Epoch ms of 00:00 Beijing on a day. */
export function beijingMidnight(date: string): number {
  return Date.parse(`${date}T00:00:00.000Z`) - BEIJING_OFFSET_MS;
}

/** Minutes since Beijing midnight at an instant. */
export function beijingMinute(at: number): number {
  return Math.floor((at - beijingMidnight(beijingDate(at))) / 60_000);
}

export function previousDate(date: string): string {
  return new Date(Date.parse(`${date}T00:00:00.000Z`) - DAY_MS).toISOString().slice(0, 10);
}

/** A bill's 'yyyy-MM-dd HH:mm:ss' (Beijing) as epoch ms; NaN when unreadable. */
export function beijingTime(text: string): number {
  return Date.parse(`${text.replace(' ', 'T')}.000+08:00`);
}

/** The oldest day WeChat still has a bill for, seen from `today`: three calendar months back. */
export function oldestBillDate(today: string): string {
  const t = new Date(`${today}T00:00:00.000Z`);
  t.setUTCMonth(t.getUTCMonth() - 3);
  return t.toISOString().slice(0, 10);
}

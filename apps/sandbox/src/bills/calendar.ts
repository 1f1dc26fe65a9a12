import { formatWechatTime } from '@mp-pay/shared/wechatpay';

/**
 * The bill calendar on the sandbox clock (docs/protocol.md §8 "Bills"): a bill covers one Beijing calendar day
 * (UTC+8, no daylight saving); it is made from 10:00 Beijing time the next day; the last three months can be had.
 */
const BEIJING_OFFSET_MS = 8 * 3600_000;
/** When the day's bill is ready: 10:00 the next day. */
const READY_HOUR = 10;

export type BillAvailability = 'ready' | 'creating' | 'future' | 'expired';

/** 'yyyyMMdd' of the Beijing day an instant falls in. */
export function beijingDay(at: number): string {
  return formatWechatTime(new Date(at)).slice(0, 8);
}

/** 'yyyy-MM-dd HH:mm:ss' Beijing, how bills print times. */
export function billTime(at: number): string {
  const t = formatWechatTime(new Date(at));
  return `${t.slice(0, 4)}-${t.slice(4, 6)}-${t.slice(6, 8)} ${t.slice(8, 10)}:${t.slice(10, 12)}:${t.slice(12, 14)}`;
}

function parts(day: string): [number, number, number] {
  return [Number(day.slice(0, 4)), Number(day.slice(4, 6)), Number(day.slice(6, 8))];
}

/** Epoch ms at which the bill of `day` ('yyyyMMdd') becomes available. */
export function billReadyAt(day: string): number {
  const [y, m, d] = parts(day);
  return Date.UTC(y, m - 1, d + 1, READY_HOUR) - BEIJING_OFFSET_MS;
}

/** The oldest day whose bill can still be downloaded at `now`: today (Beijing) three calendar months back. */
export function oldestBillDay(now: number): string {
  const [y, m, d] = parts(beijingDay(now));
  // 31 May → 28 (or 29) February, not 3 March: clamp to the target month's last day.
  const lastDay = new Date(Date.UTC(y, m - 1 - 3 + 1, 0)).getUTCDate();
  const back = new Date(Date.UTC(y, m - 1 - 3, Math.min(d, lastDay)));
  return back.toISOString().slice(0, 10).replaceAll('-', '');
}

export function billAvailability(day: string, now: number): BillAvailability {
  const today = beijingDay(now);
  if (day > today) return 'future';
  if (day < oldestBillDay(now)) return 'expired';
  return now >= billReadyAt(day) ? 'ready' : 'creating';
}

/**
 * WeChat Pay v2 times (time_start, time_expire, time_end) are `yyyyMMddHHmmss` in Beijing time (UTC+8, no DST).
 */
const BEIJING_OFFSET_MS = 8 * 60 * 60 * 1000;
const WECHAT_TIME_RE = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})$/;

export function formatWechatTime(date: Date): string {
  if (Number.isNaN(date.getTime())) throw new RangeError('formatWechatTime: invalid date');
  const iso = new Date(date.getTime() + BEIJING_OFFSET_MS).toISOString();
  return iso.slice(0, 19).replace(/[-T:]/g, '');
}

/** Parses `yyyyMMddHHmmss` (Beijing time); undefined when the text is not a real calendar time. */
export function parseWechatTime(text: string): Date | undefined {
  const m = WECHAT_TIME_RE.exec(text);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s] = m.map(Number) as [number, number, number, number, number, number, number];
  const utc = Date.UTC(y, mo - 1, d, h, mi, s);
  const check = new Date(utc);
  if (
    check.getUTCFullYear() !== y ||
    check.getUTCMonth() !== mo - 1 ||
    check.getUTCDate() !== d ||
    check.getUTCHours() !== h ||
    check.getUTCMinutes() !== mi ||
    check.getUTCSeconds() !== s
  ) {
    return undefined;
  }
  return new Date(utc - BEIJING_OFFSET_MS);
}

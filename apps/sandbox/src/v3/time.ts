import { formatWechatTime } from '@mp-pay/shared/wechatpay';

/** RFC 3339 in Beijing time, as APIv3 writes every time: `2025-01-31T12:34:56+08:00`. */
export function beijingRfc3339(at: Date | number): string {
  return fromWechatTime(formatWechatTime(new Date(at)));
}

/** `yyyyMMddHHmmss` (v2, Beijing) → `yyyy-MM-ddTHH:mm:ss+08:00` (v3). */
export function fromWechatTime(text: string): string {
  const [y, mo, d, h, mi, s] = [0, 4, 6, 8, 10, 12].map((i, n) => text.slice(i, n === 0 ? 4 : i + 2));
  return `${y}-${mo}-${d}T${h}:${mi}:${s}+08:00`;
}

const RFC3339_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})$/;

/** Parses an RFC 3339 time with an explicit offset; undefined when it is not one. */
export function parseRfc3339(text: string): number | undefined {
  if (!RFC3339_RE.test(text)) return undefined;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? undefined : ms;
}

/** Unix seconds on the wall clock: what Wechatpay-Timestamp and the Authorization timestamp carry. */
export function unixSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

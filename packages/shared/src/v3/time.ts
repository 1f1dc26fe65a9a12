/**
 * APIv3 times (time_expire, success_time, create_time) are RFC 3339 (docs/protocol.md §7 "Orders"); WeChat
 * writes them in Beijing time, `2026-11-25T14:30:00+08:00`, and we send them the same way so that what the
 * merchant console shows matches what we logged.
 */
const BEIJING_OFFSET_MS = 8 * 60 * 60 * 1000;

export function formatV3Time(date: Date): string {
  if (Number.isNaN(date.getTime())) throw new RangeError('formatV3Time: invalid date');
  return new Date(date.getTime() + BEIJING_OFFSET_MS).toISOString().slice(0, 19) + '+08:00';
}

const RFC3339_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/** Parses an RFC 3339 time with an explicit offset; undefined for anything else. */
export function parseV3Time(text: string): Date | undefined {
  if (typeof text !== 'string' || !RFC3339_RE.test(text)) return undefined;
  const date = new Date(text);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

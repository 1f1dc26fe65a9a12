/**
 * Order times are shown in Beijing time (UTC+8, no daylight saving), the time zone WeChat Pay itself uses,
 * so a buyer's order list reads the same as their WeChat payment record whatever the phone's zone.
 */
const BEIJING_OFFSET_MS = 8 * 60 * 60 * 1000;

function pad(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/** "2026-11-25T06:30:00.000Z" -> "2026-11-25 14:30"; an unparsable value is shown as given. */
export function formatBeijingTime(iso: string): string {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return iso;
  const d = new Date(ms + BEIJING_OFFSET_MS);
  return (
    `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ` +
    `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`
  );
}

/**
 * Time left to pay, counted down on the order list: 14:59, or 1:05:09 past an hour; '' once it is over (the
 * server closes the order; until then the list says it is closing). Rounded up so "00:00" never shows while
 * time remains.
 */
export function formatCountdown(remainingMs: number): string {
  if (!Number.isFinite(remainingMs) || remainingMs <= 0) return '';
  const total = Math.ceil(remainingMs / 1000);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  return h > 0 ? `${h}:${pad(m)}:${pad(s)}` : `${pad(m)}:${pad(s)}`;
}

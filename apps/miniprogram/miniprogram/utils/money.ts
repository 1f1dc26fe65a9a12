/**
 * Money arrives from the server as integer fen (1 yuan = 100 fen) and is only ever formatted, never computed
 * with floating point: 0.1 + 0.2 style errors must not reach a price tag.
 */

/** 1234 -> "12.34", 5 -> "0.05", -150 -> "-1.50". Throws on anything that is not a safe integer. */
export function formatFen(fen: number): string {
  if (!Number.isSafeInteger(fen)) {
    throw new TypeError(`amount must be an integer number of fen, got ${String(fen)}`);
  }
  const sign = fen < 0 ? '-' : '';
  const abs = Math.abs(fen);
  const yuan = Math.floor(abs / 100);
  const cents = abs % 100;
  return `${sign}${yuan}.${cents < 10 ? '0' : ''}${cents}`;
}

/** "¥12.34": what the pages show. */
export function formatYuan(fen: number): string {
  return `¥${formatFen(fen)}`;
}

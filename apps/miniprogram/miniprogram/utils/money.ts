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

/** "1234567.89" -> "1,234,567.89": the yuan part grouped by thousands, the sign and fen kept. */
export function groupThousands(amount: string): string {
  const match = /^(-?)(\d+)(\.\d+)?$/.exec(amount);
  if (!match) throw new TypeError(`not a plain decimal amount: ${amount}`);
  const [, sign = '', whole = '', fraction = ''] = match;
  return sign + whole.replace(/\B(?=(\d{3})+$)/g, ',') + fraction;
}

/** 123456789 fen -> "1,234,567.89": the shared formatter of every amount a page shows. */
export function formatAmount(fen: number): string {
  return groupThousands(formatFen(fen));
}

/** "¥1,234.56": what the pages show. */
export function formatYuan(fen: number): string {
  return `¥${formatAmount(fen)}`;
}

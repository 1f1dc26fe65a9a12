// @ts-check
/** Amounts are integer fen everywhere (1 yuan = 100 fen); yuan exist only as text for people to read. */

/**
 * `¥12.34` from 1234 fen, with integer arithmetic only (never `fen / 100` on a float).
 * @param {number} fen a safe integer
 * @returns {string}
 */
export function formatYuan(fen) {
  if (!Number.isSafeInteger(fen)) throw new TypeError(`amount must be an integer number of fen, got ${fen}`);
  const sign = fen < 0 ? '-' : '';
  const abs = Math.abs(fen);
  const yuan = (abs - (abs % 100)) / 100;
  return `${sign}¥${yuan}.${String(abs % 100).padStart(2, '0')}`;
}

/**
 * The typed outcome of asking for a bill that cannot be had (yet), the same `code` for APIv2 and APIv3 so a
 * reconciliation job branches on it alone (docs/protocol.md §8 "Bills"):
 *   NO_BILL        v2 `No Bill Exist` (error_code 20002), v3 NO_STATEMENT_EXIST: no trades that day, or too old
 *   BILL_CREATING  v2 `Bill Creating`, v3 STATEMENT_CREATING: ask again later (bills are made from 10:00 Beijing)
 *   BILL_HASH_MISMATCH  the v3 file does not match the signed hash_value (tampered or truncated)
 * The errors themselves are WechatPayError (v2) / WechatPayV3Error (v3) instances carrying these codes.
 */
export type BillErrorCode = 'NO_BILL' | 'BILL_CREATING' | 'BILL_HASH_MISMATCH';

/** v2 `return_msg` (and v3 `code`) → our code. */
export function billErrorCodeOf(message: string | undefined): BillErrorCode | undefined {
  switch (message) {
    case 'No Bill Exist':
    case 'NO_STATEMENT_EXIST':
      return 'NO_BILL';
    case 'Bill Creating':
    case 'STATEMENT_CREATING':
      return 'BILL_CREATING';
    default:
      return undefined;
  }
}

/** The bill date rules the callers share: v2 'yyyyMMdd', v3 'yyyy-MM-dd', a real calendar day. */
export function isBillDate(text: string, form: 'v2' | 'v3'): boolean {
  const match = (form === 'v2' ? /^(\d{4})(\d{2})(\d{2})$/ : /^(\d{4})-(\d{2})-(\d{2})$/).exec(text);
  if (!match) return false;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const date = new Date(Date.UTC(year, month - 1, day));
  return date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}

/**
 * What both adapters share for bills (docs/reconciliation.md): the three-month window, the mapping of the typed
 * bill codes of @mp-pay/shared/bills to gateway failures, and reading a downloaded file as bill entries.
 */
import { billLines, parseBillLines, type BillEntry } from '@mp-pay/shared/bills';
import { beijingDate, isDate, oldestBillDate } from '../domain/beijing-date.ts';
import { GatewayError } from './errors.ts';

/**
 * A day WeChat cannot have a bill for: not a date, or older than three months by `now`. (Days not over yet are
 * left to WeChat, which answers "Bill Creating": the merchant's clock is not WeChat's.)
 */
export function checkBillWindow(date: string, now: number): void {
  if (!isDate(date)) throw new GatewayError('refused', `bill date ${date} is not a YYYY-MM-DD day`);
  const oldest = oldestBillDate(beijingDate(now));
  if (date < oldest) {
    throw new GatewayError(
      'bill_out_of_window',
      `${date} is outside the three months WeChat keeps bills for (the oldest is ${oldest})`,
    );
  }
}

/** The bill codes the clients carry (`code` of their errors) → gateway failures; anything else: undefined. */
export function billFailure(err: unknown, call: string): GatewayError | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  const message = `${call}: ${err instanceof Error ? err.message : String(err)}`;
  if (code === 'BILL_CREATING')
    return new GatewayError('bill_not_ready', message, { cause: err, wechatCode: code });
  if (code === 'NO_BILL') return new GatewayError('no_bill', message, { cause: err, wechatCode: code });
  if (code === 'BILL_HASH_MISMATCH')
    return new GatewayError('bad_reply', message, { cause: err, wechatCode: code });
  return undefined;
}

/** The entries of a downloaded bill file, gzip or plain (told by its magic bytes), read as a stream. */
export function billEntries(file: Uint8Array): AsyncIterable<BillEntry> {
  const gzip = file.length >= 2 && file[0] === 0x1f && file[1] === 0x8b;
  async function* chunks(): AsyncGenerator<Uint8Array> {
    // Fixed-size slices: the line reader and gunzip work chunk by chunk, as over a socket.
    for (let i = 0; i < file.length; i += 64 * 1024) yield file.subarray(i, i + 64 * 1024);
  }
  return parseBillLines(billLines(chunks(), { gzip }));
}

import type { V2CallOptions } from './client.ts';
import { parseFen } from './notify.ts';
import type { V2Params } from './sign.ts';
import type { XmlMap } from './xml.ts';

/** Internal helpers of the typed v2 calls (not exported from the package). */

/** transaction_id wins when both are given: it is WeChat's own key for the trade. */
export function tradeRefFields(ref: object): V2Params {
  if ('transactionId' in ref && typeof ref.transactionId === 'string' && ref.transactionId) {
    return { transaction_id: ref.transactionId };
  }
  if ('outTradeNo' in ref && typeof ref.outTradeNo === 'string' && ref.outTradeNo) {
    return { out_trade_no: ref.outTradeNo };
  }
  throw new TypeError('an order reference needs outTradeNo or transactionId');
}

/** Only the per-call choices, so a reference object's other fields never reach the request options. */
export function callOptions(ref: V2CallOptions): V2CallOptions {
  return { appId: ref.appId, signType: ref.signType };
}

/** Fen amounts the caller passes: positive safe integers, checked before anything is sent. */
export function checkFen(value: number, what: string): void {
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new RangeError(`${what} must be a positive integer number of fen`);
  }
}

/** An amount field a reply may leave out; when present it must be whole fen. */
export function optionalFen(raw: XmlMap, field: string): number | undefined {
  return raw[field] === undefined ? undefined : parseFen(raw[field], field, raw);
}

/**
 * @mp-pay/shared/v2: the WeChat Pay APIv2 protocol (XML, MD5 / HMAC-SHA256 with the APIv2 key): signing, the
 * hardened XML codec, wx.requestPayment parameters, payment notifications, the client (orders and refunds) and
 * the v2 errors. Node only. Facts and traps: docs/protocol.md.
 */
export * from './errors.ts';
export * from './sign.ts';
export * from './xml.ts';
export * from './paysign.ts';
export * from './native.ts';
export * from './h5.ts';
export * from './fail-reply.ts';
export * from './notify.ts';
export * from './refund-notify.ts';
export * from './read-capped.ts';
export * from './client.ts';
// The typed calls themselves are methods of WechatPayV2Client; only their types (and the out_refund_no rule) are public.
export type {
  CloseOrderRef,
  OrderQueryResult,
  OrderRef,
  TradeState,
  TradeType,
  UnifiedOrderRequest,
  UnifiedOrderResult,
} from './orders.ts';
export { h5SceneInfo, type H5SceneInfo } from './orders.ts';
export { OUT_REFUND_NO_RE } from './refunds.ts';
export type {
  RefundEntry,
  RefundEntryStatus,
  RefundQueryRef,
  RefundQueryResult,
  RefundRequest,
  RefundResult,
} from './refunds.ts';
export type { DownloadBillV2Request } from './bill.ts';

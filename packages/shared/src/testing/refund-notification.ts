import { createNonce } from '../core/nonce.ts';
import { encryptRefundNotification } from '../v2/refund-notify.ts';
import { buildXml } from '../v2/xml.ts';

/**
 * The one builder of APIv2 refund notifications (docs/protocol.md §6, §8), as WeChat builds them: an unsigned
 * `<xml>` with return_code, appid, mch_id, nonce_str and `req_info`, the refund's map encrypted with the MD5 of
 * the APIv2 key. The sandbox sends what it builds; tests post it. Pass another `key` to forge one.
 */
export interface RefundNotificationInput {
  appId: string;
  mchId: string;
  /** The APIv2 key req_info is encrypted with (another one makes a forgery). */
  key: string;
  transactionId: string;
  outTradeNo: string;
  refundId: string;
  outRefundNo: string;
  /** Fen. */
  totalFee: number;
  /** Fen. */
  refundFee: number;
  /** Defaults to refundFee. */
  settlementRefundFee?: number;
  /** Set when a 免充值 coupon made the settled total lower than total_fee. */
  settlementTotalFee?: number;
  /** SUCCESS (default), CHANGE (could not reach the buyer) or REFUNDCLOSE. */
  refundStatus?: 'SUCCESS' | 'CHANGE' | 'REFUNDCLOSE';
  /** `yyyy-MM-dd HH:mm:ss`, Beijing time; WeChat sends it for SUCCESS only. */
  successTime?: string;
  /** WeChat's spelling (accout). Defaults to 支付用户零钱. */
  refundRecvAccount?: string;
  /** Defaults to REFUND_SOURCE_UNSETTLED_FUNDS. */
  refundAccount?: string;
  /** Defaults to API. */
  refundRequestSource?: string;
  /** Defaults to a fresh random nonce. */
  nonce?: string;
  /** Any other field of the decrypted map; applied last (undefined removes a field). */
  extra?: Readonly<Record<string, string | number | undefined>>;
}

export interface RefundNotification {
  /** The decrypted map, as the receiver gets it back from req_info. */
  reqInfo: Record<string, string>;
  /** The outer fields, req_info included. */
  map: Record<string, string>;
  /** The request body. */
  xml: string;
}

/** The fields inside req_info, unencrypted. */
export function refundNotificationReqInfo(input: RefundNotificationInput): Record<string, string> {
  const status = input.refundStatus ?? 'SUCCESS';
  const fields: Record<string, string | number | undefined> = {
    transaction_id: input.transactionId,
    out_trade_no: input.outTradeNo,
    refund_id: input.refundId,
    out_refund_no: input.outRefundNo,
    total_fee: input.totalFee,
    settlement_total_fee: input.settlementTotalFee,
    refund_fee: input.refundFee,
    settlement_refund_fee: input.settlementRefundFee ?? input.refundFee,
    refund_status: status,
    success_time: status === 'SUCCESS' ? input.successTime : undefined,
    refund_recv_accout: input.refundRecvAccount ?? '支付用户零钱',
    refund_account: input.refundAccount ?? 'REFUND_SOURCE_UNSETTLED_FUNDS',
    refund_request_source: input.refundRequestSource ?? 'API',
    ...input.extra,
  };
  const map: Record<string, string> = {};
  for (const [name, value] of Object.entries(fields)) if (value !== undefined) map[name] = String(value);
  return map;
}

/** The notification as WeChat POSTs it to the refund notify_url. */
export function refundNotification(input: RefundNotificationInput): RefundNotification {
  const reqInfo = refundNotificationReqInfo(input);
  const map = {
    return_code: 'SUCCESS',
    appid: input.appId,
    mch_id: input.mchId,
    nonce_str: input.nonce ?? createNonce(),
    req_info: encryptRefundNotification(reqInfo, input.key),
  };
  return { reqInfo, map, xml: buildXml(map) };
}

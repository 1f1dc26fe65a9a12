import { OUT_TRADE_NO_RE } from '../core/nonce.ts';
import type { V2CallOptions, V2Caller } from './client.ts';
import { WechatPayError } from './errors.ts';
import { parseFen } from './notify.ts';
import { callOptions, checkFen, optionalFen, tradeRefFields } from './refs.ts';
import type { XmlMap } from './xml.ts';

/**
 * The trade calls of APIv2: unifiedorder, orderquery, closeorder (docs/protocol.md §3, §6, §9). Requests are
 * checked before anything is sent, so a programming error is a TypeError / RangeError, not a WeChat refusal.
 */

/** JSAPI: mini-program and official-account pages; NATIVE: QR code; APP: mobile app; MWEB: H5 outside WeChat. */
export type TradeType = 'JSAPI' | 'NATIVE' | 'APP' | 'MWEB';
const TRADE_TYPES = new Set<string>(['JSAPI', 'NATIVE', 'APP', 'MWEB']);

export interface UnifiedOrderRequest extends V2CallOptions {
  body: string;
  outTradeNo: string;
  /** Fen, a positive integer. */
  totalFee: number;
  /** The buyer's IP; for MWEB WeChat compares it with the IP that opens mweb_url. */
  spbillCreateIp: string;
  notifyUrl: string;
  /** Defaults to JSAPI. */
  tradeType?: TradeType;
  /** The buyer's openid under the call's AppID: required for JSAPI, ignored by WeChat otherwise. */
  openid?: string;
  /** NATIVE: the merchant's id of what the QR code sells (required for NATIVE). */
  productId?: string;
  /** MWEB: `{"h5_info":{"type":"Wap","wap_url":…,"wap_name":…}}`, as a JSON string or an object to serialise. */
  sceneInfo?: string | Readonly<Record<string, unknown>>;
  attach?: string;
  detail?: string;
  /** `yyyyMMddHHmmss`, Beijing time. */
  timeStart?: string;
  timeExpire?: string;
  goodsTag?: string;
  limitPay?: 'no_credit';
}

export interface UnifiedOrderResult {
  prepayId: string;
  tradeType: string;
  /** NATIVE: the `weixin://wxpay/bizpayurl?pr=…` link to show as a QR code (valid 2 hours). */
  codeUrl?: string;
  /** MWEB: the page to open in the buyer's browser (valid 5 minutes; append `&redirect_url=…`). */
  mwebUrl?: string;
  raw: Readonly<XmlMap>;
}

export type TradeState = 'SUCCESS' | 'REFUND' | 'NOTPAY' | 'CLOSED' | 'REVOKED' | 'USERPAYING' | 'PAYERROR';

export interface OrderQueryResult {
  tradeState: TradeState;
  tradeStateDesc: string;
  outTradeNo: string;
  transactionId: string | undefined;
  totalFee: number | undefined;
  cashFee: number | undefined;
  timeEnd: string | undefined;
  openid: string | undefined;
  attach: string | undefined;
  raw: Readonly<XmlMap>;
}

export type OrderRef = ({ outTradeNo: string } | { transactionId: string }) & V2CallOptions;
export type CloseOrderRef = { outTradeNo: string } & V2CallOptions;

const TRADE_STATES = new Set<string>([
  'SUCCESS',
  'REFUND',
  'NOTPAY',
  'CLOSED',
  'REVOKED',
  'USERPAYING',
  'PAYERROR',
]);

export async function unifiedOrder(client: V2Caller, req: UnifiedOrderRequest): Promise<UnifiedOrderResult> {
  checkFen(req.totalFee, 'unifiedOrder: totalFee');
  if (!OUT_TRADE_NO_RE.test(req.outTradeNo)) {
    throw new RangeError('unifiedOrder: outTradeNo must be 1-32 characters of [0-9A-Za-z_-|*]');
  }
  const tradeType = req.tradeType ?? 'JSAPI';
  if (!TRADE_TYPES.has(tradeType)) {
    throw new TypeError(
      `unifiedOrder: tradeType must be JSAPI, NATIVE, APP or MWEB, not ${String(tradeType)}`,
    );
  }
  if (tradeType === 'JSAPI' && !req.openid) {
    throw new TypeError("unifiedOrder: JSAPI needs the buyer's openid (for the call's appId)");
  }
  if (tradeType === 'NATIVE' && !req.productId) throw new TypeError('unifiedOrder: NATIVE needs a productId');
  // An openid belongs to an official account or mini-program AppID; the app's Open Platform AppID has none here.
  if (tradeType === 'APP' && req.openid) throw new TypeError('unifiedOrder: APP takes no openid');
  if (tradeType === 'MWEB') checkH5SceneInfo(req.sceneInfo);
  const raw = await client.request(
    '/pay/unifiedorder',
    {
      body: req.body,
      out_trade_no: req.outTradeNo,
      total_fee: req.totalFee,
      spbill_create_ip: req.spbillCreateIp,
      notify_url: req.notifyUrl,
      trade_type: tradeType,
      openid: req.openid,
      product_id: req.productId,
      scene_info: typeof req.sceneInfo === 'object' ? JSON.stringify(req.sceneInfo) : req.sceneInfo,
      attach: req.attach,
      detail: req.detail,
      time_start: req.timeStart,
      time_expire: req.timeExpire,
      goods_tag: req.goodsTag,
      limit_pay: req.limitPay,
    },
    { appId: req.appId, signType: req.signType },
  );
  if (!raw.prepay_id)
    throw new WechatPayError('NO_PREPAY_ID', 'unifiedorder succeeded without a prepay_id', raw);
  // Without its link a NATIVE or MWEB order cannot be paid at all: say so here, not in a blank QR code.
  if (tradeType === 'NATIVE' && !raw.code_url) {
    throw new WechatPayError('BAD_REPLY', 'unifiedorder (NATIVE) succeeded without a code_url', raw);
  }
  if (tradeType === 'MWEB' && !raw.mweb_url) {
    throw new WechatPayError('BAD_REPLY', 'unifiedorder (MWEB) succeeded without a mweb_url', raw);
  }
  return {
    prepayId: raw.prepay_id,
    tradeType: raw.trade_type ?? '',
    ...(raw.code_url ? { codeUrl: raw.code_url } : {}),
    ...(raw.mweb_url ? { mwebUrl: raw.mweb_url } : {}),
    raw,
  };
}

export async function orderQuery(client: V2Caller, ref: OrderRef): Promise<OrderQueryResult> {
  const raw = await client.request('/pay/orderquery', tradeRefFields(ref), callOptions(ref));
  const state = raw.trade_state ?? '';
  if (!TRADE_STATES.has(state)) {
    throw new WechatPayError(
      'BAD_REPLY',
      `orderquery returned unknown trade_state ${state || '(none)'}`,
      raw,
    );
  }
  const paid = state === 'SUCCESS';
  // A payment is recorded by its transaction_id: without one, a later notification for the same payment
  // would look like a second charge.
  if (paid && !raw.transaction_id) {
    throw new WechatPayError('BAD_REPLY', 'orderquery reported SUCCESS without a transaction_id', raw);
  }
  return {
    tradeState: state as TradeState,
    tradeStateDesc: raw.trade_state_desc ?? '',
    outTradeNo: raw.out_trade_no ?? ('outTradeNo' in ref ? ref.outTradeNo : ''),
    transactionId: raw.transaction_id || undefined,
    totalFee: raw.total_fee === undefined && !paid ? undefined : parseFen(raw.total_fee, 'total_fee', raw),
    cashFee: optionalFen(raw, 'cash_fee'),
    timeEnd: raw.time_end || undefined,
    openid: raw.openid || undefined,
    attach: raw.attach,
    raw,
  };
}

export async function closeOrder(client: V2Caller, ref: CloseOrderRef): Promise<void> {
  await client.request('/pay/closeorder', { out_trade_no: ref.outTradeNo }, callOptions(ref));
}

/** The MWEB `scene_info` of a mobile web site (docs/protocol.md §9 "H5"); serialised as JSON by unifiedOrder. */
export type H5SceneInfo = {
  h5_info: { type: 'Wap'; wap_url: string; wap_name: string };
};

/**
 * `{h5_info: {type: 'Wap', wap_url, wap_name}}` for an H5 (MWEB) order placed from a web site: the URL and
 * name of the site the buyer pays from (its domain must be the H5 domain registered with WeChat Pay).
 */
export function h5SceneInfo(input: { wapUrl: string; wapName: string }): H5SceneInfo {
  if (!/^https?:\/\/[^\s]+$/.test(input.wapUrl))
    throw new TypeError('h5SceneInfo: wapUrl must be an http(s) URL');
  if (!input.wapName) throw new TypeError('h5SceneInfo: wapName is required');
  return { h5_info: { type: 'Wap', wap_url: input.wapUrl, wap_name: input.wapName } };
}

/** MWEB without scene_info.h5_info is refused by WeChat; say so before sending. */
function checkH5SceneInfo(sceneInfo: UnifiedOrderRequest['sceneInfo']): void {
  let value: unknown = sceneInfo;
  if (typeof sceneInfo === 'string') {
    try {
      value = JSON.parse(sceneInfo);
    } catch {
      value = undefined;
    }
  }
  const h5 =
    typeof value === 'object' && value !== null ? (value as { h5_info?: unknown }).h5_info : undefined;
  if (typeof h5 !== 'object' || h5 === null || typeof (h5 as { type?: unknown }).type !== 'string') {
    throw new TypeError('unifiedOrder: MWEB needs sceneInfo {"h5_info":{"type":…}} (see h5SceneInfo)');
  }
}

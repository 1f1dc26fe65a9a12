import { isExpectedAppId } from './appid.ts';
import { WechatPayError, WechatPayInvalidRequestError, WechatPaySignatureError } from './errors.ts';
import { returnFailXml } from './fail-reply.ts';
import { verifyV2 } from './sign.ts';
import { parseXml, type XmlMap } from './xml.ts';

/** The only reply that stops WeChat's notification retries (docs/protocol.md §5). */
export const NOTIFY_SUCCESS_XML =
  '<xml><return_code><![CDATA[SUCCESS]]></return_code><return_msg><![CDATA[OK]]></return_msg></xml>';

/** Any non-SUCCESS reply makes WeChat retry on its schedule. The same builder as every v2 FAIL reply. */
export const notifyFailXml: (message: string) => string = returnFailXml;

export interface VerifyNotificationOptions {
  key: string;
  /**
   * The AppID the notification must name, or every AppID bound to this merchant (a merchant serving a
   * mini-program, an official account and an app gets notifications for all three on one notify_url).
   */
  appId: string | ReadonlySet<string> | readonly string[];
  mchId: string;
  maxBytes?: number;
}

export interface PaymentNotification {
  resultCode: 'SUCCESS' | 'FAIL';
  outTradeNo: string;
  transactionId: string;
  /** Order amount in fen, as WeChat charged it. Compare with your own total before trusting it. */
  totalFee: number;
  cashFee: number | undefined;
  openid: string;
  timeEnd: string;
  tradeType: string;
  attach: string | undefined;
  /** The full received map, unknown fields included (coupon_*_$n, promotion_detail, ...). */
  raw: Readonly<XmlMap>;
}

const AMOUNT_RE = /^(0|[1-9]\d{0,14})$/;

export function parseFen(value: string | undefined, field: string, raw?: XmlMap): number {
  if (value === undefined || !AMOUNT_RE.test(value)) {
    throw new WechatPayInvalidRequestError('BAD_AMOUNT', `${field} must be a whole number of fen`, raw);
  }
  return Number(value);
}

/**
 * Verifies a v2 payment notification, stripe-webhook style: hardened parse of the raw body, signature over the
 * raw received map, then appid and mch_id. It does not compare the amount with your order: only you know it.
 *
 * Throws WechatPayXmlError (hostile or malformed body), WechatPaySignatureError (forged or misconfigured key),
 * WechatPayInvalidRequestError (another merchant's notification, missing fields) or TypeError (wrong usage).
 */
export function verifyPaymentNotification(
  body: unknown,
  options: VerifyNotificationOptions,
): PaymentNotification {
  if (typeof body !== 'string' && !(body instanceof Uint8Array)) {
    throw new TypeError(
      'verifyPaymentNotification: pass the raw request body (string or Buffer), not a parsed object. ' +
        'Re-serialised XML loses fields and breaks the signature; keep the raw body in your body parser.',
    );
  }
  const raw = parseXml(body, options.maxBytes === undefined ? {} : { maxBytes: options.maxBytes });
  if (raw.return_code !== 'SUCCESS') {
    throw new WechatPayError(
      'RETURN_FAIL',
      `notification return_code is ${raw.return_code ?? 'missing'}`,
      raw,
    );
  }
  if (!raw.sign) throw new WechatPaySignatureError('notification is not signed', raw);
  if (!verifyV2(raw, options.key)) {
    throw new WechatPaySignatureError(
      'notification signature does not match: check WECHATPAY_KEY and that the raw body was verified, ' +
        'with every field (coupon_*, unknown ones too) and without re-serialising',
      raw,
    );
  }
  if (!isExpectedAppId(options.appId, raw.appid) || raw.mch_id !== options.mchId) {
    throw new WechatPayInvalidRequestError(
      'MERCHANT_MISMATCH',
      'notification is for another appid or mch_id',
      raw,
    );
  }
  const resultCode = raw.result_code === 'SUCCESS' ? 'SUCCESS' : 'FAIL';
  const outTradeNo = raw.out_trade_no;
  if (!outTradeNo)
    throw new WechatPayInvalidRequestError('LACK_PARAMS', 'notification lacks out_trade_no', raw);
  const paid = resultCode === 'SUCCESS';
  if (paid && (!raw.transaction_id || !raw.time_end)) {
    throw new WechatPayInvalidRequestError(
      'LACK_PARAMS',
      'notification lacks transaction_id or time_end',
      raw,
    );
  }
  return {
    resultCode,
    outTradeNo,
    transactionId: raw.transaction_id ?? '',
    totalFee: paid || raw.total_fee !== undefined ? parseFen(raw.total_fee, 'total_fee', raw) : 0,
    cashFee: raw.cash_fee === undefined ? undefined : parseFen(raw.cash_fee, 'cash_fee', raw),
    openid: raw.openid ?? '',
    timeEnd: raw.time_end ?? '',
    tradeType: raw.trade_type ?? '',
    attach: raw.attach,
    raw,
  };
}

import { createNonce } from '../core/nonce.ts';
import { signV2, type SignType } from '../v2/sign.ts';
import { buildXml } from '../v2/xml.ts';

/**
 * The one builder of APIv2 payment notifications (docs/protocol.md §5), signed like WeChat signs them. The sandbox
 * sends what it builds, the server's tests and the benchmarks post it: every side sees the same field set, so
 * a field WeChat sends that one side forgot cannot hide in another's copy. It builds what it is told, wrong
 * key or wrong amount included, which is how the forgeries of the fault tests are made.
 */
export interface PaymentNotificationInput {
  appId: string;
  mchId: string;
  /** The APIv2 key it is signed with (pass another one to forge). */
  key: string;
  /** Defaults to MD5. */
  signType?: SignType;
  /**
   * HMAC-SHA256 only: leave `sign_type` out, as WeChat itself sometimes does (receivers must infer the type
   * from the signature's length). MD5 notifications never carry `sign_type`.
   */
  omitSignType?: boolean;
  outTradeNo: string;
  /** Fen. */
  totalFee: number;
  /** Fen actually paid, after coupons; defaults to totalFee. */
  cashFee?: number;
  transactionId: string;
  openid: string;
  /** `yyyyMMddHHmmss`, Beijing time. */
  timeEnd: string;
  /** Defaults to JSAPI. */
  tradeType?: string;
  /** Defaults to SUCCESS. A FAIL notification should carry err_code / err_code_des in `extra`. */
  resultCode?: 'SUCCESS' | 'FAIL';
  /** Defaults to a fresh random nonce; pass one for byte-identical bodies. */
  nonce?: string;
  /** Defaults to CMC; WeChat sends the paying bank's code, e.g. CMB_CREDIT, or OTHERS. */
  bankType?: string;
  /** Defaults to CNY. */
  feeType?: string;
  /** Defaults to N. */
  isSubscribe?: 'Y' | 'N';
  /** Echoed from unifiedorder; left out when undefined. */
  attach?: string;
  /**
   * Any other field (coupon_*_$n, settlement_total_fee, promotion_detail…); applied last, so it can also
   * override or, with undefined, remove a field above. Signed like the rest.
   */
  extra?: Readonly<Record<string, string | number | undefined>>;
}

export interface SignedNotification {
  /** Every field, `sign` included, as the receiver parses it. */
  map: Record<string, string>;
  /** The request body. */
  xml: string;
}

/** The notification's fields, unsigned (no `sign`). */
export function paymentNotificationMap(input: PaymentNotificationInput): Record<string, string> {
  const signType = input.signType ?? 'MD5';
  const fields: Record<string, string | number | undefined> = {
    return_code: 'SUCCESS',
    appid: input.appId,
    mch_id: input.mchId,
    nonce_str: input.nonce ?? createNonce(),
    sign_type: signType === 'MD5' || input.omitSignType ? undefined : signType,
    result_code: input.resultCode ?? 'SUCCESS',
    openid: input.openid,
    is_subscribe: input.isSubscribe ?? 'N',
    trade_type: input.tradeType ?? 'JSAPI',
    bank_type: input.bankType ?? 'CMC',
    total_fee: input.totalFee,
    fee_type: input.feeType ?? 'CNY',
    cash_fee: input.cashFee ?? input.totalFee,
    transaction_id: input.transactionId,
    out_trade_no: input.outTradeNo,
    attach: input.attach,
    time_end: input.timeEnd,
    ...input.extra,
  };
  const map: Record<string, string> = {};
  for (const [name, value] of Object.entries(fields)) if (value !== undefined) map[name] = String(value);
  return map;
}

/** The notification signed with `key` and `signType`, as a map and as the XML body WeChat POSTs. */
export function signedPaymentNotification(input: PaymentNotificationInput): SignedNotification {
  const map = paymentNotificationMap(input);
  map.sign = signV2(map, input.key, input.signType ?? 'MD5');
  return { map, xml: buildXml(map) };
}

import { buildXml, signV2, SANDBOX_DEMO, type SignType } from '@mp-pay/shared/wechatpay';

/**
 * A payment notification shaped like the ones WeChat sends (wechatpay.md §5): coupon fields with `$n`
 * suffixes, a Chinese `attach` (CDATA, multi-byte UTF-8), 25-odd fields. Micro-benchmarks and load runs use
 * the same builder so every implementation sees the same bytes.
 */
export interface NotificationInput {
  outTradeNo: string;
  totalFee: number;
  openid?: string;
  transactionId?: string;
  nonce?: string;
  signType?: SignType;
  appId?: string;
  mchId?: string;
  key?: string;
}

export const BENCH_OPENID = 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o';

export function notificationMap(input: NotificationInput): Record<string, string> {
  const couponFee = Math.min(100, Math.floor(input.totalFee / 10));
  const map: Record<string, string> = {
    appid: input.appId ?? SANDBOX_DEMO.appId,
    attach: '会员日 · 订单备注 & <special>',
    bank_type: 'CMC',
    cash_fee: String(input.totalFee - couponFee),
    coupon_count: '2',
    coupon_fee: String(couponFee),
    coupon_fee_0: String(couponFee - Math.floor(couponFee / 2)),
    coupon_fee_1: String(Math.floor(couponFee / 2)),
    coupon_id_0: '10000',
    coupon_id_1: '10001',
    coupon_type_0: 'CASH',
    coupon_type_1: 'NO_CASH',
    fee_type: 'CNY',
    is_subscribe: 'N',
    mch_id: input.mchId ?? SANDBOX_DEMO.mchId,
    nonce_str: input.nonce ?? '5K8264ILTKCH16CQ2502SI8ZNMTM67VS',
    openid: input.openid ?? BENCH_OPENID,
    out_trade_no: input.outTradeNo,
    result_code: 'SUCCESS',
    return_code: 'SUCCESS',
    settlement_total_fee: String(input.totalFee - couponFee),
    time_end: '20261125143000',
    total_fee: String(input.totalFee),
    trade_type: 'JSAPI',
    transaction_id: input.transactionId ?? `4200001234${input.outTradeNo.slice(-18).padStart(18, '0')}`,
  };
  if (input.signType === 'HMAC-SHA256') map.sign_type = 'HMAC-SHA256';
  return map;
}

/** The signed map and its XML body, exactly as the sandbox or WeChat would POST it. */
export function signedNotification(input: NotificationInput): { map: Record<string, string>; xml: string } {
  const map = notificationMap(input);
  const signed = { ...map, sign: signV2(map, input.key ?? SANDBOX_DEMO.key, input.signType ?? 'MD5') };
  return { map: signed, xml: buildXml(signed) };
}

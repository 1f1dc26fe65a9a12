import {
  paymentNotificationMap,
  signedPaymentNotification,
  type PaymentNotificationInput,
} from '@mp-pay/shared/testing';
import { SANDBOX_DEMO, type SignType } from '@mp-pay/shared/wechatpay';

/**
 * A payment notification shaped like the ones WeChat sends (docs/protocol.md §5): coupon fields with `$n`
 * suffixes, a Chinese `attach` (CDATA, multi-byte UTF-8), 25-odd fields. Micro-benchmarks and load runs use
 * the same builder so every implementation sees the same bytes; the fields themselves come from the shared
 * factory the sandbox sends its notifications with.
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
  return paymentNotificationMap(factoryInput(input));
}

/** The signed map and its XML body, exactly as the sandbox or WeChat would POST it. */
export function signedNotification(input: NotificationInput): { map: Record<string, string>; xml: string } {
  return signedPaymentNotification(factoryInput(input));
}

/** The bench's fixed choices (coupons, a CDATA attach, a fixed nonce) over the shared notification factory. */
function factoryInput(input: NotificationInput): PaymentNotificationInput {
  const couponFee = Math.min(100, Math.floor(input.totalFee / 10));
  return {
    appId: input.appId ?? SANDBOX_DEMO.appId,
    mchId: input.mchId ?? SANDBOX_DEMO.mchId,
    key: input.key ?? SANDBOX_DEMO.key,
    signType: input.signType ?? 'MD5',
    nonce: input.nonce ?? '5K8264ILTKCH16CQ2502SI8ZNMTM67VS',
    outTradeNo: input.outTradeNo,
    totalFee: input.totalFee,
    cashFee: input.totalFee - couponFee,
    transactionId: input.transactionId ?? `4200001234${input.outTradeNo.slice(-18).padStart(18, '0')}`,
    openid: input.openid ?? BENCH_OPENID,
    timeEnd: '20261125143000',
    attach: '会员日 · 订单备注 & <special>',
    extra: {
      coupon_count: '2',
      coupon_fee: String(couponFee),
      coupon_fee_0: String(couponFee - Math.floor(couponFee / 2)),
      coupon_fee_1: String(Math.floor(couponFee / 2)),
      coupon_id_0: '10000',
      coupon_id_1: '10001',
      coupon_type_0: 'CASH',
      coupon_type_1: 'NO_CASH',
      settlement_total_fee: String(input.totalFee - couponFee),
    },
  };
}

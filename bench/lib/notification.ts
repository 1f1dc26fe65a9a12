import { createPrivateKey, randomUUID, type KeyObject } from 'node:crypto';
import {
  paymentNotificationMap,
  signedPaymentNotification,
  type PaymentNotificationInput,
} from '@mp-pay/shared/testing';
import {
  encryptV3Resource,
  SANDBOX_DEMO,
  SANDBOX_DEMO_V3,
  signResponseV3,
  type SignType,
} from '@mp-pay/shared/wechatpay';

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

/**
 * The same payment as an APIv3 notification (docs/protocol.md §7), as WeChat Pay sends it: the transaction JSON
 * (the v2 notification's facts, its coupons as promotion_detail) encrypted with AEAD_AES_256_GCM under the APIv3
 * key, wrapped in a TRANSACTION.SUCCESS envelope, and signed over `timestamp\nnonce\nbody\n` with the platform
 * key; Wechatpay-Serial names the WeChat Pay public key the server holds (the sandbox demo keys).
 */
export interface SignedNotificationV3 {
  /** The decrypted resource, for checks. */
  transaction: Record<string, unknown>;
  body: string;
  headers: Record<string, string>;
}

let platformKey: KeyObject | undefined;

export function signedNotificationV3(
  input: Pick<NotificationInput, 'outTradeNo' | 'totalFee' | 'openid' | 'transactionId'> & {
    /** Seconds; now by default. A notification is refused 300 s either side of the server's clock. */
    timestamp?: number;
  },
): SignedNotificationV3 {
  const couponFee = Math.min(100, Math.floor(input.totalFee / 10));
  const coupon = (id: string, type: 'CASH' | 'NOCASH', amount: number) => ({
    coupon_id: id,
    name: '会员日立减',
    scope: 'GLOBAL',
    type,
    amount,
    stock_id: '8000000',
    wechatpay_contribute: 0,
    merchant_contribute: amount,
    other_contribute: 0,
    currency: 'CNY',
  });
  const transaction = {
    appid: SANDBOX_DEMO.appId,
    mchid: SANDBOX_DEMO.mchId,
    out_trade_no: input.outTradeNo,
    transaction_id: input.transactionId ?? `4200001234${input.outTradeNo.slice(-18).padStart(18, '0')}`,
    trade_type: 'JSAPI',
    trade_state: 'SUCCESS',
    trade_state_desc: '支付成功',
    bank_type: 'CMC',
    attach: '会员日 · 订单备注 & <special>',
    success_time: '2026-11-25T14:30:00+08:00',
    payer: { openid: input.openid ?? BENCH_OPENID },
    amount: {
      total: input.totalFee,
      payer_total: input.totalFee - couponFee,
      currency: 'CNY',
      payer_currency: 'CNY',
    },
    promotion_detail: [
      coupon('10000', 'CASH', couponFee - Math.floor(couponFee / 2)),
      coupon('10001', 'NOCASH', Math.floor(couponFee / 2)),
    ],
  };
  const body = JSON.stringify({
    id: randomUUID(),
    create_time: '2026-11-25T14:30:01+08:00',
    resource_type: 'encrypt-resource',
    event_type: 'TRANSACTION.SUCCESS',
    summary: '支付成功',
    resource: encryptV3Resource(JSON.stringify(transaction), SANDBOX_DEMO_V3.apiV3Key, {
      associatedData: 'transaction',
      originalType: 'transaction',
    }),
  });
  platformKey ??= createPrivateKey(SANDBOX_DEMO_V3.platformPrivateKey);
  const headers = signResponseV3(body, {
    privateKey: platformKey,
    serial: SANDBOX_DEMO_V3.platformPublicKeyId,
    ...(input.timestamp === undefined ? {} : { timestamp: input.timestamp }),
  });
  return { transaction, body, headers };
}

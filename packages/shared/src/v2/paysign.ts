import { createNonce } from '../core/nonce.ts';
import { signV2, type SignType } from './sign.ts';

export interface MiniProgramPayInput {
  appId: string;
  prepayId: string;
  key: string;
  /** Must be the sign type the unified order was placed with, or WeChat refuses the payment. */
  signType: SignType;
  timeStamp?: string | number;
  nonceStr?: string;
}

/** Exactly the object a mini-program passes to wx.requestPayment. */
export interface MiniProgramPayParams {
  timeStamp: string;
  nonceStr: string;
  package: string;
  signType: SignType;
  paySign: string;
}

/**
 * Re-signs a prepay_id for wx.requestPayment (docs/protocol.md §4): `appId` (capital I, signed but not returned),
 * `timeStamp` (string seconds, capital S), `nonceStr`, `package=prepay_id=…`, `signType`. This is a new
 * signature; reusing the unifiedorder `sign` is the classic cause of 支付验证签名失败.
 * https://developers.weixin.qq.com/miniprogram/dev/api/payment/wx.requestPayment.html
 */
export function miniProgramPayParams(input: MiniProgramPayInput): MiniProgramPayParams {
  if (!input.appId) throw new TypeError('miniProgramPayParams: appId is required');
  if (!input.prepayId) throw new TypeError('miniProgramPayParams: prepayId is required');
  const timeStamp = String(input.timeStamp ?? Math.floor(Date.now() / 1000));
  if (!/^\d{1,12}$/.test(timeStamp)) throw new TypeError('miniProgramPayParams: timeStamp must be seconds');
  const nonceStr = input.nonceStr ?? createNonce();
  const pkg = `prepay_id=${input.prepayId}`;
  const paySign = signV2(
    { appId: input.appId, timeStamp, nonceStr, package: pkg, signType: input.signType },
    input.key,
    input.signType,
  );
  return { timeStamp, nonceStr, package: pkg, signType: input.signType, paySign };
}

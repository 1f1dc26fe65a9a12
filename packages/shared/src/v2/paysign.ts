import { APP_PAY_FIELDS, APP_PAY_PACKAGE, appPayShape, type AppPayParams } from '../core/app-pay.ts';
import { createNonce } from '../core/nonce.ts';
import { isSignType, matchesSignV2, signV2, type SignType } from './sign.ts';

export { APP_PAY_FIELDS, APP_PAY_PACKAGE } from '../core/app-pay.ts';
/** The OpenSDK's PayReq fields (core/app-pay.ts); v3 names the same type AppPayV3Params. */
export type { AppPayParams } from '../core/app-pay.ts';

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

export interface AppPayInput {
  /** The mobile app's AppID (Open Platform), the one the unified order was placed with. */
  appId: string;
  /** The merchant id; the OpenSDK calls it `partnerid`. */
  mchId: string;
  prepayId: string;
  key: string;
  /** The sign type the unified order was placed with; MD5 by default, as for the order. */
  signType?: SignType;
  nonceStr?: string;
  timeStamp?: string | number;
}

/**
 * Signs a prepay_id for the mobile app's OpenSDK (docs/protocol.md §9 "APP"): the v2 rule (§2) over exactly
 * appid, partnerid, prepayid, package=Sign=WXPay, noncestr and timestamp (seconds), with the order's sign type.
 * A new signature, like the mini-program's: the unifiedorder reply's `sign` is no use here.
 */
export function appPayParams(input: AppPayInput): AppPayParams {
  if (!input.appId) throw new TypeError('appPayParams: appId is required');
  if (!input.mchId) throw new TypeError('appPayParams: mchId is required');
  if (!input.prepayId) throw new TypeError('appPayParams: prepayId is required');
  const signType = input.signType ?? 'MD5';
  if (!isSignType(signType)) throw new TypeError('appPayParams: signType must be MD5 or HMAC-SHA256');
  const timestamp = String(input.timeStamp ?? Math.floor(Date.now() / 1000));
  if (!/^\d{1,10}$/.test(timestamp)) throw new TypeError('appPayParams: timeStamp must be seconds');
  const noncestr = input.nonceStr ?? createNonce();
  if (!/^[0-9A-Za-z]{1,32}$/.test(noncestr)) {
    throw new TypeError('appPayParams: nonceStr must be 1-32 characters of [0-9A-Za-z]');
  }
  const unsigned = {
    appid: input.appId,
    partnerid: input.mchId,
    prepayid: input.prepayId,
    package: APP_PAY_PACKAGE,
    noncestr,
    timestamp,
  } as const;
  return { ...unsigned, sign: signV2(unsigned, input.key, signType) };
}

/**
 * What the OpenSDK and WeChat would refuse in APP pay parameters, as one sentence naming the mistake, or
 * undefined when they are fine: a camelCase name, a missing field, a `package` other than `Sign=WXPay`, a
 * timestamp that is not seconds, a bad `sign` (and, when it can tell, what the sign was computed over instead:
 * the other sign type, wx.requestPayment's five fields, camelCase names, extra fields). The sandbox's APP
 * payer answers with it. `signType` is the sign type the unified order was placed with.
 */
export function verifyAppPayParams(params: unknown, key: string, signType: SignType): string | undefined {
  const shape = appPayShape(params);
  if ('problem' in shape) return shape.problem;
  const { appid, partnerid, prepayid, noncestr, timestamp, sign } = shape.fields;
  if (!isSignType(signType)) return 'the sign type must be MD5 or HMAC-SHA256';
  const six = { appid, partnerid, prepayid, package: APP_PAY_PACKAGE, noncestr, timestamp };
  if (matchesSignV2(six, sign, key, signType)) return undefined;
  return `sign does not match: ${explainAppSign(params as Readonly<Record<string, unknown>>, six, sign, key, signType)}`;
}

/** After a mismatch: what the merchant most likely signed instead (diagnostics only, no secret in the text). */
function explainAppSign(
  params: Readonly<Record<string, unknown>>,
  six: Readonly<Record<string, string>>,
  sign: string,
  key: string,
  signType: SignType,
): string {
  const other: SignType = signType === 'MD5' ? 'HMAC-SHA256' : 'MD5';
  if (matchesSignV2(six, sign, key, other)) {
    return `it is ${other}, but the order was placed with ${signType}`;
  }
  const miniProgram = {
    appId: six.appid,
    timeStamp: six.timestamp,
    nonceStr: six.noncestr,
    package: `prepay_id=${six.prepayid}`,
    signType,
  };
  if (matchesSignV2(miniProgram, sign, key, signType)) {
    return (
      "it was computed over wx.requestPayment's five fields (appId, timeStamp, nonceStr, " +
      'package=prepay_id=…, signType), not the six APP fields'
    );
  }
  const camel = {
    appId: six.appid,
    partnerId: six.partnerid,
    prepayId: six.prepayid,
    package: six.package,
    nonceStr: six.noncestr,
    timeStamp: six.timestamp,
  };
  if (matchesSignV2(camel, sign, key, signType)) {
    return 'it was computed over camelCase names; the six signed names are lower-case';
  }
  const extra = Object.keys(params).filter(
    (name) => name !== 'sign' && !(APP_PAY_FIELDS as readonly string[]).includes(name),
  );
  if (extra.length > 0) {
    const all: Record<string, string> = { ...six };
    for (const name of extra) {
      const value = params[name];
      if (typeof value === 'string' || typeof value === 'number') all[name] = String(value);
    }
    if (matchesSignV2(all, sign, key, signType)) {
      return `it also covers ${extra.join(', ')}: only the six PayReq fields are signed`;
    }
  }
  return (
    `expected the ${signType} signature of ${APP_PAY_FIELDS.join(', ')} with the merchant key ` +
    "(another key, another prepayid, or the unifiedorder reply's sign)"
  );
}

import type { KeyObject } from 'node:crypto';
import { APP_PAY_PACKAGE, appPayShape, type AppPayParams } from '../core/app-pay.ts';
import { createNonce } from '../core/nonce.ts';
import { isBase64, signV3, verifySignatureV3 } from './sign.ts';

export interface MiniProgramPayV3Input {
  appId: string;
  prepayId: string;
  /** The merchant private key (apiclient_key.pem), the same one that signs requests. */
  privateKey: string | KeyObject;
  timeStamp?: string | number;
  nonceStr?: string;
}

/** Exactly what a mini-program passes to wx.requestPayment for a v3 prepay_id. */
export interface MiniProgramPayV3Params {
  timeStamp: string;
  nonceStr: string;
  package: string;
  signType: 'RSA';
  paySign: string;
}

/**
 * paySign for wx.requestPayment (docs/protocol.md §7 "Mini-program paySign (v3)"): SHA256withRSA over
 * `appId\ntimeStamp\nnonceStr\npackage\n`, signType `RSA`. appId is signed but not returned.
 */
export function miniProgramPayParamsV3(input: MiniProgramPayV3Input): MiniProgramPayV3Params {
  if (!input.appId) throw new TypeError('miniProgramPayParamsV3: appId is required');
  if (!input.prepayId) throw new TypeError('miniProgramPayParamsV3: prepayId is required');
  const timeStamp = seconds(input.timeStamp, 'miniProgramPayParamsV3');
  const nonceStr = input.nonceStr ?? createNonce();
  const pkg = `prepay_id=${input.prepayId}`;
  const paySign = signV3(`${input.appId}\n${timeStamp}\n${nonceStr}\n${pkg}\n`, input.privateKey);
  return { timeStamp, nonceStr, package: pkg, signType: 'RSA', paySign };
}

export interface AppPayV3Input {
  appId: string;
  /** The merchant id (mchid), called partnerid by the APP SDK. */
  partnerId: string;
  prepayId: string;
  privateKey: string | KeyObject;
  timestamp?: string | number;
  nonceStr?: string;
}

/** The fields of the APP SDK's PayReq: the v2 type (core/app-pay.ts) under its older v3 name; `sign` is base64. */
export type { AppPayParams as AppPayV3Params } from '../core/app-pay.ts';

/**
 * APP payment call (docs/protocol.md §9 "APP"): SHA256withRSA over `appid\ntimestamp\nnoncestr\nprepayid\n`;
 * `package` is the constant `Sign=WXPay` and is not signed.
 */
export function appPayParamsV3(input: AppPayV3Input): AppPayParams {
  if (!input.appId || !input.partnerId || !input.prepayId) {
    throw new TypeError('appPayParamsV3: appId, partnerId and prepayId are required');
  }
  const timestamp = seconds(input.timestamp, 'appPayParamsV3');
  const noncestr = input.nonceStr ?? createNonce();
  const sign = signV3(appPayMessageV3(input.appId, timestamp, noncestr, input.prepayId), input.privateKey);
  return {
    appid: input.appId,
    partnerid: input.partnerId,
    prepayid: input.prepayId,
    package: APP_PAY_PACKAGE,
    noncestr,
    timestamp,
    sign,
  };
}

/** The text an APP payment's v3 sign covers: four lines, each ending with `\n`. */
export function appPayMessageV3(
  appid: string,
  timestamp: string,
  noncestr: string,
  prepayid: string,
): string {
  return `${appid}\n${timestamp}\n${noncestr}\n${prepayid}\n`;
}

/**
 * What the OpenSDK and WeChat would refuse in v3 APP pay parameters, or undefined when they are good: the
 * shape (lower-case names, `package` Sign=WXPay, timestamp in seconds), then the SHA256withRSA `sign` over
 * `appid\ntimestamp\nnoncestr\nprepayid\n`, checked with the merchant's public key (the public half of
 * apiclient_key.pem, i.e. of apiclient_cert.pem). Names the classic mistake of signing wx.requestPayment's
 * `prepay_id=…` package line instead of the bare prepayid.
 */
export function verifyAppPayParamsV3(params: unknown, publicKey: string | KeyObject): string | undefined {
  const shape = appPayShape(params);
  if ('problem' in shape) return shape.problem;
  const { appid, timestamp, noncestr, prepayid, sign } = shape.fields;
  if (!isBase64(sign)) return 'sign must be base64 (SHA256withRSA)';
  if (verifySignatureV3(appPayMessageV3(appid, timestamp, noncestr, prepayid), sign, publicKey))
    return undefined;
  if (
    verifySignatureV3(appPayMessageV3(appid, timestamp, noncestr, `prepay_id=${prepayid}`), sign, publicKey)
  ) {
    return 'sign does not match: it covers prepay_id=…, the mini-program package; APP signs the bare prepayid';
  }
  return (
    'sign does not match: expected SHA256withRSA over appid\\ntimestamp\\nnoncestr\\nprepayid\\n with the ' +
    'merchant private key'
  );
}

function seconds(value: string | number | undefined, who: string): string {
  const text = String(value ?? Math.floor(Date.now() / 1000));
  if (!/^\d{1,12}$/.test(text)) throw new TypeError(`${who}: the timestamp must be whole seconds`);
  return text;
}

/**
 * Launch pieces both adapters share (docs/channels.md): the APP launch in the shop's contract, mapped from the
 * OpenSDK's lower-case PayReq fields, and the check that an attempt has what its launch needs.
 */
import type { PaymentLaunch } from '@mp-pay/shared/api';
import type { AppPayParams } from '@mp-pay/shared/wechatpay';

/** The OpenSDK's PayReq (appid, partnerid, prepayid, package, noncestr, timestamp, sign) as the API's APP launch. */
export function appLaunch(p: AppPayParams): Extract<PaymentLaunch, { kind: 'app' }> {
  return {
    kind: 'app',
    appId: p.appid,
    partnerId: p.partnerid,
    prepayId: p.prepayid,
    package: p.package,
    nonceStr: p.noncestr,
    timeStamp: p.timestamp,
    sign: p.sign,
  };
}

/**
 * A prepared field the launch needs; its absence is a bug in the caller (the attempt was never placed).
 * `gateway` names the adapter in the message.
 */
export function need(value: string | undefined, what: string, gateway: string): string {
  if (value === undefined) throw new TypeError(`${gateway}: the attempt has no ${what} to launch`);
  return value;
}

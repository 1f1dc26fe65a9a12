import { signedPaymentNotification } from '@mp-pay/shared/testing';
import type { SignType } from '@mp-pay/shared/wechatpay';
import type { RunningServer } from '../../src/index.ts';

export interface NotificationFields {
  outTradeNo: string;
  totalFee: number;
  transactionId?: string;
  openid?: string;
  appId?: string;
  mchId?: string;
  extra?: Record<string, string>;
}

/**
 * A v2 payment notification exactly as WeChat builds one (docs/protocol.md §5), signed with `key`: the shared
 * fixture factory the sandbox sends its own with. Used for what the sandbox cannot be asked to send: 50
 * identical copies at once, another merchant's mch_id, unknown orders.
 */
export function notificationXml(
  server: RunningServer,
  fields: NotificationFields,
  key: string,
  signType: SignType = 'MD5',
) {
  return signedPaymentNotification({
    appId: fields.appId ?? server.config.wechat.appId,
    mchId: fields.mchId ?? server.config.wechatpay.mchId,
    key,
    signType,
    outTradeNo: fields.outTradeNo,
    totalFee: fields.totalFee,
    transactionId: fields.transactionId ?? '4200001234202601011234567890',
    openid: fields.openid ?? 'oSandboxBuyer000000000000000',
    timeEnd: '20260101120000',
    bankType: 'CMB_CREDIT',
    extra: fields.extra,
  }).xml;
}

export async function postNotification(server: RunningServer, xml: string) {
  const res = await fetch(`${server.url}/wechatpay/notify`, {
    method: 'POST',
    headers: { 'content-type': 'text/xml' },
    body: xml,
  });
  return { status: res.status, body: await res.text() };
}

export const SUCCESS_REPLY = /<return_code><!\[CDATA\[SUCCESS\]\]><\/return_code>/;
export const FAIL_REPLY = /<return_code>FAIL<\/return_code>|<return_code><!\[CDATA\[FAIL\]\]><\/return_code>/;

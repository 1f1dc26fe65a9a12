import { buildXml, createNonce, signV2, type SignType } from '@mp-pay/shared/wechatpay';
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
 * A v2 payment notification exactly as WeChat builds one (wechatpay.md §5), signed with `key`. Used for what
 * the sandbox cannot be asked to send: 50 identical copies at once, another merchant's mch_id, unknown orders.
 */
export function notificationXml(
  server: RunningServer,
  fields: NotificationFields,
  key: string,
  signType: SignType = 'MD5',
) {
  const map: Record<string, string> = {
    appid: fields.appId ?? server.config.wechat.appId,
    mch_id: fields.mchId ?? server.config.wechatpay.mchId,
    nonce_str: createNonce(),
    result_code: 'SUCCESS',
    return_code: 'SUCCESS',
    openid: fields.openid ?? 'oSandboxBuyer000000000000000',
    is_subscribe: 'N',
    trade_type: 'JSAPI',
    bank_type: 'CMB_CREDIT',
    total_fee: String(fields.totalFee),
    cash_fee: String(fields.totalFee),
    fee_type: 'CNY',
    transaction_id: fields.transactionId ?? '4200001234202601011234567890',
    out_trade_no: fields.outTradeNo,
    time_end: '20260101120000',
    ...(signType === 'MD5' ? {} : { sign_type: signType }),
    ...fields.extra,
  };
  map.sign = signV2(map, key, signType);
  return buildXml(map);
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

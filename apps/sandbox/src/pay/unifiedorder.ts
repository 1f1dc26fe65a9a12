import { buildXml, parseWechatTime, returnFailXml, type XmlMap } from '@mp-pay/shared/wechatpay';
import type { SandboxContext } from '../context.ts';
import { resultFailXml, signedFields } from '../http/xml-reply.ts';
import { orderKey, type OrderRecord, type TradeType } from '../state.ts';
import { findOrder, issueCodeUrl, issueMwebUrl, issuePrepayId, unpaidOrderStart } from './orders.ts';
import type { PayRequest } from './request.ts';
import { checkUnifiedOrder } from './rules.ts';

export const UNIFIEDORDER_REQUIRED = [
  'body',
  'out_trade_no',
  'total_fee',
  'spbill_create_ip',
  'notify_url',
  'trade_type',
] as const;

/**
 * What makes two submissions "the same order": every business field. nonce_str and sign change on every call
 * by design; sign_type is a property of the payment attempt (each prepay_id keeps its own).
 */
function fingerprint(raw: XmlMap): string {
  const fields = Object.keys(raw)
    .filter((name) => !['sign', 'nonce_str', 'sign_type'].includes(name))
    .sort()
    .map((name) => [name, raw[name]]);
  return JSON.stringify(fields);
}

/**
 * POST /pay/unifiedorder (JSAPI, NATIVE with code_url, APP, MWEB with mweb_url). A new out_trade_no creates the order; the same one again answers as WeChat
 * does: unchanged and unpaid → a fresh prepay_id (how a buyer pays again), changed → 201 商户订单号重复,
 * paid → ORDERPAID, closed or expired → ORDERCLOSED.
 */
export function unifiedOrder(req: PayRequest, sandbox: SandboxContext): string {
  const { raw, account, signType, appid } = req;
  const now = sandbox.clock.now();
  // A finished order is reported as such before the parameters are judged: a re-submission after expiry
  // carries a time_expire in the past, and the useful answer is ORDERCLOSED, not PARAM_ERROR.
  const existing = findOrder(sandbox, account.mchId, raw.out_trade_no as string);
  if (existing?.state === 'SUCCESS')
    return resultFailXml(account, signType, appid, 'ORDERPAID', '该订单已支付');
  if (existing && existing.state !== 'NOTPAY') {
    return resultFailXml(account, signType, appid, 'ORDERCLOSED', '该订单已关闭');
  }

  const violation = checkUnifiedOrder(raw, now, sandbox.accounts.kind(appid));
  if (violation?.kind === 'return') return returnFailXml(violation.msg);
  if (violation) return resultFailXml(account, signType, appid, violation.errCode, violation.des);

  const tradeType = raw.trade_type as TradeType;
  // Only JSAPI names the buyer; the others learn it when the buyer pays (cashier, scanner, app).
  const openid = tradeType === 'JSAPI' ? (raw.openid as string) : '';
  if (tradeType === 'JSAPI' && !sandbox.state.openids.has(`${appid}:${openid}`)) {
    return resultFailXml(account, signType, appid, 'PARAM_ERROR', 'appid和openid不匹配');
  }

  const outTradeNo = raw.out_trade_no as string;
  let order: OrderRecord;
  if (existing) {
    if (existing.fingerprint !== fingerprint(raw)) {
      return resultFailXml(account, signType, appid, 'INVALID_REQUEST', '201 商户订单号重复');
    }
    existing.signType = signType;
    order = existing;
  } else {
    order = {
      key: orderKey(account.mchId, outTradeNo),
      api: 'v2',
      appId: appid,
      mchId: account.mchId,
      outTradeNo,
      fingerprint: fingerprint(raw),
      body: raw.body as string,
      totalFee: Number(raw.total_fee),
      feeType: raw.fee_type ?? 'CNY',
      openid,
      attach: raw.attach,
      notifyUrl: raw.notify_url as string,
      tradeType,
      ...(raw.product_id === undefined ? {} : { productId: raw.product_id }),
      clientIp: raw.spbill_create_ip,
      ...(raw.scene_info === undefined ? {} : { sceneInfo: raw.scene_info }),
      signType,
      createdAt: now,
      expiresAt: raw.time_expire === undefined ? undefined : parseWechatTime(raw.time_expire)?.getTime(),
      ...unpaidOrderStart(),
    };
    sandbox.state.orders.set(order.key, order);
  }
  const prepay = issuePrepayId(sandbox, order, raw.sign as string);
  const reply = signedFields(account, signType, {
    appid,
    device_info: raw.device_info, // echoed, as WeChat does
    result_code: 'SUCCESS',
    trade_type: order.tradeType,
    prepay_id: prepay.prepayId,
    ...(tradeType === 'NATIVE' ? { code_url: issueCodeUrl(sandbox, prepay) } : {}),
    ...(tradeType === 'MWEB' ? { mweb_url: issueMwebUrl(prepay, req.baseUrl) } : {}),
  });
  prepay.orderSigns.push(reply.sign);
  return buildXml(reply);
}

/**
 * POST /wechatpay/notify, the business side. Order of checks (wechatpay.md §5): hardened parse of the raw body,
 * signature over the raw map, appid/mch_id, then the order must exist and total_fee must equal its total, then
 * one atomic PENDING -> PAID. SUCCESS is answered only after that write (or when it had already happened);
 * every failure to persist answers FAIL so WeChat retries.
 *
 * Reply decisions (also in README.md):
 *   - malformed/hostile XML, bad or missing signature, another merchant's appid/mch_id: HTTP 400 + FAIL.
 *   - unknown out_trade_no: HTTP 404 + FAIL (logged): keeps retrying while an operator looks; never acknowledged.
 *   - amount mismatch: HTTP 400 + FAIL, logged as a security event, order untouched. We never acknowledge a
 *     payment we did not accept; WeChat's retries keep the incident visible until someone acts.
 *   - result_code=FAIL (a failed payment): nothing to record, HTTP 200 + SUCCESS.
 *   - paid now, or already paid (duplicate, concurrent copy): HTTP 200 + SUCCESS.
 *   - store unreachable or any unexpected error: HTTP 503 + FAIL (WeChat retries; nothing is lost).
 */
import {
  NOTIFY_SUCCESS_XML,
  notifyFailXml,
  verifyPaymentNotification,
  WechatPayError,
  WechatPaySignatureError,
  WechatPayXmlError,
} from '@mp-pay/shared/wechatpay';
import type { AppContext } from '../context.ts';
import type { Logger } from '../logger.ts';
import { applyPayment } from './payments.ts';

export interface NotifyReply {
  status: number;
  xml: string;
}

const fail = (status: number, message: string): NotifyReply => ({ status, xml: notifyFailXml(message) });

export async function handlePaymentNotification(
  ctx: AppContext,
  rawBody: Buffer,
  log: Logger,
): Promise<NotifyReply> {
  let notification;
  try {
    notification = verifyPaymentNotification(rawBody, {
      key: ctx.config.wechatpay.key,
      appId: ctx.config.wechat.appId,
      mchId: ctx.config.wechatpay.mchId,
      maxBytes: ctx.config.http.notifyLimitBytes,
    });
  } catch (err) {
    if (err instanceof WechatPayXmlError) {
      log.warn({ security: 'bad_notify_xml', reason: err.message }, 'notification rejected: unreadable XML');
      return fail(400, 'invalid XML');
    }
    if (err instanceof WechatPaySignatureError) {
      log.warn(
        { security: 'bad_notify_signature', outTradeNo: err.raw?.out_trade_no },
        'notification rejected: bad signature',
      );
      return fail(400, 'signature verification failed');
    }
    if (err instanceof WechatPayError) {
      log.warn(
        {
          security: err.code === 'MERCHANT_MISMATCH' ? 'notify_merchant_mismatch' : 'bad_notify',
          code: err.code,
          reason: err.message,
        },
        'notification rejected',
      );
      return fail(
        400,
        err.code === 'MERCHANT_MISMATCH' ? 'appid or mch_id mismatch' : 'invalid notification',
      );
    }
    throw err;
  }

  const where = { outTradeNo: notification.outTradeNo, transactionId: notification.transactionId };
  if (notification.resultCode !== 'SUCCESS') {
    log.info(where, 'notification of a failed payment: nothing to record');
    return { status: 200, xml: NOTIFY_SUCCESS_XML };
  }
  let result;
  try {
    result = await applyPayment(
      ctx,
      notification.outTradeNo,
      {
        transactionId: notification.transactionId,
        totalFee: notification.totalFee,
        timeEnd: notification.timeEnd,
        source: 'notify',
      },
      log,
    );
  } catch (err) {
    log.error({ ...where, err }, 'could not record the payment; answering FAIL so WeChat retries');
    return fail(503, 'temporarily unavailable');
  }
  switch (result.kind) {
    case 'paid':
    case 'duplicate':
      return { status: 200, xml: NOTIFY_SUCCESS_XML };
    case 'amount_mismatch':
      return fail(400, 'amount mismatch');
    case 'not_found':
      return fail(404, 'unknown order');
  }
}

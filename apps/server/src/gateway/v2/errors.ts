/**
 * The one mapping from v2 failures to gateway failures (docs/protocol.md §3, §6). Nothing outside gateway/v2
 * sees a WechatPay* class or an err_code.
 */
import {
  WechatPayError,
  WechatPayOrderClosedError,
  WechatPayOrderNotExistError,
  WechatPayOrderPaidError,
  WechatPayRefundNotExistError,
  WechatPaySignatureError,
  WechatPayXmlError,
} from '@mp-pay/shared/wechatpay';
import { GatewayError, NotificationRejectedError } from '../errors.ts';

export function gatewayError(err: unknown, call: string): GatewayError {
  if (err instanceof GatewayError) return err;
  if (!(err instanceof WechatPayError)) {
    // A programming error (TypeError, RangeError): not WeChat's answer, so not mapped.
    throw err;
  }
  const options = { cause: err, wechatCode: err.code };
  const what = `${call}: ${err.message}`;
  if (err instanceof WechatPayOrderPaidError) return new GatewayError('already_paid', what, options);
  if (err instanceof WechatPayOrderClosedError) return new GatewayError('closed', what, options);
  if (err instanceof WechatPayOrderNotExistError || err instanceof WechatPayRefundNotExistError) {
    return new GatewayError('not_found', what, options);
  }
  if (err instanceof WechatPaySignatureError) return new GatewayError('bad_reply', what, options);
  if (err.retryable) return new GatewayError('unavailable', what, options);
  // A SUCCESS reply that lacks what it must carry is WeChat's fault, not a refusal of our request.
  if (err.code === 'BAD_REPLY' || err.code === 'NO_PREPAY_ID')
    return new GatewayError('bad_reply', what, options);
  // closeorder on a trade younger than 5 minutes (docs/protocol.md §6).
  if (call === 'closeorder' && err.code === 'INVALID_REQUEST') {
    return new GatewayError('too_early', what, options);
  }
  return new GatewayError('refused', what, options);
}

export function notificationError(err: unknown): NotificationRejectedError {
  if (err instanceof WechatPayXmlError) return new NotificationRejectedError('unreadable', err.message);
  if (err instanceof WechatPaySignatureError) {
    return new NotificationRejectedError('signature', err.message, err.raw?.out_trade_no);
  }
  if (err instanceof WechatPayError) {
    return new NotificationRejectedError(
      err.code === 'MERCHANT_MISMATCH' ? 'merchant' : 'fields',
      err.message,
      err.raw?.out_trade_no,
    );
  }
  throw err;
}

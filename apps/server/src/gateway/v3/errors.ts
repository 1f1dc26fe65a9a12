/**
 * The one mapping from APIv3 failures to gateway failures (docs/protocol.md §7). Nothing outside gateway/v3 sees a
 * WechatPayV3* class or a v3 error code.
 */
import {
  WechatPayV3BadMessageError,
  WechatPayV3DecryptError,
  WechatPayV3Error,
  WechatPayV3OrderClosedError,
  WechatPayV3OrderNotExistError,
  WechatPayV3OrderPaidError,
  WechatPayV3SignatureError,
} from '@mp-pay/shared/wechatpay';
import { GatewayError, NotificationRejectedError } from '../errors.ts';

export function gatewayErrorV3(err: unknown, call: string): GatewayError {
  if (err instanceof GatewayError) return err;
  if (!(err instanceof WechatPayV3Error)) throw err;
  const options = { cause: err, wechatCode: err.code };
  const what = `${call}: ${err.message}`;
  if (err instanceof WechatPayV3OrderPaidError) return new GatewayError('already_paid', what, options);
  if (err instanceof WechatPayV3OrderClosedError) return new GatewayError('closed', what, options);
  if (err instanceof WechatPayV3OrderNotExistError) return new GatewayError('not_found', what, options);
  // A forged, unsigned or malformed reply: WeChat's answer cannot be trusted, so nothing was decided.
  if (err instanceof WechatPayV3SignatureError || err instanceof WechatPayV3BadMessageError) {
    return new GatewayError('bad_reply', what, options);
  }
  if (err.retryable) return new GatewayError('unavailable', what, options);
  // Closing a trade younger than 5 minutes (docs/protocol.md §6): the worker retries it later; the buyer is told.
  if ((call === 'close' || call === 'combine close') && err.code === 'INVALID_REQUEST') {
    return new GatewayError('too_early', what, options);
  }
  return new GatewayError('refused', what, options);
}

export function notificationErrorV3(err: unknown): NotificationRejectedError {
  if (err instanceof WechatPayV3SignatureError || err instanceof WechatPayV3DecryptError) {
    // A tag mismatch is a wrong APIv3 key or a tampered body: either way nothing in it can be trusted.
    return new NotificationRejectedError('signature', err.message);
  }
  if (err instanceof WechatPayV3Error) return new NotificationRejectedError('unreadable', err.message);
  throw err;
}

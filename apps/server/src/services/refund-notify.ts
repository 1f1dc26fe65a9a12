/**
 * The refund notify_url, the business side: the gateway verifies the raw notification (v2: req_info decrypts only
 * with our key; v3: signature, time window, GCM tag), then the outcome is recorded once (settle-refund.lua).
 * Replies, rendered by the gateway: SUCCESS once recorded or already recorded; FAIL for anything untrusted (400),
 * an unknown refund (404, kept visible by WeChat's retries) or a store failure (503, retried).
 */
import type { AppContext } from '../context.ts';
import {
  NotificationRejectedError,
  type NotificationAnswer,
  type NotificationReply,
  type RawNotification,
} from '../gateway/index.ts';
import type { Logger } from '../logger.ts';
import { applyRefundStatus } from './refunds.ts';

export async function handleRefundNotification(
  ctx: AppContext,
  raw: RawNotification,
  log: Logger,
): Promise<NotificationReply> {
  return ctx.pay.renderNotificationReply(await decide(ctx, raw, log));
}

async function decide(ctx: AppContext, raw: RawNotification, log: Logger): Promise<NotificationAnswer> {
  let status;
  try {
    status = ctx.pay.parseRefundNotification(raw);
  } catch (err) {
    if (!(err instanceof NotificationRejectedError)) throw err;
    log.warn(
      { security: 'bad_refund_notify', reason: err.reason, detail: err.message },
      'refund notification rejected',
    );
    return { ack: false, status: 400, message: 'invalid notification' };
  }
  if (status.state === 'processing') return { ack: true };
  try {
    const result = await applyRefundStatus(ctx, status, 'notify', log);
    if (result?.kind === 'other_merchant') {
      log.error(
        { security: 'merchant_mismatch', outRefundNo: status.outRefundNo, mchid: status.mchid ?? 'own' },
        'refund notification from another merchant than the refunded trade’s: NOT recorded',
      );
      return { ack: false, status: 400, message: 'merchant mismatch' };
    }
    if (result?.kind === 'not_found') {
      log.warn(
        { security: 'unknown_refund', outRefundNo: status.outRefundNo },
        'refund notification for an unknown refund',
      );
      return { ack: false, status: 404, message: 'unknown refund' };
    }
  } catch (err) {
    log.error(
      { outRefundNo: status.outRefundNo, err },
      'could not record the refund; answering FAIL so WeChat retries',
    );
    return { ack: false, status: 503, message: 'temporarily unavailable' };
  }
  return { ack: true };
}

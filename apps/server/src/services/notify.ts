/**
 * The notify_url, the business side. The gateway verifies the raw notification (hardened parse, signature over
 * the raw body or map, merchant and AppID) and hands over a domain fact; this module decides the answer, which
 * the gateway renders in its protocol. SUCCESS is answered only after the write is durable (or when it had
 * already happened); every failure to persist answers FAIL so WeChat retries.
 *
 * Reply decisions (also in README.md):
 *   - malformed/hostile body, bad or missing signature, another merchant or an unbound AppID: HTTP 400 + FAIL.
 *   - unknown out_trade_no: HTTP 404 + FAIL (logged): keeps retrying while an operator looks; never acknowledged.
 *   - amount mismatch, or a merchant other than the trade's (APIv3 with several merchants): HTTP 400 + FAIL,
 *     logged as a security event, order untouched. We never acknowledge a
 *     payment we did not accept; WeChat's retries keep the incident visible until someone acts.
 *   - a failed payment (result_code=FAIL): nothing to record, HTTP 200 + SUCCESS.
 *   - paid now, already paid (duplicate, concurrent copy), or a second payment of a paid order (recorded and
 *     emitted as payment.duplicate): HTTP 200 + SUCCESS.
 *   - a combine (APIv3): each sub-order's state recorded in one step, then as above (docs/combine.md).
 *   - store unreachable or any unexpected error: HTTP 503 + FAIL (WeChat retries; nothing is lost).
 */
import type { AppContext } from '../context.ts';
import {
  NotificationRejectedError,
  type CombineFact,
  type NotificationAnswer,
  type NotificationFact,
  type NotificationReply,
  type RawNotification,
} from '../gateway/index.ts';
import type { Logger } from '../logger.ts';
import type { MarkCombineResult, MarkPaidResult } from '../store/index.ts';
import { applyCombine } from './combine.ts';
import { applyPayment } from './payments.ts';

const ACK: NotificationAnswer = { ack: true };
const refuse = (status: number, message: string): NotificationAnswer => ({ ack: false, status, message });

/** Security log names and FAIL messages per rejection reason. */
const REJECTIONS = {
  unreadable: { security: 'bad_notify_xml', status: 400, message: 'invalid XML', log: 'unreadable body' },
  signature: {
    security: 'bad_notify_signature',
    status: 400,
    message: 'signature verification failed',
    log: 'bad signature',
  },
  merchant: {
    security: 'notify_merchant_mismatch',
    status: 400,
    message: 'appid or mch_id mismatch',
    log: 'another merchant or an unbound appid',
  },
  fields: {
    security: 'bad_notify',
    status: 400,
    message: 'invalid notification',
    log: 'missing or bad fields',
  },
} as const;

export function handlePaymentNotification(
  ctx: AppContext,
  raw: RawNotification,
  log: Logger,
): Promise<NotificationReply> {
  return decide(ctx, raw, log).then((answer) => ctx.pay.renderNotificationReply(answer));
}

async function decide(ctx: AppContext, raw: RawNotification, log: Logger): Promise<NotificationAnswer> {
  let fact: NotificationFact;
  try {
    fact = ctx.pay.parseNotification(raw);
  } catch (err) {
    if (!(err instanceof NotificationRejectedError)) throw err;
    const r = REJECTIONS[err.reason];
    log.warn(
      { security: r.security, reason: err.message, outTradeNo: err.claimedOutTradeNo },
      `notification rejected: ${r.log}`,
    );
    return refuse(r.status, r.message);
  }

  if (fact.kind === 'payment_failed') {
    log.info({ outTradeNo: fact.outTradeNo }, 'notification of a failed payment: nothing to record');
    return ACK;
  }
  if (fact.kind === 'combine') return decideCombine(ctx, fact.combine, log);
  let result;
  try {
    result = await applyPayment(ctx, fact.payment, 'notify', log);
  } catch (err) {
    // (Built here, not per notification: only a failure logs it.)
    const where = { outTradeNo: fact.payment.outTradeNo, transactionId: fact.payment.transactionId };
    log.error({ ...where, err }, 'could not record the payment; answering FAIL so WeChat retries');
    return refuse(503, 'temporarily unavailable');
  }
  return answerFor(result.kind);
}

/**
 * The answer once the transition ran (the table above): the refusals by their result, an acknowledgement for
 * everything recorded (paid, duplicate, second payment; a combine's partial, failed or progress too).
 */
function answerFor(kind: MarkPaidResult['kind'] | MarkCombineResult['kind']): NotificationAnswer {
  switch (kind) {
    case 'amount_mismatch':
      return refuse(400, 'amount mismatch');
    case 'other_merchant':
      return refuse(400, 'merchant mismatch');
    case 'not_found':
      return refuse(404, 'unknown order');
    default:
      return ACK;
  }
}

/**
 * A combine's notification (docs/combine.md): every sub-order's state in one transition. Acknowledged once it is
 * recorded, whatever it meant (paid, partly paid and refunded, failed, still payable); the same refusals as a
 * single payment's otherwise.
 */
async function decideCombine(
  ctx: AppContext,
  combine: CombineFact,
  log: Logger,
): Promise<NotificationAnswer> {
  let result;
  try {
    result = await applyCombine(ctx, combine.outTradeNo, combine.subOrders, 'notify', log);
  } catch (err) {
    log.error(
      { outTradeNo: combine.outTradeNo, err },
      'could not record the combine payment; answering FAIL so WeChat retries',
    );
    return refuse(503, 'temporarily unavailable');
  }
  return answerFor(result.kind);
}

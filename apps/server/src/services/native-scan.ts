/**
 * Native mode 1, the scan callback (docs/channels.md "Native mode 1"): a buyer scanned the signed long link of an
 * order; WeChat asks us for the trade. The gateway verifies the scan (hardened parse, signature over the raw
 * body, merchant and AppID); the order named by product_id must be PENDING with an OPEN Native attempt; that
 * attempt's NATIVE trade is placed (no openid: a second scan, by anyone, sends identical parameters and gets the
 * same trade) and its prepay_id answered. An order that cannot be paid gets result_code FAIL with the reason
 * WeChat shows the buyer. A scan we cannot trust gets HTTP 400 and nothing is placed.
 */
import type { AppContext } from '../context.ts';
import { ORDER_ID_RE } from '../domain/ids.ts';
import { AppError } from '../errors.ts';
import {
  NotificationRejectedError,
  type NativeScan,
  type NativeScanAnswer,
  type NotificationReply,
  type RawNotification,
} from '../gateway/index.ts';
import type { Logger } from '../logger.ts';
import { MIN_EXPIRE_LEAD_MS, placeTradeError, prepareRequestOf } from './orders.ts';

/** What WeChat shows the buyer (Chinese, as WeChat's own texts). */
const REFUSALS = {
  unknown: '订单不存在',
  paid: '订单已支付',
  closed: '订单已关闭',
  otherChannel: '订单已更换支付方式',
  unavailable: '系统繁忙，请稍后再试',
} as const;

export async function handleNativeScan(
  ctx: AppContext,
  raw: RawNotification,
  log: Logger,
): Promise<NotificationReply> {
  let scan: NativeScan;
  try {
    scan = ctx.pay.parseNativeScan(raw);
  } catch (err) {
    if (!(err instanceof NotificationRejectedError)) throw err;
    log.warn({ security: 'bad_native_scan', reason: err.reason, err: err.message }, 'Native scan rejected');
    return ctx.pay.renderScanReply({ ack: false, status: 400, message: 'invalid scan' });
  }
  const answer = await answerScan(ctx, scan, log);
  return ctx.pay.renderScanReply(answer, scan.appId);
}

async function answerScan(ctx: AppContext, scan: NativeScan, log: Logger): Promise<NativeScanAnswer> {
  const where = { orderId: scan.productId };
  const order = ORDER_ID_RE.test(scan.productId)
    ? await ctx.store.orders.getOrder(scan.productId)
    : undefined;
  if (!order) {
    log.warn({ ...where, security: 'native_scan_unknown_order' }, 'Native scan for an unknown order');
    return { refuse: REFUSALS.unknown };
  }
  if (order.status === 'PAID') return { refuse: REFUSALS.paid };
  if (order.status !== 'PENDING' || order.expiresAt - ctx.now() < MIN_EXPIRE_LEAD_MS) {
    return { refuse: REFUSALS.closed };
  }
  const attempt = await ctx.store.attempts.getAttempt(order.currentAttempt);
  if (!attempt || attempt.state !== 'OPEN') return { refuse: REFUSALS.closed };
  if (attempt.channel !== 'native' || attempt.appId !== scan.appId) return { refuse: REFUSALS.otherChannel };

  let prepayId = attempt.prepared?.prepayId;
  if (prepayId === undefined) {
    let placed;
    try {
      placed = await ctx.pay.placeScanned(prepareRequestOf(ctx, attempt));
    } catch (err) {
      const mapped = await placeTradeError(ctx, order, attempt, err, log);
      if (mapped instanceof AppError) {
        if (mapped.id === 'order_already_paid') return { refuse: REFUSALS.paid };
        if (mapped.id === 'order_closed') return { refuse: REFUSALS.closed };
        return { refuse: REFUSALS.unavailable };
      }
      log.error({ ...where, err: mapped }, 'placing the scanned Native trade failed');
      return { refuse: REFUSALS.unavailable };
    }
    if (placed.prepayId === undefined) return { refuse: REFUSALS.unavailable };
    // Compare-and-set of the prepay_id alone (set-scan-prepay.lua): refused once the attempt is not OPEN, so a
    // close that ended it first (closeOrderAtWechat) never sees its trade handed out; the first scan's
    // prepay_id wins over a concurrent one, and the long link the QR shows is never rewritten.
    const recorded = await ctx.store.attempts.setScanPrepay(attempt.outTradeNo, placed.prepayId, ctx.now());
    if (recorded.kind !== 'ok') {
      // Paid, closed or superseded meanwhile: the trade just placed must not be handed out.
      return {
        refuse:
          recorded.kind === 'not_open' && recorded.orderStatus === 'PAID' ? REFUSALS.paid : REFUSALS.closed,
      };
    }
    prepayId = recorded.prepayId;
    log.info({ ...where, outTradeNo: attempt.outTradeNo }, 'Native scan: trade placed');
  }
  return { prepayId };
}

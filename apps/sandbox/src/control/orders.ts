import type { Context } from 'koa';
import type { SandboxContext } from '../context.ts';
import { sendJsonError } from '../http/json.ts';
import { findOrder, TRADE_STATE_DESC } from '../pay/orders.ts';
import type { Refunds } from '../refunds/core.ts';
import { committedFee, reportedState, V3_REFUND_STATUS } from '../refunds/status.ts';
import { combineOfOrder } from '../v3/combine.ts';

/** GET /sandbox/orders[?limit=20] → the most recent orders, newest first, in brief. */
export function orderListRoute(sandbox: SandboxContext) {
  return (ctx: Context): void => {
    const limit = Math.min(Math.max(Number(ctx.query.limit) || 20, 1), 200);
    const newest = [...sandbox.state.orders.values()].slice(-limit).reverse();
    ctx.body = {
      orders: newest.map((order) => ({
        out_trade_no: order.outTradeNo,
        api: order.api,
        mch_id: order.mchId,
        trade_type: order.tradeType,
        state: reportedState(order),
        total_fee: order.totalFee,
        refunds: order.refunds.length,
        created_at: new Date(order.createdAt).toISOString(),
        notifications: order.notifications.length,
        acknowledged: order.notifications.some((n) => n.outcome === 'acknowledged'),
      })),
    };
  };
}

/**
 * GET /sandbox/orders/:out_trade_no[?mch_id=] → the order as the sandbox sees it, with every payment and
 * notification attempt. Defaults to the main merchant. For tests and for "why did my server not get paid?".
 */
export function orderInspectionRoute(sandbox: SandboxContext, refunds: Refunds) {
  return (ctx: Context): void => {
    const mchId = typeof ctx.query.mch_id === 'string' ? ctx.query.mch_id : sandbox.config.mchId;
    const outTradeNo = String(ctx.params.out_trade_no ?? '');
    const order = findOrder(sandbox, mchId, outTradeNo);
    if (!order)
      return sendJsonError(ctx, 404, 'ORDERNOTEXIST', `no order ${outTradeNo} for merchant ${mchId}`);
    const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());
    refunds.settleOrder(order);
    const state = reportedState(order);
    ctx.body = {
      api: order.api,
      appid: order.appId,
      mch_id: order.mchId,
      out_trade_no: order.outTradeNo,
      // A combine's sub-order: its combine is at GET /sandbox/combines/:combine_out_trade_no?mch_id=.
      combine_out_trade_no: combineOfOrder(sandbox, order)?.outTradeNo,
      combine_mch_id: combineOfOrder(sandbox, order)?.mchId,
      state,
      state_desc: TRADE_STATE_DESC[state],
      closed_by: order.closedBy,
      body: order.body,
      total_fee: order.totalFee,
      cash_fee: order.cashFee,
      fee_type: order.feeType,
      openid: order.openid,
      attach: order.attach,
      notify_url: order.notifyUrl,
      trade_type: order.tradeType,
      product_id: order.productId,
      spbill_create_ip: order.clientIp,
      scene_info: order.sceneInfo,
      sign_type: order.signType,
      created_at: iso(order.createdAt),
      expires_at: iso(order.expiresAt),
      transaction_id: order.transactionId,
      time_end: order.timeEnd,
      bank_type: order.bankType,
      extras: order.paidExtras,
      prepay_ids: order.prepayIds.map((id) => prepayInspection(sandbox, id)),
      payments: order.payments,
      notifications: order.notifications,
      next_notification_at: iso(order.nextNotificationAt),
      refunded_fee: committedFee(order),
      refunds: order.refunds.map((refund) => ({
        api: refund.api,
        out_refund_no: refund.outRefundNo,
        refund_id: refund.refundId,
        status: refund.status,
        v3_status: V3_REFUND_STATUS[refund.status],
        total_fee: refund.totalFee,
        refund_fee: refund.refundFee,
        settlement_refund_fee: refund.settlementRefundFee,
        cash_refund_fee: refund.cashRefundFee,
        reason: refund.reason,
        notify_url: refund.notifyUrl,
        created_at: iso(refund.createdAt),
        due_at: iso(refund.dueAt),
        success_at: iso(refund.successAt),
        notifications: refund.notifications,
        next_notification_at: iso(refund.nextNotificationAt),
      })),
    };
  };
}

/**
 * A prepay_id as the inspection views show it (an order's and a combine's): when it expires and what its
 * channel hands the buyer (a Native code_url, an H5 cashier's package).
 */
export function prepayInspection(sandbox: SandboxContext, id: string) {
  const prepay = sandbox.state.prepays.get(id);
  return {
    prepay_id: id,
    expires_at: prepay === undefined ? undefined : new Date(prepay.expiresAt).toISOString(),
    ...(prepay?.codeUrl ? { code_url: prepay.codeUrl } : {}),
    ...(prepay?.h5Package ? { h5_package: prepay.h5Package } : {}),
  };
}

import type Router from '@koa/router';
import type { Context } from 'koa';
import type { SandboxContext } from '../context.ts';
import { prepayInspection } from '../control/orders.ts';
import { sendJsonError } from '../http/json.ts';
import { TRADE_STATE_DESC } from '../pay/orders.ts';
import { reportedState } from '../refunds/status.ts';
import type { OrderRecord } from '../state.ts';
import {
  closeCombine,
  combineApp,
  combineH5,
  combineJsapi,
  combineNative,
  findCombine,
  listCombines,
  queryCombine,
  subOrdersOf,
  type CombineRecord,
} from './combine.ts';
import { v3Endpoint } from './request.ts';

/**
 * Registers the combine (合单) endpoints, WeChat's and the sandbox's inspection ones. `settle` brings a
 * sub-order's refunds up to date before it is reported (a refunded sub-order queries as REFUND).
 */
export function combineRoutes(
  router: Router,
  sandbox: SandboxContext,
  settle: (order: OrderRecord) => void,
): void {
  router.post('/v3/combine-transactions/jsapi', v3Endpoint(sandbox, combineJsapi));
  router.post('/v3/combine-transactions/app', v3Endpoint(sandbox, combineApp));
  router.post('/v3/combine-transactions/h5', v3Endpoint(sandbox, combineH5));
  router.post('/v3/combine-transactions/native', v3Endpoint(sandbox, combineNative));
  router.get(
    '/v3/combine-transactions/out-trade-no/:combine_out_trade_no',
    v3Endpoint(sandbox, queryCombine(settle)),
  );
  router.post(
    '/v3/combine-transactions/out-trade-no/:combine_out_trade_no/close',
    v3Endpoint(sandbox, closeCombine),
  );
  router.get('/sandbox/combines', combineListRoute(sandbox, settle));
  router.get('/sandbox/combines/:combine_out_trade_no', combineInspectionRoute(sandbox, settle));
}

const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

function brief(sandbox: SandboxContext, combine: CombineRecord, settle: (order: OrderRecord) => void) {
  const orders = subOrdersOf(sandbox, combine);
  for (const order of orders) settle(order);
  return {
    combine_out_trade_no: combine.outTradeNo,
    combine_mchid: combine.mchId,
    combine_appid: combine.appId,
    kind: combine.kind,
    created_at: iso(combine.createdAt),
    sub_orders: orders.map((order) => ({
      mch_id: order.mchId,
      out_trade_no: order.outTradeNo,
      state: reportedState(order),
      total_fee: order.totalFee,
    })),
    notifications: combine.notifications.length,
    acknowledged: combine.notifications.some((n) => n.outcome === 'acknowledged'),
  };
}

/** GET /sandbox/combines[?limit=20] → the most recent combines, newest first, in brief. */
function combineListRoute(sandbox: SandboxContext, settle: (order: OrderRecord) => void) {
  return (ctx: Context): void => {
    const limit = Math.min(Math.max(Number(ctx.query.limit) || 20, 1), 200);
    ctx.body = { combines: listCombines(sandbox, limit).map((combine) => brief(sandbox, combine, settle)) };
  };
}

/**
 * GET /sandbox/combines/:combine_out_trade_no[?mch_id=] → the combine with its sub-orders, payment attempts and
 * notification attempts. Defaults to the main merchant as the combine merchant. Each sub-order is also an order
 * of its merchant: GET /sandbox/orders/:out_trade_no?mch_id=<sub-order mchid>.
 */
function combineInspectionRoute(sandbox: SandboxContext, settle: (order: OrderRecord) => void) {
  return (ctx: Context): void => {
    const mchId = typeof ctx.query.mch_id === 'string' ? ctx.query.mch_id : sandbox.config.mchId;
    const outTradeNo = String(ctx.params.combine_out_trade_no ?? '');
    const combine = findCombine(sandbox, mchId, outTradeNo);
    if (!combine) {
      return sendJsonError(ctx, 404, 'ORDERNOTEXIST', `no combine ${outTradeNo} for merchant ${mchId}`);
    }
    const orders = subOrdersOf(sandbox, combine);
    for (const order of orders) settle(order);
    ctx.body = {
      ...brief(sandbox, combine, settle),
      openid: combine.openid || undefined,
      notify_url: combine.notifyUrl,
      scene_info: combine.sceneInfo,
      expires_at: iso(combine.expiresAt),
      sub_orders: orders.map((order) => {
        const state = reportedState(order);
        return {
          mch_id: order.mchId,
          out_trade_no: order.outTradeNo,
          state,
          state_desc: TRADE_STATE_DESC[state],
          closed_by: order.closedBy,
          body: order.body,
          attach: order.attach,
          total_fee: order.totalFee,
          cash_fee: order.cashFee,
          trade_type: order.tradeType,
          transaction_id: order.transactionId,
          time_end: order.timeEnd,
          refunds: order.refunds.length,
        };
      }),
      prepay_ids: combine.prepayIds.map((id) => prepayInspection(sandbox, id)),
      payments: combine.payments,
      notifications: combine.notifications,
      next_notification_at: iso(combine.nextNotificationAt),
    };
  };
}

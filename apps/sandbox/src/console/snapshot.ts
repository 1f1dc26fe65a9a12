import { SANDBOX_DEMO_COMBINE_SUB_MERCHANTS } from '@mp-pay/shared/wechatpay';
import type { SandboxContext } from '../context.ts';
import type { Refunds } from '../refunds/core.ts';
import { committedFee, reportedState, V3_REFUND_STATUS } from '../refunds/status.ts';
import type { NotificationAttempt, OrderRecord, RefundRecord } from '../state.ts';
import { combineOfOrder, listCombines, subOrdersOf, type CombineRecord } from '../v3/combine.ts';

/**
 * What the sandbox console shows (GET /sandbox/snapshot, and each event of GET /sandbox/events): the merchants,
 * the newest orders, combines and refunds with every notification attempt, the faults and the clock. Built from
 * the live state each time; never a key of any kind (merchant ids, AppIDs and certificate serials are public).
 */
export const DEFAULT_SNAPSHOT_LIMIT = 50;
const MAX_SNAPSHOT_LIMIT = 200;

export function snapshotLimit(raw: unknown): number {
  const n = Number(raw);
  return Number.isInteger(n) && n > 0 ? Math.min(n, MAX_SNAPSHOT_LIMIT) : DEFAULT_SNAPSHOT_LIMIT;
}

const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

export interface MerchantView {
  mch_id: string;
  role: 'main' | 'combine-sub' | 'extra';
  appids: string[];
  key_mode: string;
}

function merchants(sandbox: SandboxContext): MerchantView[] {
  const { config } = sandbox;
  const demoApps = [config.appId, config.officialAccount.appId, config.app.appId];
  const views = new Map<string, MerchantView>();
  const add = (mchId: string, role: MerchantView['role'], appids: string[]) => {
    const view = views.get(mchId);
    if (view) {
      for (const appid of appids) if (!view.appids.includes(appid)) view.appids.push(appid);
      return;
    }
    views.set(mchId, {
      mch_id: mchId,
      role,
      appids: [...appids],
      key_mode: sandbox.keyModes.for(mchId).mode,
    });
  };
  add(config.mchId, 'main', demoApps);
  for (const sub of SANDBOX_DEMO_COMBINE_SUB_MERCHANTS) add(sub.mchId, 'combine-sub', demoApps);
  for (const extra of config.extraAccounts) add(extra.mchId, 'extra', [extra.appId]);
  return [...views.values()];
}

/** An attempt as recorded, plus nothing: the notifier never records a key (v2's key is withheld in `signed`). */
function attempts(list: NotificationAttempt[]): NotificationAttempt[] {
  return list.map((attempt) => ({ ...attempt }));
}

function refundView(refund: RefundRecord) {
  return {
    api: refund.api,
    mch_id: refund.mchId,
    out_trade_no: refund.outTradeNo,
    out_refund_no: refund.outRefundNo,
    refund_id: refund.refundId,
    status: refund.status,
    v3_status: V3_REFUND_STATUS[refund.status],
    total_fee: refund.totalFee,
    refund_fee: refund.refundFee,
    request_source: refund.requestSource,
    notify_url: refund.notifyUrl,
    created_at: iso(refund.createdAt),
    due_at: iso(refund.dueAt),
    success_at: iso(refund.successAt),
    notifications: attempts(refund.notifications),
    next_notification_at: iso(refund.nextNotificationAt),
  };
}

function orderView(sandbox: SandboxContext, order: OrderRecord) {
  const combine = combineOfOrder(sandbox, order);
  return {
    api: order.api,
    appid: order.appId,
    mch_id: order.mchId,
    out_trade_no: order.outTradeNo,
    combine_out_trade_no: combine?.outTradeNo,
    combine_mch_id: combine?.mchId,
    trade_type: order.tradeType,
    state: reportedState(order),
    body: order.body,
    total_fee: order.totalFee,
    refunded_fee: committedFee(order),
    notify_url: order.notifyUrl,
    sign_type: order.signType,
    created_at: iso(order.createdAt),
    transaction_id: order.transactionId,
    time_end: order.timeEnd,
    // NATIVE trades can be paid by the scanner with their code_url (POST /sandbox/scan).
    code_url: order.prepayIds
      .map((id) => sandbox.state.prepays.get(id)?.codeUrl)
      .filter((url): url is string => url !== undefined)
      .at(-1),
    payments: order.payments.map((payment) => ({ ...payment })),
    notifications: attempts(order.notifications),
    next_notification_at: iso(order.nextNotificationAt),
    refunds: order.refunds.map(refundView),
  };
}

function combineView(sandbox: SandboxContext, combine: CombineRecord) {
  return {
    combine_out_trade_no: combine.outTradeNo,
    combine_mch_id: combine.mchId,
    combine_appid: combine.appId,
    kind: combine.kind,
    notify_url: combine.notifyUrl,
    created_at: iso(combine.createdAt),
    sub_orders: subOrdersOf(sandbox, combine).map((order) => ({
      mch_id: order.mchId,
      out_trade_no: order.outTradeNo,
      state: reportedState(order),
      total_fee: order.totalFee,
      transaction_id: order.transactionId,
    })),
    payments: combine.payments.map((payment) => ({ ...payment })),
    notifications: attempts(combine.notifications),
    next_notification_at: iso(combine.nextNotificationAt),
  };
}

export type Snapshot = ReturnType<typeof buildSnapshot>;

/**
 * Refunds whose processing time has passed on the sandbox clock are settled first, as every read of the
 * inspection endpoints does (a moved clock otherwise leaves them PROCESSING until the next query).
 */
export function buildSnapshot(sandbox: SandboxContext, refunds: Refunds, limit = DEFAULT_SNAPSHOT_LIMIT) {
  const newest = [...sandbox.state.orders.values()].slice(-limit).reverse();
  for (const order of newest) refunds.settleOrder(order);
  const now = sandbox.clock.now();
  return {
    clock: { now: new Date(now).toISOString(), offset_ms: sandbox.clock.offsetMs },
    time_scale: sandbox.config.timeScale,
    merchants: merchants(sandbox),
    faults: sandbox.faults.list(),
    orders: newest.map((order) => orderView(sandbox, order)),
    combines: listCombines(sandbox, limit).map((combine) => combineView(sandbox, combine)),
  };
}

import { randomBytes } from 'node:crypto';
import { formatWechatTime } from '@mp-pay/shared/wechatpay';
import type { SandboxContext } from '../context.ts';
import { sandboxBaseUrl } from '../http/base-url.ts';
import { applyExpiry, issueCodeUrl, issueMwebUrl, unpaidOrderStart } from '../pay/orders.ts';
import { reportedState } from '../refunds/status.ts';
import {
  BoundedMap,
  orderKey,
  type NotificationAttempt,
  type OrderRecord,
  type PaymentAttempt,
  type PrepayRecord,
  type TradeType,
} from '../state.ts';
import { checkCombine, type CombineBody, type CombineKind } from './combine-rules.ts';
import { paramError, v3Error, type V3Reply } from './reply.ts';
import type { V3Request } from './request.ts';
import { fromWechatTime, parseRfc3339 } from './time.ts';

/**
 * Combine (合单) payments, /v3/combine-transactions/* (docs/protocol.md §7 "Combine payments"). A combine is a
 * wrapper: each sub-order is an ordinary trade (OrderRecord) of its own merchant in the one trade store, so
 * the single-order query, refunds and bills see sub-orders like any other trade of that merchant. The combine
 * itself holds what only it has: the combine merchant and number, the prepay_ids, the payer, and the one
 * notification that covers every sub-order.
 */
export interface CombineRecord {
  /** `${combineMchId}:${combineOutTradeNo}`: combine_out_trade_no is unique per combine merchant. */
  key: string;
  kind: CombineKind;
  appId: string;
  /** combine_mchid: the merchant that placed it, queries and closes it, and receives its notification. */
  mchId: string;
  /** combine_out_trade_no. */
  outTradeNo: string;
  /** Every business field, canonical: a re-submission must match it. */
  fingerprint: string;
  notifyUrl: string;
  sceneInfo: Record<string, unknown> | undefined;
  /** combine_payer_info.openid (jsapi). */
  openid: string;
  /** Order keys of the sub-orders, in the order the merchant listed them. */
  subOrderKeys: string[];
  createdAt: number;
  expiresAt: number | undefined;
  prepayIds: string[];
  payments: PaymentAttempt[];
  notifications: NotificationAttempt[];
  nextNotificationAt?: number;
  /** The notification's id and create_time, the same on every retry and duplicate. */
  v3Notification?: { id: string; createTime: string };
}

interface CombineStore {
  combines: BoundedMap<string, CombineRecord>;
  /** Sub-order order key → combine key (inspection, and "is this out_trade_no taken by a combine?"). */
  bySubOrder: Map<string, string>;
}

/** Per running sandbox (tests run many), without touching the shared context: keyed by it. */
const stores = new WeakMap<SandboxContext, CombineStore>();

function store(sandbox: SandboxContext): CombineStore {
  let found = stores.get(sandbox);
  if (!found) {
    const bySubOrder = new Map<string, string>();
    const combines = new BoundedMap<string, CombineRecord>(sandbox.config.maxOrders, (_key, combine) => {
      for (const key of combine.subOrderKeys) bySubOrder.delete(key);
      for (const id of combine.prepayIds) sandbox.state.prepays.delete(id);
    });
    found = { combines, bySubOrder };
    stores.set(sandbox, found);
  }
  return found;
}

/** prepay_ids of combines point at `combine:<key>` instead of an order key. */
const PREPAY_PREFIX = 'combine:';

export function findCombine(
  sandbox: SandboxContext,
  mchId: string,
  outTradeNo: string,
): CombineRecord | undefined {
  return store(sandbox).combines.get(`${mchId}:${outTradeNo}`);
}

/** The combine a prepay_id pays, when it is a combine's. */
export function combineOfPrepay(sandbox: SandboxContext, prepay: PrepayRecord): CombineRecord | undefined {
  if (!prepay.orderKey.startsWith(PREPAY_PREFIX)) return undefined;
  return store(sandbox).combines.get(prepay.orderKey.slice(PREPAY_PREFIX.length));
}

/** The combine an order is a sub-order of. */
export function combineOfOrder(sandbox: SandboxContext, order: OrderRecord): CombineRecord | undefined {
  const key = store(sandbox).bySubOrder.get(order.key);
  return key === undefined ? undefined : store(sandbox).combines.get(key);
}

/** The newest combines first. */
export function listCombines(sandbox: SandboxContext, limit: number): CombineRecord[] {
  return [...store(sandbox).combines.values()].slice(-limit).reverse();
}

/** The sub-orders still in the trade store (a long-running sandbox may have evicted old ones), expiry applied. */
export function subOrdersOf(sandbox: SandboxContext, combine: CombineRecord): OrderRecord[] {
  const now = sandbox.clock.now();
  const orders: OrderRecord[] = [];
  for (const key of combine.subOrderKeys) {
    const order = sandbox.state.orders.get(key);
    if (!order) continue;
    applyExpiry(order, now);
    orders.push(order);
  }
  return orders;
}

const TRADE_TYPE: Record<CombineKind, TradeType> = {
  jsapi: 'JSAPI',
  app: 'APP',
  h5: 'MWEB',
  native: 'NATIVE',
};

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((k) => [k, canonical((value as Record<string, unknown>)[k])]),
  );
}

const fingerprintOf = (kind: CombineKind, combine: CombineBody) =>
  `combine:${kind}:${JSON.stringify(canonical(combine))}`;

/** POST /v3/combine-transactions/jsapi → {prepay_id}. */
export const combineJsapi = (req: V3Request, sandbox: SandboxContext) => place(req, sandbox, 'jsapi');
/** POST /v3/combine-transactions/app → {prepay_id}; combine_appid must be a mobile app's. */
export const combineApp = (req: V3Request, sandbox: SandboxContext) => place(req, sandbox, 'app');
/** POST /v3/combine-transactions/h5 → {h5_url}. */
export const combineH5 = (req: V3Request, sandbox: SandboxContext) => place(req, sandbox, 'h5');
/** POST /v3/combine-transactions/native → {code_url}. */
export const combineNative = (req: V3Request, sandbox: SandboxContext) => place(req, sandbox, 'native');

/** What a re-submitted combine's sub-orders say about it: paid (wholly or partly), closed/failed, or open. */
function combineState(orders: OrderRecord[]): 'paid' | 'closed' | 'open' {
  if (orders.some((o) => o.state === 'SUCCESS')) return 'paid';
  if (orders.some((o) => o.state !== 'NOTPAY')) return 'closed';
  return 'open';
}

function place(req: V3Request, sandbox: SandboxContext, kind: CombineKind): V3Reply {
  const now = sandbox.clock.now();
  const body = req.json;
  const combineMchid = body.combine_mchid;
  if (typeof combineMchid === 'string' && combineMchid !== req.account.mchId)
    return mchidMismatch(req, combineMchid);
  const combineNo = typeof body.combine_out_trade_no === 'string' ? body.combine_out_trade_no : undefined;
  const existing = combineNo === undefined ? undefined : findCombine(sandbox, req.account.mchId, combineNo);
  if (existing) {
    const state = combineState(subOrdersOf(sandbox, existing));
    if (state === 'paid') return v3Error(403, 'ORDER_PAID', '该订单已支付');
    if (state === 'closed') return v3Error(400, 'ORDER_CLOSED', '订单已关闭');
  }

  const checked = checkCombine(body, now, kind);
  if ('reply' in checked) return checked.reply;
  const placed = checked.combine;
  const appid = placed.combine_appid;
  if (!sandbox.accounts.app(appid) || !sandbox.accounts.bound(appid, req.account.mchId)) {
    return v3Error(400, 'APPID_MCHID_NOT_MATCH', 'appid和mch_id不匹配', {
      field: 'combine_appid',
      location: 'body',
      value: appid,
    });
  }
  if (kind === 'app' && sandbox.accounts.kind(appid) !== 'app') {
    return paramError(
      'combine_appid',
      'trade_type与appid不匹配: APP支付须使用移动应用(开放平台)的AppID',
      'body',
      appid,
    );
  }
  const openid = placed.combine_payer_info?.openid ?? '';
  if (kind === 'jsapi' && !sandbox.state.openids.has(`${appid}:${openid}`)) {
    return paramError(
      'combine_payer_info.openid',
      'appid和openid不匹配: the openid was not issued for combine_appid (jscode2session or OAuth of that app)',
      'body',
      openid,
    );
  }
  const combineKey = `${req.account.mchId}:${placed.combine_out_trade_no}`;
  for (const [i, sub] of placed.sub_orders.entries()) {
    const field = `sub_orders[${i}].mchid`;
    if (!sandbox.accounts.merchant(sub.mchid) || !sandbox.accounts.merchantV3(sub.mchid)) {
      return v3Error(400, 'MCH_NOT_EXISTS', '商户号不存在', { field, location: 'body', value: sub.mchid });
    }
    if (!sandbox.accounts.combineLinked(req.account.mchId, sub.mchid)) {
      return v3Error(403, 'NO_AUTH', '子单商户号与合单发起方商户号无合单关系', {
        field,
        location: 'body',
        value: sub.mchid,
        issue: `merchant ${sub.mchid} is not linked to combine merchant ${req.account.mchId} for combine payments`,
      });
    }
    if (!sandbox.accounts.bound(appid, sub.mchid)) {
      return v3Error(400, 'APPID_MCHID_NOT_MATCH', '子单商户号与合单appid无绑定关系', {
        field,
        location: 'body',
        value: sub.mchid,
      });
    }
    // Its out_trade_no must be new to its merchant: a single order or another combine's sub-order took it.
    const taken = sandbox.state.orders.get(orderKey(sub.mchid, sub.out_trade_no));
    if (taken && store(sandbox).bySubOrder.get(taken.key) !== combineKey) {
      return v3Error(403, 'OUT_TRADE_NO_USED', '商户订单号重复', {
        field: `sub_orders[${i}].out_trade_no`,
        location: 'body',
        value: sub.out_trade_no,
        issue: `merchant ${sub.mchid} already has an order ${sub.out_trade_no}: use a new out_trade_no`,
      });
    }
  }

  const fingerprint = fingerprintOf(kind, placed);
  let combine: CombineRecord;
  if (existing) {
    if (existing.fingerprint !== fingerprint) {
      return v3Error(403, 'OUT_TRADE_NO_USED', '商户订单号重复', {
        field: 'combine_out_trade_no',
        location: 'body',
        value: placed.combine_out_trade_no,
        issue: 'this combine_out_trade_no was placed before with other parameters: use a new one',
      });
    }
    combine = existing;
  } else {
    combine = create(sandbox, req.account.mchId, kind, placed, fingerprint, now);
  }

  const prepay = issueCombinePrepay(sandbox, combine, req.auth.signature);
  if (kind === 'h5')
    return { status: 200, body: { h5_url: issueMwebUrl(prepay, sandboxBaseUrl(sandbox, req.ctx)) } };
  if (kind === 'native') return { status: 200, body: { code_url: issueCodeUrl(sandbox, prepay) } };
  return { status: 200, body: { prepay_id: prepay.prepayId } };
}

function create(
  sandbox: SandboxContext,
  mchId: string,
  kind: CombineKind,
  placed: CombineBody,
  fingerprint: string,
  now: number,
): CombineRecord {
  const expiresAt = placed.time_expire === undefined ? undefined : parseRfc3339(placed.time_expire);
  const openid = placed.combine_payer_info?.openid ?? '';
  const combine: CombineRecord = {
    key: `${mchId}:${placed.combine_out_trade_no}`,
    kind,
    appId: placed.combine_appid,
    mchId,
    outTradeNo: placed.combine_out_trade_no,
    fingerprint,
    notifyUrl: placed.notify_url,
    sceneInfo: placed.scene_info,
    openid,
    subOrderKeys: [],
    createdAt: now,
    expiresAt,
    prepayIds: [],
    payments: [],
    notifications: [],
  };
  const { combines, bySubOrder } = store(sandbox);
  combines.set(combine.key, combine);
  const clientIp = placed.scene_info?.payer_client_ip;
  for (const sub of placed.sub_orders) {
    const order: OrderRecord = {
      key: orderKey(sub.mchid, sub.out_trade_no),
      api: 'v3',
      appId: placed.combine_appid,
      mchId: sub.mchid,
      outTradeNo: sub.out_trade_no,
      // Never equal to a single order's fingerprint: the same out_trade_no placed alone is OUT_TRADE_NO_USED.
      fingerprint: `${fingerprint}#${sub.out_trade_no}`,
      body: sub.description,
      totalFee: sub.amount.total_amount,
      feeType: sub.amount.currency,
      openid,
      attach: sub.attach,
      notifyUrl: placed.notify_url,
      tradeType: TRADE_TYPE[kind],
      ...(placed.scene_info === undefined ? {} : { sceneInfo: JSON.stringify(placed.scene_info) }),
      ...(typeof clientIp === 'string' ? { clientIp } : {}),
      signType: 'RSA',
      createdAt: now,
      expiresAt,
      ...unpaidOrderStart(),
    };
    sandbox.state.orders.set(order.key, order);
    bySubOrder.set(order.key, combine.key);
    combine.subOrderKeys.push(order.key);
  }
  return combine;
}

const MAX_PREPAY_IDS = 50;

/** A prepay_id (2 hours) for the whole combine, shaped like a single order's. */
function issueCombinePrepay(
  sandbox: SandboxContext,
  combine: CombineRecord,
  requestSign: string,
): PrepayRecord {
  const now = sandbox.clock.now();
  const record: PrepayRecord = {
    prepayId: `wx${formatWechatTime(new Date(now))}${randomBytes(11).toString('hex')}`,
    orderKey: `${PREPAY_PREFIX}${combine.key}`,
    signType: 'RSA',
    issuedAt: now,
    expiresAt: now + sandbox.config.prepayTtlMs,
    orderSigns: [requestSign],
  };
  sandbox.state.prepays.set(record.prepayId, record);
  combine.prepayIds.push(record.prepayId);
  for (const forgotten of combine.prepayIds.splice(0, combine.prepayIds.length - MAX_PREPAY_IDS)) {
    sandbox.state.prepays.delete(forgotten);
  }
  return record;
}

function mchidMismatch(req: V3Request, mchid: string): V3Reply {
  return paramError(
    'combine_mchid',
    `combine_mchid ${mchid}与Authorization中的mchid ${req.account.mchId}不一致: the combine merchant signs the request`,
    'body',
    mchid,
  );
}

const ORDER_NOT_EXIST = v3Error(404, 'ORDER_NOT_EXIST', '订单不存在');

/** The combine the path names, for the merchant that signed (another merchant's combine does not exist for it). */
function pathCombine(req: V3Request, sandbox: SandboxContext): CombineRecord | undefined {
  return findCombine(sandbox, req.account.mchId, String(req.ctx.params.combine_out_trade_no ?? ''));
}

type Settle = (order: OrderRecord) => void;

/** GET /v3/combine-transactions/out-trade-no/{combine_out_trade_no} → the combine, each sub-order's state. */
export function queryCombine(settle: Settle = () => {}) {
  return (req: V3Request, sandbox: SandboxContext): V3Reply => {
    const combine = pathCombine(req, sandbox);
    if (!combine) return ORDER_NOT_EXIST;
    const orders = subOrdersOf(sandbox, combine);
    if (orders.length !== combine.subOrderKeys.length) return ORDER_NOT_EXIST;
    for (const order of orders) settle(order);
    return { status: 200, body: combineJson(combine, orders, 'query') };
  };
}

/**
 * POST /v3/combine-transactions/out-trade-no/{combine_out_trade_no}/close {combine_appid, sub_orders} → 204.
 * Every sub-order must be listed; a paid one refuses the whole close (403 ORDER_PAID); closing a closed combine
 * is 204 again; younger than closeMinAgeMs, 400 INVALID_REQUEST as for single orders.
 */
export function closeCombine(req: V3Request, sandbox: SandboxContext): V3Reply {
  const body = req.json;
  const appid = body.combine_appid;
  if (appid === undefined || appid === '') {
    return paramError(
      'combine_appid',
      '输入源“/body/combine_appid”映射到字段“合单商户appid”必填性规则校验失败，此字段为必填项',
    );
  }
  if (typeof appid !== 'string')
    return paramError('combine_appid', 'combine_appid参数格式错误: must be a string', 'body', appid);
  const subs = body.sub_orders;
  if (!Array.isArray(subs) || subs.length === 0) {
    return paramError(
      'sub_orders',
      '输入源“/body/sub_orders”映射到字段“子单信息”必填性规则校验失败，此字段为必填项',
    );
  }
  const listed: string[] = [];
  for (const [i, sub] of subs.entries()) {
    const mchid = (sub as Record<string, unknown> | null)?.mchid;
    const no = (sub as Record<string, unknown> | null)?.out_trade_no;
    if (typeof mchid !== 'string' || typeof no !== 'string' || !mchid || !no) {
      return paramError(
        `sub_orders[${i}]`,
        `sub_orders[${i}]参数格式错误: {mchid, out_trade_no}, both strings`,
        'body',
        sub,
      );
    }
    listed.push(orderKey(mchid, no));
  }
  const combine = pathCombine(req, sandbox);
  if (!combine) return ORDER_NOT_EXIST;
  if (appid !== combine.appId) {
    return v3Error(400, 'APPID_MCHID_NOT_MATCH', 'combine_appid与合单下单时的appid不一致', {
      field: 'combine_appid',
      location: 'body',
      value: appid,
    });
  }
  const expected = [...combine.subOrderKeys].sort();
  const given = [...new Set(listed)].sort();
  if (listed.length !== given.length || given.join('\n') !== expected.join('\n')) {
    return paramError(
      'sub_orders',
      'sub_orders参数格式错误: list every sub-order of the combine, each once, as {mchid, out_trade_no}',
      'body',
    );
  }
  const orders = subOrdersOf(sandbox, combine);
  if (orders.length !== combine.subOrderKeys.length) return ORDER_NOT_EXIST;
  if (orders.some((o) => o.state === 'SUCCESS'))
    return v3Error(403, 'ORDER_PAID', '订单已支付，不能发起关单');
  if (orders.every((o) => o.state === 'CLOSED')) return { status: 204 };
  const age = sandbox.clock.now() - combine.createdAt;
  if (age < sandbox.config.closeMinAgeMs) {
    const minutes = Math.ceil(sandbox.config.closeMinAgeMs / 60_000);
    return v3Error(400, 'INVALID_REQUEST', `订单生成后${minutes}分钟内不能关单，请稍后再试`);
  }
  for (const order of orders) {
    order.state = 'CLOSED';
    order.closedBy = 'merchant';
  }
  return { status: 204 };
}

/**
 * The combine as APIv3 shows it: the query reply (`query`: a refunded sub-order reads REFUND) and the decrypted
 * notification resource (`notification`: the payment as it was). `forgeAmount` breaks the first paid
 * sub-order's total_amount for the wrong-amount forgery.
 */
export function combineJson(
  combine: CombineRecord,
  orders: OrderRecord[],
  use: 'query' | 'notification',
  forgeAmount = false,
): Record<string, unknown> {
  let forged = !forgeAmount;
  const deviceId = combine.sceneInfo?.device_id;
  return {
    combine_appid: combine.appId,
    combine_mchid: combine.mchId,
    combine_out_trade_no: combine.outTradeNo,
    ...(typeof deviceId === 'string' ? { scene_info: { device_id: deviceId } } : {}),
    sub_orders: orders.map((order) => {
      const paid = order.state === 'SUCCESS';
      let total = order.totalFee;
      if (paid && !forged) {
        total = total === 1 ? 2 : 1;
        forged = true;
      }
      return {
        mchid: order.mchId,
        trade_type: order.tradeType,
        trade_state: use === 'query' ? reportedState(order) : order.state,
        ...(paid ? { bank_type: order.bankType } : {}),
        attach: order.attach ?? '',
        ...(paid && order.timeEnd ? { success_time: fromWechatTime(order.timeEnd) } : {}),
        ...(paid ? { transaction_id: order.transactionId } : {}),
        out_trade_no: order.outTradeNo,
        amount: {
          total_amount: total,
          ...(paid ? { payer_amount: forgeAmount ? total : (order.cashFee ?? total) } : {}),
          currency: order.feeType,
          ...(paid ? { payer_currency: order.feeType } : {}),
        },
      };
    }),
    ...(combine.openid ? { combine_payer_info: { openid: combine.openid } } : {}),
  };
}

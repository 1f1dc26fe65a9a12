import type { SandboxContext } from '../context.ts';
import { sandboxBaseUrl } from '../http/base-url.ts';
import {
  findOrder,
  issueCodeUrl,
  issueMwebUrl,
  issuePrepayId,
  TRADE_STATE_DESC,
  unpaidOrderStart,
} from '../pay/orders.ts';
import { reportedState } from '../refunds/status.ts';
import { orderKey, type OrderRecord, type ReportedTradeState, type TradeType } from '../state.ts';
import { paramError, v3Error, type V3Reply } from './reply.ts';
import type { V3Request } from './request.ts';
import { checkV3Order, type V3Order, type V3OrderKind } from './rules.ts';
import { fromWechatTime, parseRfc3339 } from './time.ts';

const ORDER_NOT_EXIST = v3Error(404, 'ORDER_NOT_EXIST', '订单不存在');

/** What makes two v3 submissions the same order: every business field, in a canonical form. */
function fingerprint(order: V3Order): string {
  const canonical = (value: unknown): unknown =>
    value !== null && typeof value === 'object'
      ? Object.fromEntries(
          Object.keys(value)
            .sort()
            .map((k) => [k, canonical((value as Record<string, unknown>)[k])]),
        )
      : value;
  return `v3:${JSON.stringify(canonical(order))}`;
}

/** The merchant in the body or query must be the one that signed (Authorization mchid). */
function mchidMismatch(req: V3Request, mchid: string, location: 'body' | 'query'): V3Reply | undefined {
  if (mchid === req.account.mchId) return undefined;
  return paramError(
    'mchid',
    `mchid ${mchid}与Authorization中的mchid ${req.account.mchId}不一致: the merchant that signs must be the one in the ${location}`,
    location,
    mchid,
  );
}

const TRADE_TYPE: Record<V3OrderKind, TradeType> = {
  jsapi: 'JSAPI',
  app: 'APP',
  h5: 'MWEB',
  native: 'NATIVE',
};

/**
 * POST /v3/pay/transactions/jsapi → 200 {prepay_id}. The same out_trade_no again: unchanged and unpaid → a
 * fresh prepay_id, changed → 403 OUT_TRADE_NO_USED, paid → 403 ORDER_PAID, closed or expired → 400 ORDER_CLOSED.
 * Orders share the one trade store with v2: an out_trade_no placed with unifiedorder is "changed" here.
 */
export const jsapi = (req: V3Request, sandbox: SandboxContext): V3Reply => place(req, sandbox, 'jsapi');
/** POST /v3/pay/transactions/app → 200 {prepay_id}; the appid must be a mobile app's. */
export const app = (req: V3Request, sandbox: SandboxContext): V3Reply => place(req, sandbox, 'app');
/** POST /v3/pay/transactions/h5 → 200 {h5_url} (5 minutes); scene_info.payer_client_ip and h5_info.type required. */
export const h5 = (req: V3Request, sandbox: SandboxContext): V3Reply => place(req, sandbox, 'h5');
/** POST /v3/pay/transactions/native → 200 {code_url} (2 hours). */
export const native = (req: V3Request, sandbox: SandboxContext): V3Reply => place(req, sandbox, 'native');

function place(req: V3Request, sandbox: SandboxContext, kind: V3OrderKind): V3Reply {
  const now = sandbox.clock.now();
  const body = req.json;
  const mchid = typeof body.mchid === 'string' ? body.mchid : undefined;
  if (mchid !== undefined) {
    const mismatch = mchidMismatch(req, mchid, 'body');
    if (mismatch) return mismatch;
  }
  const outTradeNo = typeof body.out_trade_no === 'string' ? body.out_trade_no : undefined;
  const existing = outTradeNo === undefined ? undefined : findOrder(sandbox, req.account.mchId, outTradeNo);
  if (existing?.state === 'SUCCESS') return v3Error(403, 'ORDER_PAID', '该订单已支付');
  if (existing && existing.state !== 'NOTPAY') return v3Error(400, 'ORDER_CLOSED', '订单已关闭');

  const checked = checkV3Order(body, now, kind);
  if ('reply' in checked) return checked.reply;
  const placed = checked.order;
  if (!sandbox.accounts.app(placed.appid) || !sandbox.accounts.bound(placed.appid, req.account.mchId)) {
    return v3Error(400, 'APPID_MCHID_NOT_MATCH', 'appid和mch_id不匹配', {
      field: 'appid',
      location: 'body',
      value: placed.appid,
    });
  }
  if (kind === 'app' && sandbox.accounts.kind(placed.appid) !== 'app') {
    return paramError(
      'appid',
      'trade_type与appid不匹配: APP支付须使用移动应用(开放平台)的AppID',
      'body',
      placed.appid,
    );
  }
  const openid = placed.payer?.openid ?? '';
  if (kind === 'jsapi' && !sandbox.state.openids.has(`${placed.appid}:${openid}`)) {
    return paramError(
      'payer.openid',
      'appid和openid不匹配: the openid was not issued for this appid (jscode2session or OAuth of that app)',
      'body',
      openid,
    );
  }

  let order: OrderRecord;
  if (existing) {
    if (existing.fingerprint !== fingerprint(placed)) {
      return v3Error(403, 'OUT_TRADE_NO_USED', '商户订单号重复', {
        field: 'out_trade_no',
        location: 'body',
        value: placed.out_trade_no,
        issue: 'this out_trade_no was placed before with other parameters: use a new out_trade_no',
      });
    }
    order = existing;
  } else {
    order = {
      key: orderKey(req.account.mchId, placed.out_trade_no),
      api: 'v3',
      appId: placed.appid,
      mchId: req.account.mchId,
      outTradeNo: placed.out_trade_no,
      fingerprint: fingerprint(placed),
      body: placed.description,
      totalFee: placed.amount.total,
      feeType: placed.amount.currency,
      openid,
      attach: placed.attach,
      notifyUrl: placed.notify_url,
      tradeType: TRADE_TYPE[kind],
      ...(placed.scene_info === undefined ? {} : { sceneInfo: JSON.stringify(placed.scene_info) }),
      ...(kind === 'h5' ? { clientIp: String(placed.scene_info?.payer_client_ip) } : {}),
      signType: 'RSA',
      createdAt: now,
      expiresAt: placed.time_expire === undefined ? undefined : parseRfc3339(placed.time_expire),
      ...unpaidOrderStart(),
    };
    sandbox.state.orders.set(order.key, order);
  }
  const prepay = issuePrepayId(sandbox, order, req.auth.signature);
  if (kind === 'h5') {
    return { status: 200, body: { h5_url: issueMwebUrl(prepay, sandboxBaseUrl(sandbox, req.ctx)) } };
  }
  if (kind === 'native') return { status: 200, body: { code_url: issueCodeUrl(sandbox, prepay) } };
  return { status: 200, body: { prepay_id: prepay.prepayId } };
}

/** The mchid query parameter of the two query APIs: required, and the signing merchant's. */
function queryMchid(req: V3Request): V3Reply | undefined {
  const mchid = req.ctx.query.mchid;
  if (typeof mchid !== 'string' || mchid === '') {
    return paramError(
      'mchid',
      '输入源“/query/mchid”映射到字段“直连商户号”必填性规则校验失败，此字段为必填项',
      'query',
    );
  }
  return mchidMismatch(req, mchid, 'query');
}

type Settle = (order: OrderRecord) => void;

/** A query's answer: trade_state REFUND once a refund succeeded (`settle` first updates the refunds). */
function queried(order: OrderRecord | undefined, settle: Settle): V3Reply {
  if (!order) return ORDER_NOT_EXIST;
  settle(order);
  return { status: 200, body: transactionJson(order, undefined, reportedState(order)) };
}

/** GET /v3/pay/transactions/out-trade-no/{out_trade_no}?mchid= → the transaction. */
export function queryByOutTradeNo(
  req: V3Request,
  sandbox: SandboxContext,
  settle: Settle = () => {},
): V3Reply {
  const bad = queryMchid(req);
  if (bad) return bad;
  return queried(findOrder(sandbox, req.account.mchId, String(req.ctx.params.out_trade_no ?? '')), settle);
}

/** GET /v3/pay/transactions/id/{transaction_id}?mchid=: only paid orders have one. */
export function queryById(req: V3Request, sandbox: SandboxContext, settle: Settle = () => {}): V3Reply {
  const bad = queryMchid(req);
  if (bad) return bad;
  const key = sandbox.state.transactions.get(String(req.ctx.params.transaction_id ?? ''));
  const prefix = `${req.account.mchId}:`;
  if (!key?.startsWith(prefix)) return ORDER_NOT_EXIST;
  return queried(findOrder(sandbox, req.account.mchId, key.slice(prefix.length)), settle);
}

/**
 * POST /v3/pay/transactions/out-trade-no/{out_trade_no}/close {mchid} → 204. Closing a closed order is 204 again
 * (idempotent); a paid one is 403 ORDER_PAID; younger than closeMinAgeMs, 400 INVALID_REQUEST as in v2.
 */
export function close(req: V3Request, sandbox: SandboxContext): V3Reply {
  const mchid = req.json.mchid;
  if (mchid === undefined || mchid === '') {
    return paramError('mchid', '输入源“/body/mchid”映射到字段“直连商户号”必填性规则校验失败，此字段为必填项');
  }
  if (typeof mchid !== 'string')
    return paramError('mchid', 'mchid参数格式错误: must be a string', 'body', mchid);
  const mismatch = mchidMismatch(req, mchid, 'body');
  if (mismatch) return mismatch;
  const order = findOrder(sandbox, req.account.mchId, String(req.ctx.params.out_trade_no ?? ''));
  if (!order) return ORDER_NOT_EXIST;
  if (order.state === 'SUCCESS') return v3Error(403, 'ORDER_PAID', '订单已支付，不能发起关单');
  if (order.state === 'CLOSED') return { status: 204 };
  const age = sandbox.clock.now() - order.createdAt;
  if (order.state === 'NOTPAY' && age < sandbox.config.closeMinAgeMs) {
    const minutes = Math.ceil(sandbox.config.closeMinAgeMs / 60_000);
    return v3Error(400, 'INVALID_REQUEST', `订单生成后${minutes}分钟内不能关单，请稍后再试`);
  }
  order.state = 'CLOSED';
  order.closedBy = 'merchant';
  return { status: 204 };
}

/**
 * The transaction as APIv3 shows it (query replies and the decrypted notification resource). An unpaid order
 * has no transaction_id, payer, bank_type or success_time yet. `state` is what to report: queries pass REFUND
 * once a refund succeeded; notifications report the payment as it was.
 */
export function transactionJson(
  order: OrderRecord,
  totalOverride?: number,
  state: ReportedTradeState = order.state,
): Record<string, unknown> {
  const paid = order.state === 'SUCCESS';
  const total = totalOverride ?? order.totalFee;
  return {
    appid: order.appId,
    mchid: order.mchId,
    out_trade_no: order.outTradeNo,
    ...(paid ? { transaction_id: order.transactionId } : {}),
    trade_type: order.tradeType,
    trade_state: state,
    trade_state_desc: TRADE_STATE_DESC[state],
    ...(paid ? { bank_type: order.bankType } : {}),
    ...(order.attach === undefined ? {} : { attach: order.attach }),
    ...(paid && order.timeEnd ? { success_time: fromWechatTime(order.timeEnd) } : {}),
    ...(paid ? { payer: { openid: order.openid } } : {}),
    amount: {
      total,
      ...(paid ? { payer_total: totalOverride ?? order.cashFee ?? total } : {}),
      currency: order.feeType,
      payer_currency: order.feeType,
    },
  };
}

import { OUT_REFUND_NO_RE } from '@mp-pay/shared/wechatpay';
import type { SandboxContext } from '../context.ts';
import { findOrder } from '../pay/orders.ts';
import type { OrderRecord, RefundRecord } from '../state.ts';
import { missingField, paramError, v3Error, type V3Reply } from '../v3/reply.ts';
import type { V3Request } from '../v3/request.ts';
import { checkNotifyUrl } from '../v3/rules.ts';
import { beijingRfc3339 } from '../v3/time.ts';
import type { RefundProblem, Refunds } from './core.ts';
import { V3_REFUND_STATUS } from './status.ts';

/**
 * APIv3 refunds (docs/protocol.md §8 "v3 refunds"): `POST /v3/refund/domestic/refunds` and
 * `GET /v3/refund/domestic/refunds/{out_refund_no}`, on the same rules as v2 (core.ts), in v3 words.
 */

const ORDER_NOT_EXIST = v3Error(404, 'RESOURCE_NOT_EXISTS', '订单不存在');

function problemReply(problem: RefundProblem): V3Reply {
  const invalid = (message: string, detail?: Record<string, unknown>) =>
    v3Error(400, 'INVALID_REQUEST', message, detail);
  switch (problem.kind) {
    case 'mismatch':
      return invalid('订单金额或退款金额与之前请求不一致，请核实后再试', {
        field: 'out_refund_no',
        location: 'body',
        issue:
          'this out_refund_no was used before with another order or amount: resend the same request, or use a new out_refund_no for a new refund',
      });
    case 'total-mismatch':
      return invalid('订单金额或退款金额与之前请求不一致，请核实后再试', {
        field: 'amount.total',
        location: 'body',
        issue: 'amount.total must be the total the order was paid with',
      });
    case 'not-paid':
      return invalid('订单状态错误: 订单未支付，不能退款');
    case 'overdue':
      return invalid('订单已超过退款期限');
    case 'fully-refunded':
      return invalid('订单已全额退款');
    case 'over-refund':
      return invalid(`申请退款金额超过订单可退金额: ${problem.refundable} fen can still be refunded`);
    case 'too-many':
      return invalid('退款次数超过限制: at most 50 refunds per payment');
    case 'too-frequent':
      return v3Error(
        429,
        'FREQUENCY_LIMITED',
        `频率限制: 同一笔订单多次退款的请求需相隔1分钟 (retry in ${Math.ceil(problem.waitMs / 1000)} s, same out_refund_no)`,
      );
    case 'not-enough':
      return v3Error(403, 'NOT_ENOUGH', '余额不足');
  }
}

const isFen = (value: unknown): value is number =>
  typeof value === 'number' && Number.isInteger(value) && value > 0 && value <= 99_999_999_999;

interface RefundBody {
  outRefundNo: string;
  outTradeNo?: string;
  transactionId?: string;
  reason?: string;
  notifyUrl?: string;
  refund: number;
  total: number;
}

/** The request body's rules; every failure is a 400 PARAM_ERROR naming the field. */
function checkBody(body: Record<string, unknown>): { ok: RefundBody } | { reply: V3Reply } {
  const bad = (field: string, why: string, value?: unknown) => ({
    reply: paramError(field, `${field}参数格式错误: ${why}`, 'body', value),
  });
  for (const field of ['out_refund_no', 'out_trade_no', 'transaction_id', 'reason', 'notify_url']) {
    const value = body[field];
    if (value !== undefined && typeof value !== 'string') return bad(field, 'must be a string', value);
  }
  const outRefundNo = body.out_refund_no as string | undefined;
  if (!outRefundNo) return { reply: missingField('out_refund_no', '商户退款单号') };
  if (!OUT_REFUND_NO_RE.test(outRefundNo)) {
    return bad('out_refund_no', '1-64 characters of [0-9A-Za-z_-|*@]', outRefundNo);
  }
  const transactionId = (body.transaction_id as string | undefined) || undefined;
  const outTradeNo = (body.out_trade_no as string | undefined) || undefined;
  if (!transactionId && !outTradeNo) {
    return {
      reply: paramError('out_trade_no', 'transaction_id和out_trade_no必须二选一进行传参', 'body'),
    };
  }
  const reason = body.reason as string | undefined;
  if (reason !== undefined && [...reason].length > 80) return bad('reason', 'at most 80 characters', reason);
  const notifyUrl = (body.notify_url as string | undefined) || undefined;
  if (notifyUrl !== undefined) {
    const problem = checkNotifyUrl(notifyUrl);
    if (problem) return bad('notify_url', problem, notifyUrl);
  }
  const amount = body.amount;
  if (amount === undefined || amount === null) return { reply: missingField('amount', '金额信息') };
  if (typeof amount !== 'object' || Array.isArray(amount)) return bad('amount', 'must be an object');
  const { refund, total, currency } = amount as Record<string, unknown>;
  if (refund === undefined) return { reply: missingField('amount.refund', '退款金额') };
  if (total === undefined) return { reply: missingField('amount.total', '原订单金额') };
  if (currency === undefined) return { reply: missingField('amount.currency', '退款币种') };
  if (!isFen(refund)) return bad('amount.refund', 'a positive integer number of fen, a JSON number', refund);
  if (!isFen(total)) return bad('amount.total', 'a positive integer number of fen, a JSON number', total);
  if (currency !== 'CNY') return bad('amount.currency', 'only CNY', currency);
  if (refund > total) {
    return { reply: paramError('amount.refund', '退款金额不能大于原订单金额', 'body', refund) };
  }
  return {
    ok: {
      outRefundNo,
      refund,
      total,
      ...(outTradeNo === undefined ? {} : { outTradeNo }),
      ...(transactionId === undefined ? {} : { transactionId }),
      ...(reason === undefined ? {} : { reason }),
      ...(notifyUrl === undefined ? {} : { notifyUrl }),
    },
  };
}

/** POST /v3/refund/domestic/refunds → 200, the refund (PROCESSING, or as it stands when re-submitted). */
export function createRefund(refunds: Refunds) {
  return (req: V3Request, sandbox: SandboxContext): V3Reply => {
    const checked = checkBody(req.json);
    if ('reply' in checked) return checked.reply;
    const body = checked.ok;
    const mchId = req.account.mchId;
    let order: OrderRecord | undefined;
    if (body.transactionId !== undefined) {
      const key = sandbox.state.transactions.get(body.transactionId);
      const prefix = `${mchId}:`;
      order = key?.startsWith(prefix) ? findOrder(sandbox, mchId, key.slice(prefix.length)) : undefined;
    } else {
      order = findOrder(sandbox, mchId, body.outTradeNo as string);
    }
    if (!order) return ORDER_NOT_EXIST;
    const outcome = refunds.request({
      api: 'v3',
      appId: order.appId,
      mchId,
      order,
      outRefundNo: body.outRefundNo,
      totalFee: body.total,
      refundFee: body.refund,
      reason: body.reason,
      notifyUrl: body.notifyUrl,
    });
    if ('problem' in outcome) return problemReply(outcome.problem);
    return { status: 200, body: refundJson(outcome.refund, order) };
  };
}

/** GET /v3/refund/domestic/refunds/{out_refund_no} → the refund as it stands. */
export function queryRefund(refunds: Refunds) {
  return (req: V3Request): V3Reply => {
    const refund = refunds.find(req.account.mchId, String(req.ctx.params.out_refund_no ?? ''));
    const order = refund && refunds.orderOf(refund);
    if (!refund || !order) return v3Error(404, 'RESOURCE_NOT_EXISTS', '退款单不存在');
    refunds.settle(refund);
    return { status: 200, body: refundJson(refund, order) };
  };
}

/** The refund as APIv3 shows it in the create and query replies. */
export function refundJson(refund: RefundRecord, order: OrderRecord): Record<string, unknown> {
  const settlementTotal = Number(order.paidExtras.settlement_total_fee ?? order.totalFee);
  return {
    refund_id: refund.refundId,
    out_refund_no: refund.outRefundNo,
    transaction_id: refund.transactionId,
    out_trade_no: refund.outTradeNo,
    channel: 'ORIGINAL',
    user_received_account: refund.recvAccount,
    ...(refund.successAt === undefined ? {} : { success_time: beijingRfc3339(refund.successAt) }),
    create_time: beijingRfc3339(refund.createdAt),
    status: V3_REFUND_STATUS[refund.status],
    funds_account: 'UNSETTLED',
    amount: {
      total: refund.totalFee,
      refund: refund.refundFee,
      from: [],
      payer_total: order.cashFee ?? refund.totalFee,
      payer_refund: refund.cashRefundFee,
      settlement_refund: refund.settlementRefundFee,
      settlement_total: settlementTotal,
      discount_refund: refund.refundFee - refund.cashRefundFee,
      currency: refund.feeType,
      refund_fee: 0,
    },
    promotion_detail: [],
  };
}

import { OUT_REFUND_NO_RE, returnFailXml } from '@mp-pay/shared/wechatpay';
import type { SandboxContext } from '../context.ts';
import { resultFailXml, signedXml } from '../http/xml-reply.ts';
import { findOrder } from '../pay/orders.ts';
import type { PayRequest } from '../pay/request.ts';
import { checkNotifyUrl } from '../pay/rules.ts';
import type { OrderRecord, RefundRecord } from '../state.ts';
import type { RefundProblem, Refunds } from './core.ts';
import { refundTime } from './notification.ts';

/**
 * APIv2 refunds (docs/protocol.md §6, §8): `POST /secapi/pay/refund` (served on the mutual-TLS listener only)
 * and `POST /pay/refundquery`. The transport checks (XML, signature, merchant, appid) are payEndpoint's, as for
 * the other v2 calls.
 */
export const REFUND_REQUIRED = ['out_refund_no', 'total_fee', 'refund_fee'] as const;

const FEE_RE = /^[1-9]\d{0,9}$/;
/** refundquery lists this many refunds per reply; `offset` pages. */
const PAGE = 10;

/** Each refusal in WeChat's words: err_code and err_code_des (the observed ones where WeChat documents none). */
function problemReply(problem: RefundProblem): [string, string] {
  switch (problem.kind) {
    case 'mismatch':
    case 'total-mismatch':
      return ['REFUND_FEE_MISMATCH', '订单金额或退款金额与之前请求不一致，请核实后再试'];
    case 'not-paid':
      return ['ERROR', '订单状态错误: 订单未支付，不能退款'];
    case 'overdue':
      return ['TRADE_OVERDUE', '订单已经超过退款期限'];
    case 'fully-refunded':
      return ['ERROR', '订单已全额退款'];
    case 'over-refund':
      return ['INVALID_REQUEST', `refund_fee大于可退金额: ${problem.refundable} fen can still be refunded`];
    case 'too-many':
      return ['ERROR', '退款次数超过限制: at most 50 refunds per payment'];
    case 'too-frequent':
      return [
        'FREQUENCY_LIMITED',
        `频率限制: 同一笔订单多次退款的请求需相隔1分钟 (retry in ${Math.ceil(problem.waitMs / 1000)} s, same out_refund_no)`,
      ];
    case 'not-enough':
      return ['NOTENOUGH', '基本账户余额不足，请充值后重新发起'];
  }
}

/** The order a v2 call names: transaction_id first (as WeChat documents), else out_trade_no. */
function orderOf(
  sandbox: SandboxContext,
  req: PayRequest,
): { order: OrderRecord } | { errCode: string; des: string } | { missing: true } {
  const { raw, account } = req;
  if (raw.transaction_id) {
    const key = sandbox.state.transactions.get(raw.transaction_id);
    const prefix = `${account.mchId}:`;
    const order = key?.startsWith(prefix)
      ? findOrder(sandbox, account.mchId, key.slice(prefix.length))
      : undefined;
    return order ? { order } : { errCode: 'INVALID_TRANSACTIONID', des: '无效transaction_id' };
  }
  if (!raw.out_trade_no) return { missing: true };
  const order = findOrder(sandbox, account.mchId, raw.out_trade_no);
  return order ? { order } : { errCode: 'ORDERNOTEXIST', des: '订单不存在' };
}

/** POST /secapi/pay/refund. A success means "accepted": the refund is PROCESSING until its outcome. */
export function refundHandler(refunds: Refunds) {
  return (req: PayRequest, sandbox: SandboxContext): string => {
    const { raw, account, signType, appid } = req;
    const fail = (errCode: string, des: string) => resultFailXml(account, signType, appid, errCode, des);
    if (!FEE_RE.test(raw.total_fee ?? '')) return returnFailXml('invalid total_fee');
    if (!FEE_RE.test(raw.refund_fee ?? '')) return returnFailXml('invalid refund_fee');
    const totalFee = Number(raw.total_fee);
    const refundFee = Number(raw.refund_fee);
    // WeChat refuses a refund larger than the order before looking at anything else, unsigned.
    if (refundFee > totalFee) return returnFailXml('invalid refund_fee');
    const outRefundNo = raw.out_refund_no as string;
    if (!OUT_REFUND_NO_RE.test(outRefundNo)) {
      return fail('PARAM_ERROR', 'out_refund_no参数格式错误: 1-64 characters of [0-9A-Za-z_-|*@]');
    }
    if (raw.refund_fee_type !== undefined && raw.refund_fee_type !== 'CNY') {
      return fail('PARAM_ERROR', 'refund_fee_type参数格式错误: only CNY');
    }
    if (raw.refund_desc !== undefined && [...raw.refund_desc].length > 80) {
      return fail('PARAM_ERROR', 'refund_desc参数长度有误: at most 80 characters');
    }
    if (raw.notify_url !== undefined) {
      const problem =
        Buffer.byteLength(raw.notify_url) > 256 ? 'at most 256 bytes' : checkNotifyUrl(raw.notify_url);
      if (problem) return fail('PARAM_ERROR', `notify_url参数格式错误: ${problem}`);
    }
    const found = orderOf(sandbox, req);
    if ('missing' in found) return returnFailXml('缺少参数out_trade_no或transaction_id');
    if ('errCode' in found) return fail(found.errCode, found.des);

    const outcome = refunds.request({
      api: 'v2',
      appId: appid,
      mchId: account.mchId,
      order: found.order,
      outRefundNo,
      totalFee,
      refundFee,
      reason: raw.refund_desc,
      notifyUrl: raw.notify_url,
    });
    if ('problem' in outcome) return fail(...problemReply(outcome.problem));
    const { refund } = outcome;
    const settlementTotal = found.order.paidExtras.settlement_total_fee;
    return signedXml(account, signType, {
      appid,
      result_code: 'SUCCESS',
      transaction_id: refund.transactionId,
      out_trade_no: refund.outTradeNo,
      out_refund_no: refund.outRefundNo,
      refund_id: refund.refundId,
      refund_fee: refund.refundFee,
      ...(settlementTotal === undefined
        ? {}
        : { settlement_refund_fee: refund.settlementRefundFee, settlement_total_fee: settlementTotal }),
      total_fee: refund.totalFee,
      fee_type: refund.feeType,
      cash_fee: found.order.cashFee ?? refund.totalFee,
      cash_refund_fee: refund.cashRefundFee,
    });
  };
}

/**
 * POST /pay/refundquery by refund_id, out_refund_no, transaction_id or out_trade_no (that priority when several
 * are given). One refund for the first two; the order's refunds for the others, 10 from `offset`.
 */
export function refundQueryHandler(refunds: Refunds) {
  return (req: PayRequest, sandbox: SandboxContext): string => {
    const { raw, account, signType, appid } = req;
    const fail = (errCode: string, des: string) => resultFailXml(account, signType, appid, errCode, des);
    const notExist = () => fail('REFUNDNOTEXIST', '退款订单查询失败: no refund matches');
    if (raw.offset !== undefined && !/^\d{1,3}$/.test(raw.offset)) {
      return fail('PARAM_ERROR', 'offset参数格式错误: a non-negative integer');
    }
    const offset = Number(raw.offset ?? 0);

    let order: OrderRecord | undefined;
    let listed: RefundRecord[];
    if (raw.refund_id || raw.out_refund_no) {
      const refund = raw.refund_id
        ? refunds.findById(account.mchId, raw.refund_id)
        : refunds.find(account.mchId, raw.out_refund_no as string);
      order = refund && refunds.orderOf(refund);
      if (!refund || !order) return notExist();
      listed = [refund];
    } else if (raw.transaction_id || raw.out_trade_no) {
      const found = orderOf(sandbox, req);
      if (!('order' in found)) return notExist();
      order = found.order;
      listed = order.refunds.slice(offset, offset + PAGE);
      if (listed.length === 0) return notExist();
    } else {
      return returnFailXml('缺少参数: refund_id, out_refund_no, transaction_id or out_trade_no');
    }
    refunds.settleOrder(order);

    const fields: Record<string, string | number | undefined> = {
      appid,
      result_code: 'SUCCESS',
      transaction_id: order.transactionId,
      out_trade_no: order.outTradeNo,
      total_fee: order.totalFee,
      fee_type: order.feeType,
      cash_fee: order.cashFee ?? order.totalFee,
      refund_fee: listed.reduce((sum, r) => sum + r.refundFee, 0),
      refund_count: listed.length,
      // WeChat adds the order's total only when the request paged with offset.
      ...(raw.offset === undefined ? {} : { total_refund_count: order.refunds.length }),
    };
    listed.forEach((refund, n) => {
      fields[`out_refund_no_${n}`] = refund.outRefundNo;
      fields[`refund_id_${n}`] = refund.refundId;
      fields[`refund_channel_${n}`] = 'ORIGINAL';
      fields[`refund_fee_${n}`] = refund.refundFee;
      fields[`settlement_refund_fee_${n}`] = refund.settlementRefundFee;
      fields[`refund_status_${n}`] = refund.status;
      fields[`refund_account_${n}`] = refund.refundAccount;
      fields[`refund_recv_accout_${n}`] = refund.recvAccount;
      if (refund.successAt !== undefined) fields[`refund_success_time_${n}`] = refundTime(refund.successAt);
    });
    return signedXml(account, signType, fields);
  };
}

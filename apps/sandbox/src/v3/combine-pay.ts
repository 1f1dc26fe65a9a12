import { randomUUID } from 'node:crypto';
import type { SandboxContext } from '../context.ts';
import { FORGERIES } from '../faults.ts';
import type { Notifier } from '../notifier.ts';
import { paymentReply, rejectPayment as reject, type PayReply } from '../pay/request-payment.ts';
import { markPaid, OUTCOMES, recordAttempt, refusedAttempt, type Outcome } from '../pay/settle.ts';
import type { OrderRecord, PaymentAttempt, PrepayRecord } from '../state.ts';
import { combineJson, subOrdersOf, type CombineRecord } from './combine.ts';
import type { CombineKind } from './combine-rules.ts';
import { v3Envelope } from './notification.ts';
import { rsaPaySignProblem, type PayFields } from './paysign.ts';
import { beijingRfc3339 } from './time.ts';

/** Where each kind of combine is paid, named when it is presented to another channel. */
export const COMBINE_CHANNEL: Record<CombineKind, string> = {
  jsapi: 'with wx.requestPayment / WeixinJSBridge (POST /sandbox/pay)',
  app: 'in the app (POST /sandbox/app/pay)',
  h5: 'on its h5_url cashier',
  native: 'by scanning its code_url (POST /sandbox/scan)',
};

/**
 * wx.requestPayment with a combine's prepay_id (POST /sandbox/pay, payer.ts hands it over): signType RSA over
 * the combine AppID, verified with the combine merchant's certificate, exactly like a single v3 order. The buyer
 * pays once for every sub-order.
 *
 * `failSubOrder` (the payer body's `fail_sub_order`: a sub-order's out_trade_no) makes that one sub-order end
 * PAYERROR while the others succeed: the combine is then partially paid, and the notification lists each
 * sub-order's state. WeChat presents the combine as one payment but reports a state per sub-order with no
 * overall state, so a merchant must read each one; this is how to exercise that code path.
 */
export function payCombine(
  sandbox: SandboxContext,
  notifier: Notifier,
  prepay: PrepayRecord,
  combine: CombineRecord,
  fields: PayFields,
  paySign: string,
  outcome: Outcome,
  failSubOrder: unknown,
): PayReply {
  const now = sandbox.clock.now();
  const refuse = (status: number, detail: string, hint?: string): PayReply => {
    const reply = reject(status, detail, hint);
    recordAttempt(combine, refusedAttempt(now, reply.errMsg, hint));
    return reply;
  };
  if (combine.kind !== 'jsapi') {
    return refuse(
      400,
      `prepay_id不是JSAPI订单: a ${combine.kind} combine is paid ${COMBINE_CHANNEL[combine.kind]}`,
    );
  }
  if (fields.appId !== combine.appId) {
    return refuse(
      400,
      '调用支付的appid与下单appid不一致',
      'the combine was placed for another combine_appid',
    );
  }
  const account = sandbox.accounts.merchant(combine.mchId);
  const merchant = sandbox.accounts.merchantV3(combine.mchId);
  if (!account || !merchant) return reject(404, 'prepay_id不存在');
  const problem = rsaPaySignProblem(fields, paySign, prepay, merchant, account.key);
  if (problem) return refuse(400, '支付验证签名失败', problem);

  const settled = settleCombine(sandbox, notifier, prepay, combine, outcome, failSubOrder);
  if (!settled.ok) return reject(settled.status, settled.reason, settled.hint);
  return paymentReply(outcome, settled.hint);
}

/** What settleCombine decided: as settlePayment's, plus the partial-payment hint of `fail_sub_order`. */
export type CombineSettled =
  | { ok: true; outcome: Outcome; hint?: string }
  | { ok: false; status: number; reason: string; hint?: string };

/**
 * The buyer's side of a combine once the channel's own checks passed (wx.requestPayment's paySign, the APP
 * payer's sign, the H5 cashier's link, the scanner's code_url): the combine's counterpart of settlePayment, so
 * every channel pays a combine alike. Is every sub-order still payable, then the buyer's outcome for all of
 * them at once; `failSubOrder` (a sub-order's out_trade_no, with outcome success) fails that one alone.
 * Refusals of an unpayable combine are recorded on it; `payerOpenid` is the buyer of an app / h5 / native
 * combine (a jsapi combine already names its payer), reported in its query and notification once paid.
 */
export function settleCombine(
  sandbox: SandboxContext,
  notifier: Notifier,
  prepay: PrepayRecord,
  combine: CombineRecord,
  outcome: Outcome,
  failSubOrder: unknown,
  payerOpenid?: string,
): CombineSettled {
  const now = sandbox.clock.now();
  const orders = subOrdersOf(sandbox, combine);
  const fail = (status: number, reason: string, hint?: string): CombineSettled => ({
    ok: false,
    status,
    reason,
    ...(hint ? { hint } : {}),
  });
  const refuse = (status: number, reason: string, hint?: string): CombineSettled => {
    recordAttempt(combine, refusedAttempt(now, reason, hint));
    return fail(status, reason, hint);
  };
  if (failSubOrder !== undefined && !orders.some((o) => o.outTradeNo === failSubOrder)) {
    return fail(400, 'fail_sub_order不是该合单的子单', "fail_sub_order must be one sub-order's out_trade_no");
  }
  if (failSubOrder !== undefined && outcome !== 'success') {
    return fail(
      400,
      'fail_sub_order只用于outcome success',
      'a partial failure needs the payment itself to succeed',
    );
  }
  if (!OUTCOMES.includes(outcome)) return fail(400, `unknown outcome ${String(outcome)}`);

  if (orders.length !== combine.subOrderKeys.length)
    return refuse(404, 'prepay_id不存在', 'sub-orders were evicted');
  if (orders.some((o) => o.state === 'SUCCESS')) return refuse(409, '该订单已支付');
  if (orders.some((o) => o.state === 'CLOSED')) return refuse(409, '订单已关闭');
  if (orders.some((o) => o.state === 'PAYERROR')) return refuse(409, '支付失败，请重新下单支付');
  if (now >= prepay.expiresAt)
    return refuse(409, 'prepay_id已过期', 'prepay_id lives 2 hours: place the combine again');

  const attempt: PaymentAttempt = { at: new Date(now).toISOString(), outcome };
  recordAttempt(combine, attempt);
  for (const order of orders) recordAttempt(order, attempt);
  if (outcome === 'payerror') for (const order of orders) order.state = 'PAYERROR';
  if (outcome !== 'success') return { ok: true, outcome };
  // The buyer of an app / h5 / native combine is known once they pay (as settlePayment does for one order).
  if (payerOpenid && !combine.openid) {
    combine.openid = payerOpenid;
    for (const order of orders) order.openid ||= payerOpenid;
  }
  for (const order of orders) {
    if (order.outTradeNo === failSubOrder) order.state = 'PAYERROR';
    // Each sub-order gets its own transaction_id, with the same success time as its siblings.
    else markPaid(sandbox, order, now);
  }
  startCombineNotification(sandbox, notifier, combine);
  return {
    ok: true,
    outcome,
    ...(failSubOrder === undefined
      ? {}
      : {
          hint: `sub-order ${String(failSubOrder)} failed (PAYERROR): the combine is partially paid; read each sub-order's trade_state`,
        }),
  };
}

/** What the buyer pays for a combine: the sum of its sub-orders, in fen. */
export function combineTotalFee(orders: OrderRecord[]): number {
  return orders.reduce((sum, order) => sum + order.totalFee, 0);
}

/** The combine's description on a pay page: its sub-orders' descriptions, in the order they were listed. */
export function combineDescription(orders: OrderRecord[]): string {
  return orders.map((order) => order.body).join(' + ');
}

/**
 * One TRANSACTION.SUCCESS notification for the whole combine, to its notify_url, encrypted with the combine
 * merchant's APIv3 key, on the usual retry schedule. Faults are those of the combine merchant and the
 * combine_out_trade_no (POST /sandbox/faults {out_trade_no: <combine_out_trade_no>}).
 */
export function startCombineNotification(
  sandbox: SandboxContext,
  notifier: Notifier,
  combine: CombineRecord,
): void {
  notifier.begin(combine, {
    url: combine.notifyUrl,
    forgeries: FORGERIES,
    render: (kind) => {
      combine.v3Notification ??= { id: randomUUID(), createTime: beijingRfc3339(sandbox.clock.now()) };
      const resource = combineJson(
        combine,
        subOrdersOf(sandbox, combine),
        'notification',
        kind === 'forged-wrong-amount',
      );
      const delivery = v3Envelope(
        sandbox,
        {
          mchId: combine.mchId,
          resource,
          type: 'transaction',
          eventType: 'TRANSACTION.SUCCESS',
          summary: '支付成功',
          identity: combine.v3Notification,
        },
        kind,
      );
      return { ...delivery, v3: true };
    },
  });
}

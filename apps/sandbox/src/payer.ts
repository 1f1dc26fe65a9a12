import type { Context } from 'koa';
import { isSignType, signV2, type SignType } from '@mp-pay/shared/wechatpay';
import type { SandboxContext } from './context.ts';
import { readJsonObject } from './http/body.ts';
import type { Notifier } from './notifier.ts';
import { paymentReply, rejectPayment as reject, type PayReply } from './pay/request-payment.ts';
import { OUTCOMES, recordAttempt, refusedAttempt, settlePayment, type Outcome } from './pay/settle.ts';
import type { PaySignType, PrepayRecord } from './state.ts';
import { rsaPaySignProblem } from './v3/paysign.ts';
import { combineOfPrepay } from './v3/combine.ts';
import { payCombine } from './v3/combine-pay.ts';

/**
 * POST /sandbox/pay: what the WeChat client does when a mini-program calls wx.requestPayment. The body is the
 * object the mini-program passed ({timeStamp, nonceStr, package, signType, paySign}) plus the calling
 * mini-program's appId (which the real client knows by itself) and the buyer's choice in `outcome`.
 *
 * paySign is recomputed exactly as WeChat does, over appId, timeStamp, nonceStr, package and signType with
 * the merchant key; a mismatch is `requestPayment:fail 支付验证签名失败`, and the reply's `hint` names the
 * classic cause when it can recognise it (unifiedorder sign reused, `timestamp` in lower case, appId not
 * signed, another sign type).
 *
 * An APIv3 order is paid with signType RSA: paySign is SHA256withRSA over `appId\ntimeStamp\nnonceStr\npackage\n`,
 * verified with the merchant certificate's public key (v3/paysign.ts names the classic mistakes).
 *
 * A failed attempt (outcome `fail`: declined card, insufficient balance) leaves the trade NOTPAY, as WeChat
 * does: the buyer can try again with the same prepay_id. Outcome `payerror` simulates the rarer bank-side
 * failure after which orderquery reports PAYERROR and the order needs a new out_trade_no.
 */

const SIGN_FAILED = '支付验证签名失败';

export function payerRoute(sandbox: SandboxContext, notifier: Notifier) {
  return async (ctx: Context): Promise<void> => {
    const body = await readJsonObject(ctx);
    const reply = body
      ? pay(sandbox, notifier, body)
      : reject(400, 'invalid request body: send a JSON object');
    ctx.status = reply.status;
    ctx.body = { errMsg: reply.errMsg, ...(reply.hint ? { hint: reply.hint } : {}) };
  };
}

function pay(sandbox: SandboxContext, notifier: Notifier, body: Record<string, unknown>): PayReply {
  const outcome = (body.outcome ?? 'success') as Outcome;
  if (!OUTCOMES.includes(outcome))
    return reject(400, `unknown outcome ${String(outcome)}: use ${OUTCOMES.join(', ')}`);

  // The base library's own parameter check, before anything reaches WeChat.
  for (const name of ['timeStamp', 'nonceStr', 'package', 'paySign']) {
    if (typeof body[name] !== 'string' || body[name] === '') {
      const got = body[name] === undefined ? 'Undefined' : typeof body[name];
      const hint =
        name === 'timeStamp' && 'timestamp' in body
          ? 'the field is timeStamp with a capital S (and it is signed under that name)'
          : undefined;
      return reject(400, `parameter error: parameter.${name} should be String instead of ${got};`, hint);
    }
  }
  const timeStamp = body.timeStamp as string;
  const nonceStr = body.nonceStr as string;
  const pkg = body.package as string;
  const paySign = body.paySign as string;
  const declared = body.signType ?? 'MD5'; // wx.requestPayment defaults signType to MD5
  if (!isSignType(declared) && declared !== 'RSA') {
    return reject(400, `parameter error: signType must be MD5, HMAC-SHA256 or RSA`);
  }
  const signType: PaySignType = declared;
  const appId = body.appId;
  if (typeof appId !== 'string' || appId === '') {
    return reject(
      400,
      'missing appId',
      "the sandbox payer needs the calling mini-program's appId (WeChat knows it)",
    );
  }

  const prepayId = /^prepay_id=(.+)$/.exec(pkg)?.[1];
  if (!prepayId) return reject(400, 'package参数格式错误', 'package must be "prepay_id=<prepay_id>"');
  const prepay = sandbox.state.prepays.get(prepayId);
  // A combine's prepay_id pays every sub-order at once (v3/combine-pay.ts); `fail_sub_order` fails one of them.
  const combine = prepay && combineOfPrepay(sandbox, prepay);
  if (prepay && combine) {
    const fields = { appId, timeStamp, nonceStr, package: pkg, signType };
    return payCombine(sandbox, notifier, prepay, combine, fields, paySign, outcome, body.fail_sub_order);
  }
  const order = prepay && sandbox.state.orders.get(prepay.orderKey);
  if (!prepay || !order) return reject(404, 'prepay_id不存在', 'unknown prepay_id: call unifiedorder first');
  const account = sandbox.accounts.merchant(order.mchId);
  if (!account) return reject(404, 'prepay_id不存在');
  const now = sandbox.clock.now();
  // From here on the order is known: a refused attempt is recorded on it, so inspection shows why.
  const refuse = (status: number, detail: string, hint?: string): PayReply => {
    const reply = reject(status, detail, hint);
    recordAttempt(order, refusedAttempt(now, reply.errMsg, hint));
    return reply;
  };
  if (order.tradeType !== 'JSAPI') {
    return refuse(
      400,
      `prepay_id不是JSAPI订单: a ${order.tradeType} trade is paid ${order.tradeType === 'APP' ? 'in the app (POST /sandbox/app/pay)' : order.tradeType === 'MWEB' ? 'on the mweb_url cashier' : 'by scanning its code_url (POST /sandbox/scan)'}`,
    );
  }
  if (appId !== order.appId) {
    return refuse(400, '调用支付的appid与下单appid不一致', 'the order was placed for another mini-program');
  }

  if (signType === 'RSA' || prepay.signType === 'RSA') {
    const merchant = sandbox.accounts.merchantV3(order.mchId);
    if (!merchant) return reject(404, 'prepay_id不存在');
    const fields = { appId, timeStamp, nonceStr, package: pkg, signType };
    const problem = rsaPaySignProblem(fields, paySign, prepay, merchant, account.key);
    if (problem) return refuse(400, SIGN_FAILED, problem);
  } else {
    const fields = { appId, timeStamp, nonceStr, package: pkg, signType };
    const expected = signV2(fields, account.key, signType);
    if (paySign !== expected || signType !== prepay.signType) {
      return refuse(400, SIGN_FAILED, diagnose(fields, paySign, prepay, account.key));
    }
  }

  const settled = settlePayment(sandbox, notifier, order, prepay, outcome);
  if (!settled.ok) return reject(settled.status, settled.reason, settled.hint);
  return paymentReply(outcome);
}

/** Recognises the usual paySign mistakes by recomputing what the merchant probably signed. */
function diagnose(
  fields: { appId: string; timeStamp: string; nonceStr: string; package: string; signType: SignType },
  paySign: string,
  prepay: PrepayRecord,
  key: string,
): string {
  const { appId, timeStamp, nonceStr, package: pkg, signType } = fields;
  if (signType !== prepay.signType) {
    return `signType ${signType} differs from the order's (${prepay.signType}): sign and pass the order's sign type`;
  }
  if (prepay.orderSigns.includes(paySign)) {
    return 'paySign is the unifiedorder signature: re-sign appId, timeStamp, nonceStr, package and signType';
  }
  const variants: Array<[Record<string, string>, string]> = [
    [
      { appId, timestamp: timeStamp, nonceStr, package: pkg, signType },
      '"timestamp" was signed in lower case: use timeStamp',
    ],
    [{ timeStamp, nonceStr, package: pkg, signType }, 'appId was not signed: sign appId (capital I) too'],
    [
      { appid: appId, timeStamp, nonceStr, package: pkg, signType },
      '"appid" was signed in lower case: use appId',
    ],
  ];
  for (const [variant, hint] of variants) if (signV2(variant, key, signType) === paySign) return hint;
  const other: SignType = signType === 'MD5' ? 'HMAC-SHA256' : 'MD5';
  if (signV2(fields, key, other) === paySign)
    return `paySign was computed with ${other} but signType says ${signType}`;
  return 'paySign does not match appId, timeStamp, nonceStr, package and signType signed with the merchant key';
}

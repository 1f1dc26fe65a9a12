import type { Context } from 'koa';
import { verifyAppPayParams, verifyAppPayParamsV3, type SignType } from '@mp-pay/shared/wechatpay';
import type { SandboxContext } from '../context.ts';
import { readJsonObject } from '../http/body.ts';
import type { Notifier } from '../notifier.ts';
import { OUTCOMES, settlePayment, type Outcome } from '../pay/settle.ts';
import type { PrepayRecord } from '../state.ts';
import { combineOfPrepay, type CombineRecord } from '../v3/combine.ts';
import { COMBINE_CHANNEL, settleCombine } from '../v3/combine-pay.ts';
import { buyerOpenid, knownUser } from './buyer.ts';

/**
 * POST /sandbox/app/pay: what the mobile app's OpenSDK (`PayReq` → WXApi.sendReq) and WeChat do with the
 * seven fields the merchant server hands the app (docs/protocol.md §9 "APP"): appid, partnerid, prepayid,
 * package (`Sign=WXPay`), noncestr, timestamp, sign. The AppID must be a mobile app bound to partnerid, the
 * prepayid an APP trade of that app and merchant, and the sign valid for the trade's API: v2, the key and the
 * unifiedorder's sign type over the six lower-case fields; v3, SHA256withRSA over
 * `appid\ntimestamp\nnoncestr\nprepayid\n` with the merchant certificate's public key.
 *
 * A combine's prepayid (POST /v3/combine-transactions/app) pays every sub-order at once: appid the combine_appid,
 * partnerid the combine_mchid, the v3 sign with the combine merchant's certificate; `fail_sub_order` (a
 * sub-order's out_trade_no) fails that one sub-order, as on POST /sandbox/pay.
 *
 * Answers the SDK's `BaseResp`: `{errCode: 0}` paid, `-2` cancelled, `-1` anything else with `errStr` naming it
 * (and the sandbox's `hint` when a combine is only partly paid).
 */
const FIELDS = ['appid', 'partnerid', 'prepayid', 'package', 'noncestr', 'timestamp', 'sign'] as const;
/** The camelCase slips of wx.requestPayment habits, named when a field is missing. */
const CAMEL: Record<string, string> = {
  partnerid: 'partnerId',
  prepayid: 'prepayId',
  noncestr: 'nonceStr',
  timestamp: 'timeStamp',
  appid: 'appId',
};

interface AppReply {
  status: number;
  errCode: 0 | -1 | -2;
  errStr: string;
  hint?: string;
}
const error = (status: number, errStr: string): AppReply => ({ status, errCode: -1, errStr });

export function appPayerRoute(sandbox: SandboxContext, notifier: Notifier) {
  return async (ctx: Context): Promise<void> => {
    const body = await readJsonObject(ctx);
    const reply = body
      ? pay(sandbox, notifier, ctx, body)
      : error(400, 'send a JSON object: the PayReq fields');
    ctx.status = reply.status;
    ctx.body = { errCode: reply.errCode, errStr: reply.errStr, ...(reply.hint ? { hint: reply.hint } : {}) };
  };
}

function pay(
  sandbox: SandboxContext,
  notifier: Notifier,
  ctx: Context,
  body: Record<string, unknown>,
): AppReply {
  const outcome = (body.outcome ?? 'success') as Outcome;
  if (!OUTCOMES.includes(outcome)) return error(400, `unknown outcome: use ${OUTCOMES.join(', ')}`);
  for (const name of FIELDS) {
    if (typeof body[name] !== 'string' || body[name] === '') {
      const camel = CAMEL[name];
      const slip = camel && camel in body ? ` (${camel} was sent: the PayReq fields are lower case)` : '';
      return error(400, `${name} is missing${slip}`);
    }
  }
  const fields = body as Record<(typeof FIELDS)[number], string>;
  if (fields.package !== 'Sign=WXPay') return error(400, 'package must be Sign=WXPay');
  if (sandbox.accounts.kind(fields.appid) !== 'app') {
    return error(400, `appid ${fields.appid} is not a mobile app (open platform) AppID the sandbox knows`);
  }
  if (!sandbox.accounts.bound(fields.appid, fields.partnerid)) {
    return error(400, `partnerid ${fields.partnerid} is not the merchant bound to ${fields.appid}`);
  }
  const prepay = sandbox.state.prepays.get(fields.prepayid);
  const combine = prepay && combineOfPrepay(sandbox, prepay);
  if (prepay && combine) {
    return payCombine(sandbox, notifier, ctx, fields, prepay, combine, outcome, body.fail_sub_order);
  }
  const order = prepay && sandbox.state.orders.get(prepay.orderKey);
  if (!prepay || !order) return error(404, 'prepayid不存在: place an APP order first');
  if (order.tradeType !== 'APP') return error(400, `prepayid is a ${order.tradeType} trade, not an APP one`);
  if (order.appId !== fields.appid || order.mchId !== fields.partnerid) {
    return error(400, 'prepayid belongs to another appid or partnerid');
  }
  const account = sandbox.accounts.merchant(order.mchId);
  const merchantV3 = sandbox.accounts.merchantV3(order.mchId);
  if (!account || !merchantV3) return error(404, 'prepayid不存在');
  const signed = Object.fromEntries(FIELDS.map((name) => [name, fields[name]]));
  const problem =
    prepay.signType === 'RSA'
      ? verifyAppPayParamsV3(signed, merchantV3.publicKey)
      : verifyAppPayParams(signed, account.key, prepay.signType as SignType);
  if (problem) return error(400, `支付验证签名失败: ${problem}`);

  const openid = buyerOpenid(sandbox, order.appId, knownUser(ctx));
  const settled = settlePayment(sandbox, notifier, order, prepay, outcome, openid);
  if (!settled.ok) return error(settled.status, settled.reason);
  return answer(outcome);
}

/** The app's BaseResp for the buyer's outcome, once the payment was settled. */
function answer(outcome: Outcome, hint?: string): AppReply {
  switch (outcome) {
    case 'success':
      return { status: 200, errCode: 0, errStr: '', ...(hint ? { hint } : {}) };
    case 'cancel':
      return { status: 200, errCode: -2, errStr: '用户取消' };
    case 'fail':
      return { status: 200, errCode: -1, errStr: '支付失败，请稍后再试' };
    case 'payerror':
      return { status: 200, errCode: -1, errStr: '支付失败，请重新下单支付' };
  }
}

/** An APP combine's prepayid: the combine merchant's appid, partnerid and certificate, then every sub-order. */
function payCombine(
  sandbox: SandboxContext,
  notifier: Notifier,
  ctx: Context,
  fields: Record<(typeof FIELDS)[number], string>,
  prepay: PrepayRecord,
  combine: CombineRecord,
  outcome: Outcome,
  failSubOrder: unknown,
): AppReply {
  if (combine.kind !== 'app') {
    return error(400, `prepayid is a ${combine.kind} combine, paid ${COMBINE_CHANNEL[combine.kind]}`);
  }
  if (combine.appId !== fields.appid || combine.mchId !== fields.partnerid) {
    return error(
      400,
      'prepayid belongs to another appid or partnerid (a combine: combine_appid, combine_mchid)',
    );
  }
  const merchantV3 = sandbox.accounts.merchantV3(combine.mchId);
  if (!merchantV3) return error(404, 'prepayid不存在');
  const signed = Object.fromEntries(FIELDS.map((name) => [name, fields[name]]));
  const problem = verifyAppPayParamsV3(signed, merchantV3.publicKey);
  if (problem) return error(400, `支付验证签名失败: ${problem}`);

  const openid = buyerOpenid(sandbox, combine.appId, knownUser(ctx));
  const settled = settleCombine(sandbox, notifier, prepay, combine, outcome, failSubOrder, openid);
  if (!settled.ok)
    return error(settled.status, settled.hint ? `${settled.reason}: ${settled.hint}` : settled.reason);
  return answer(outcome, settled.hint);
}

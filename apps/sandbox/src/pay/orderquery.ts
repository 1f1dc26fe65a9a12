import { returnFailXml } from '@mp-pay/shared/wechatpay';
import type { SandboxContext } from '../context.ts';
import { resultFailXml, signedXml } from '../http/xml-reply.ts';
import { findOrder, paidFields, TRADE_STATE_DESC } from './orders.ts';
import { reportedState } from '../refunds/status.ts';
import type { OrderRecord } from '../state.ts';
import type { PayRequest } from './request.ts';

/**
 * POST /pay/orderquery by transaction_id (preferred, as WeChat documents) or out_trade_no. A paid order reads
 * REFUND once one of its refunds succeeded; `settle` first brings its refunds up to date with the clock.
 */
export function orderQuery(
  req: PayRequest,
  sandbox: SandboxContext,
  settle: (order: OrderRecord) => void = () => {},
): string {
  const { raw, account, signType, appid } = req;
  let outTradeNo = raw.out_trade_no;
  if (raw.transaction_id) {
    const key = sandbox.state.transactions.get(raw.transaction_id);
    outTradeNo = key?.startsWith(`${account.mchId}:`) ? key.slice(account.mchId.length + 1) : undefined;
    if (outTradeNo === undefined)
      return resultFailXml(account, signType, appid, 'ORDERNOTEXIST', '订单不存在');
  }
  if (!outTradeNo) return returnFailXml('缺少参数out_trade_no或transaction_id');

  const order = findOrder(sandbox, account.mchId, outTradeNo);
  if (!order) return resultFailXml(account, signType, appid, 'ORDERNOTEXIST', '订单不存在');
  settle(order);
  const paid = order.state === 'SUCCESS';
  const state = reportedState(order);
  return signedXml(account, signType, {
    appid,
    result_code: 'SUCCESS',
    ...(paid ? paidFields(order) : { out_trade_no: order.outTradeNo, attach: order.attach }),
    trade_state: state,
    trade_state_desc: TRADE_STATE_DESC[state],
  });
}

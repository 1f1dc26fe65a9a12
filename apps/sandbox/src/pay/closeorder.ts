import type { SandboxContext } from '../context.ts';
import { resultFailXml, signedXml } from '../http/xml-reply.ts';
import { findOrder } from './orders.ts';
import type { PayRequest } from './request.ts';

export const CLOSEORDER_REQUIRED = ['out_trade_no'] as const;

/**
 * POST /pay/closeorder. WeChat documents that an order cannot be closed within 5 minutes of its creation
 * (closeMinAgeMs here); the sandbox answers that case with INVALID_REQUEST, a non-retryable business error,
 * so a merchant that closes too early notices instead of silently retrying.
 */
export function closeOrder(req: PayRequest, sandbox: SandboxContext): string {
  const { raw, account, signType, appid } = req;
  const order = findOrder(sandbox, account.mchId, raw.out_trade_no as string);
  if (!order) return resultFailXml(account, signType, appid, 'ORDERNOTEXIST', '订单不存在');
  if (order.state === 'SUCCESS')
    return resultFailXml(account, signType, appid, 'ORDERPAID', '订单已支付，不能发起关单');
  if (order.state === 'CLOSED' && order.closedBy === 'merchant') {
    return resultFailXml(account, signType, appid, 'ORDERCLOSED', '订单已关闭，无法重复关闭');
  }
  const age = sandbox.clock.now() - order.createdAt;
  if (order.state === 'NOTPAY' && age < sandbox.config.closeMinAgeMs) {
    const minutes = Math.ceil(sandbox.config.closeMinAgeMs / 60_000);
    return resultFailXml(
      account,
      signType,
      appid,
      'INVALID_REQUEST',
      `订单生成后${minutes}分钟内不能关单，请稍后再试`,
    );
  }
  order.state = 'CLOSED';
  order.closedBy = 'merchant';
  return signedXml(account, signType, { appid, result_code: 'SUCCESS' });
}

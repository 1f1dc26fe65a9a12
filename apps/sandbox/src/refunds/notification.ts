import { randomUUID } from 'node:crypto';
import { refundNotification } from '@mp-pay/shared/testing';
import { formatWechatTime } from '@mp-pay/shared/wechatpay';
import type { SandboxContext } from '../context.ts';
import type { Forgery } from '../faults.ts';
import { FORGERIES } from '../faults.ts';
import type { NotificationPlan, RenderedNotification } from '../notifier.ts';
import type { NotificationAttempt, RefundRecord } from '../state.ts';
import { v3Envelope } from '../v3/notification.ts';
import { beijingRfc3339 } from '../v3/time.ts';
import { V3_REFUND_STATUS } from './status.ts';

type Kind = NotificationAttempt['kind'];

/**
 * The forgeries a v2 refund notification can carry. It has no signature: `bad-sign` encrypts req_info with
 * another key, `tampered-ciphertext` alters req_info's bytes, `wrong-amount` is validly encrypted with another
 * refund_fee (only the merchant's own amount check catches it).
 */
const V2_REFUND_FORGERIES: readonly Forgery[] = ['bad-sign', 'wrong-amount', 'tampered-ciphertext'];

const V3_EVENTS: Record<string, { eventType: string; summary: string }> = {
  SUCCESS: { eventType: 'REFUND.SUCCESS', summary: '退款成功' },
  ABNORMAL: { eventType: 'REFUND.ABNORMAL', summary: '退款异常' },
  CLOSED: { eventType: 'REFUND.CLOSED', summary: '退款关闭' },
};

/** `yyyy-MM-dd HH:mm:ss`, Beijing time: how v2 refund notifications and refundquery write times. */
export function refundTime(at: number): string {
  const t = formatWechatTime(new Date(at));
  return `${t.slice(0, 4)}-${t.slice(4, 6)}-${t.slice(6, 8)} ${t.slice(8, 10)}:${t.slice(10, 12)}:${t.slice(12, 14)}`;
}

/** How the finished refund is notified, or undefined when there is nowhere to send it. */
export function refundNotificationPlan(
  sandbox: SandboxContext,
  refund: RefundRecord,
): NotificationPlan | undefined {
  if (refund.notifyUrl === undefined) return undefined;
  if (refund.api === 'v3') {
    return { url: refund.notifyUrl, forgeries: FORGERIES, render: (kind) => v3Refund(sandbox, refund, kind) };
  }
  return {
    url: refund.notifyUrl,
    forgeries: V2_REFUND_FORGERIES,
    render: (kind) => v2Refund(sandbox, refund, kind),
  };
}

function forgedFee(refund: RefundRecord): number {
  return refund.refundFee === 1 ? 2 : refund.refundFee - 1;
}

/** `<xml>` with return_code, appid, mch_id, nonce_str and req_info: unsigned, as WeChat sends it. */
function v2Refund(sandbox: SandboxContext, refund: RefundRecord, kind: Kind): RenderedNotification {
  const account = sandbox.accounts.merchant(refund.mchId);
  if (!account) throw new Error(`merchant ${refund.mchId} is no longer configured`);
  const wrongFee = kind === 'forged-wrong-amount' ? forgedFee(refund) : undefined;
  const built = refundNotification({
    appId: refund.appId,
    mchId: refund.mchId,
    key: kind === 'forged-bad-sign' ? [...account.key].reverse().join('') : account.key,
    transactionId: refund.transactionId,
    outTradeNo: refund.outTradeNo,
    refundId: refund.refundId,
    outRefundNo: refund.outRefundNo,
    totalFee: refund.totalFee,
    refundFee: wrongFee ?? refund.refundFee,
    settlementRefundFee: wrongFee ?? refund.settlementRefundFee,
    refundStatus: refund.status === 'PROCESSING' ? 'SUCCESS' : refund.status,
    successTime: refund.successAt === undefined ? undefined : refundTime(refund.successAt),
    refundRecvAccount: refund.recvAccount,
    refundAccount: refund.refundAccount,
    refundRequestSource: refund.requestSource,
  });
  let body = built.xml;
  if (kind === 'forged-tampered-ciphertext') {
    const sealed = Buffer.from(built.map.req_info ?? '', 'base64');
    sealed[sealed.length - 20] = (sealed[sealed.length - 20] ?? 0) ^ 0x01; // one flipped bit, second-last block
    body = body.replace(built.map.req_info ?? '', sealed.toString('base64'));
  }
  return {
    headers: { 'content-type': 'text/xml; charset=utf-8', 'user-agent': 'Mozilla/4.0 mp-pay-sandbox' },
    body,
    v3: false,
  };
}

/** The refund as the v3 refund notification's decrypted resource shows it. */
export function v3RefundResource(refund: RefundRecord, refundOverride?: number): Record<string, unknown> {
  const amount = refundOverride ?? refund.refundFee;
  return {
    mchid: refund.mchId,
    out_trade_no: refund.outTradeNo,
    transaction_id: refund.transactionId,
    out_refund_no: refund.outRefundNo,
    refund_id: refund.refundId,
    refund_status: V3_REFUND_STATUS[refund.status],
    ...(refund.successAt === undefined ? {} : { success_time: beijingRfc3339(refund.successAt) }),
    user_received_account: refund.recvAccount,
    amount: {
      total: refund.totalFee,
      refund: amount,
      payer_total: refund.totalFee,
      payer_refund: refundOverride ?? refund.cashRefundFee,
    },
  };
}

function v3Refund(sandbox: SandboxContext, refund: RefundRecord, kind: Kind): RenderedNotification {
  refund.v3Notification ??= { id: randomUUID(), createTime: beijingRfc3339(sandbox.clock.now()) };
  const event = V3_EVENTS[V3_REFUND_STATUS[refund.status]] ?? V3_EVENTS.SUCCESS;
  const delivery = v3Envelope(
    sandbox,
    {
      mchId: refund.mchId,
      resource: v3RefundResource(refund, kind === 'forged-wrong-amount' ? forgedFee(refund) : undefined),
      type: 'refund',
      eventType: event?.eventType ?? 'REFUND.SUCCESS',
      summary: event?.summary ?? '退款成功',
      identity: refund.v3Notification,
    },
    kind,
  );
  return { ...delivery, v3: true };
}

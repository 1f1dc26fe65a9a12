import type { OrderRecord, RefundStatus, ReportedTradeState } from '../state.ts';

/** The v3 status of a v2 refund_status. */
export const V3_REFUND_STATUS: Record<RefundStatus, 'PROCESSING' | 'SUCCESS' | 'ABNORMAL' | 'CLOSED'> = {
  PROCESSING: 'PROCESSING',
  SUCCESS: 'SUCCESS',
  CHANGE: 'ABNORMAL',
  REFUNDCLOSE: 'CLOSED',
};

/** Fen already refunded or on its way: every refund but the closed ones (their money went back). */
export function committedFee(order: OrderRecord): number {
  return order.refunds.reduce((sum, r) => sum + (r.status === 'REFUNDCLOSE' ? 0 : r.refundFee), 0);
}

/** orderquery / v3 query: a paid order reads REFUND once one of its refunds succeeded. */
export function reportedState(order: OrderRecord): ReportedTradeState {
  return order.state === 'SUCCESS' && order.refunds.some((r) => r.status === 'SUCCESS')
    ? 'REFUND'
    : order.state;
}

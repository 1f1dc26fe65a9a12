import { formatBill, type BillRow, type BillType } from '@mp-pay/shared/bills';
import { parseWechatTime } from '@mp-pay/shared/wechatpay';
import type { SandboxContext } from '../context.ts';
import type { Refunds } from '../refunds/core.ts';
import type { OrderRecord, RefundRecord } from '../state.ts';
import { beijingDay, billTime } from './calendar.ts';

/**
 * A merchant's trade bill for one Beijing day, made from the sandbox's own state (docs/protocol.md §8 "Bills"):
 *   - a payment row (交易状态 SUCCESS) on the day of its time_end, whatever happened to the order since;
 *   - a refund row (交易状态 REFUND) on the day the refund succeeded, API or merchant-console refund alike;
 *     its 交易时间 is the refund's success time, 应结订单金额 and 订单金额 are 0, 退款金额 the settled refund
 *     and 申请退款金额 the amount asked for;
 *   - fee (手续费) at the 0.60% rate, rounded to the fen like WeChat's, printed with 5 decimals; negative on refunds;
 *   - an amount tampered through the console (bill-tamper) replaces 应结订单金额 and 订单金额 of that payment.
 * Processing, closed and abnormal refunds are not in the bill.
 */
const RATE_PER_MILLE = 6;

function feeText(fen: number): string {
  const feeFen = Math.round((Math.abs(fen) * RATE_PER_MILLE) / 1000);
  const text = `${Math.floor(feeFen / 100)}.${String(feeFen % 100).padStart(2, '0')}000`;
  return fen < 0 && feeFen > 0 ? `-${text}` : text;
}

function paidAt(order: OrderRecord): number | undefined {
  return order.timeEnd === undefined ? undefined : parseWechatTime(order.timeEnd)?.getTime();
}

function common(order: OrderRecord) {
  return {
    appId: order.appId,
    mchId: order.mchId,
    subMchId: '0',
    deviceInfo: '',
    transactionId: order.transactionId ?? '',
    outTradeNo: order.outTradeNo,
    openid: order.openid,
    tradeType: order.tradeType,
    bank: order.bankType ?? 'OTHERS',
    currency: order.feeType || 'CNY',
    body: order.body,
    attach: order.attach ?? '',
    rate: '0.60%',
    rateNote: '',
  };
}

function paymentRow(sandbox: SandboxContext, order: OrderRecord, at: number): BillRow {
  const tampered = sandbox.bills.tamperedFee(order.mchId, order.outTradeNo);
  const coupon = Number(order.paidExtras.coupon_fee ?? 0);
  const settlement = Number(order.paidExtras.settlement_total_fee ?? order.totalFee);
  const settlementFen = tampered === undefined ? settlement : tampered - (order.totalFee - settlement);
  return {
    ...common(order),
    tradeTime: billTime(at),
    tradeState: 'SUCCESS',
    settlementTotalFen: settlementFen,
    couponFen: coupon,
    refundId: '0',
    outRefundNo: '0',
    refundFen: 0,
    couponRefundFen: 0,
    refundType: '',
    refundStatus: '',
    fee: feeText(settlementFen),
    totalFen: tampered ?? order.totalFee,
    requestedRefundFen: 0,
  };
}

function refundRow(order: OrderRecord, refund: RefundRecord, at: number): BillRow {
  return {
    ...common(order),
    tradeTime: billTime(at),
    tradeState: 'REFUND',
    settlementTotalFen: 0,
    couponFen: 0,
    refundId: refund.refundId,
    outRefundNo: refund.outRefundNo,
    refundFen: refund.settlementRefundFee,
    couponRefundFen: refund.refundFee - refund.settlementRefundFee,
    refundType: 'ORIGINAL',
    refundStatus: 'SUCCESS',
    fee: feeText(-refund.settlementRefundFee),
    totalFen: 0,
    requestedRefundFen: refund.refundFee,
  };
}

/** Every row of the merchant's `day` ('yyyyMMdd'), oldest first. */
export function billRows(sandbox: SandboxContext, refunds: Refunds, mchId: string, day: string): BillRow[] {
  const rows: { at: number; row: BillRow }[] = [];
  for (const order of sandbox.state.orders.values()) {
    if (order.mchId !== mchId) continue;
    refunds.settleOrder(order);
    const paid = paidAt(order);
    if (paid !== undefined && order.transactionId && beijingDay(paid) === day) {
      rows.push({ at: paid, row: paymentRow(sandbox, order, paid) });
    }
    for (const refund of order.refunds) {
      if (refund.status !== 'SUCCESS' || refund.successAt === undefined) continue;
      if (beijingDay(refund.successAt) === day) {
        rows.push({ at: refund.successAt, row: refundRow(order, refund, refund.successAt) });
      }
    }
  }
  return rows.sort((a, b) => a.at - b.at).map((entry) => entry.row);
}

/** The bill text, or undefined when the day has no row of that type ("No Bill Exist"). */
export function billText(rows: BillRow[], type: BillType): string | undefined {
  const kept = rows.filter(
    (row) => type === 'ALL' || row.tradeState === (type === 'SUCCESS' ? 'SUCCESS' : 'REFUND'),
  );
  return kept.length === 0 ? undefined : formatBill(kept, { type });
}

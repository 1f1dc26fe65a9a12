/**
 * The ledger of one Beijing day: what this shop recorded as paid and refunded that day, read from the order
 * event streams (docs/reconciliation.md "The ledger of a day"). Every payment and refund transition appends
 * exactly one event dated by WeChat's own time (time_end, the refund's success time), so the events of the day
 * are exactly the day's money movements here, with no new index to maintain in the transition scripts. The
 * trade-off: the streams are trimmed to about EVENTS_MAX_LEN entries per shard, so a day older than what they
 * hold cannot be fully known; `since` says how far back they reach, and the report shows it.
 */
import { beijingMidnight } from '../../domain/beijing-date.ts';
import type { Store } from '../../store/index.ts';

export interface LedgerPayment {
  orderId: string;
  transactionId: string | undefined;
  totalFen: number;
}

export interface LedgerRefund {
  outTradeNo: string;
  refundFen: number;
}

export interface LedgerDay {
  /** out_trade_no → the payment recorded that day (order.paid, payment.duplicate). */
  payments: Map<string, LedgerPayment>;
  /** out_refund_no → the refund that succeeded that day (refund.succeeded, refund.external). */
  refunds: Map<string, LedgerRefund>;
  /** Epoch ms of the oldest event still held, or null when the streams are empty. */
  since: number | null;
}

export async function ledgerOf(store: Store, date: string): Promise<LedgerDay> {
  const start = beijingMidnight(date);
  const end = start + 86_400_000;
  const day: LedgerDay = { payments: new Map(), refunds: new Map(), since: null };
  for (const event of await store.events.readEvents()) {
    const appended = Number(event.id.split('-')[0]);
    if (day.since === null || appended < day.since) day.since = appended;
    if (!(event.at >= start && event.at < end)) continue;
    switch (event.type) {
      case 'order.paid':
      case 'payment.duplicate':
        day.payments.set(event.outTradeNo, {
          orderId: event.orderId,
          transactionId: event.transactionId,
          totalFen: event.totalFen,
        });
        break;
      case 'refund.succeeded':
      case 'refund.external':
        if (event.outRefundNo !== undefined) {
          day.refunds.set(event.outRefundNo, {
            outTradeNo: event.outTradeNo,
            refundFen: event.refundFen ?? 0,
          });
        }
        break;
      default:
        break;
    }
  }
  return day;
}

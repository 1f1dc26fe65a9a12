/**
 * The ledger of one Beijing day: what this shop recorded as paid and refunded that day, read from the order
 * event streams (docs/reconciliation.md "The ledger of a day"). Every payment and refund transition appends
 * exactly one event dated by WeChat's own time (time_end, the refund's success time), so the events of the day
 * are exactly the day's money movements here, with no new index to maintain in the transition scripts. The
 * trade-off: the streams are trimmed to about EVENTS_MAX_LEN entries per shard, so a day older than what they
 * hold cannot be fully known; `since` says how far back they reach, and the report shows it.
 *
 * Memory (bench/reconcile, a million payments a day: about 140 MB held): a payment is one map entry, its
 * out_trade_no and transaction id as one flat key and its amount as a small integer (an object per payment costs
 * about twice as much), and the streams are read in small pages when the store offers `eventPages` (through
 * readEvents otherwise, which holds every event of every shard at once: gigabytes for a million).
 */
import { beijingMidnight } from '../../domain/beijing-date.ts';
import type { OrderEvent, Store } from '../../store/index.ts';

/**
 * A payment's key in LedgerDay.payments: out_trade_no and transaction_id ('' when the event has none). Built
 * with join, which makes one flat string (a template literal makes a chain of cons strings, twice the memory).
 */
export const paymentKey = (outTradeNo: string, transactionId: string | undefined): string =>
  [outTradeNo, transactionId ?? ''].join('/');

/** The key's parts (out_trade_no never holds a '/': WeChat allows letters, digits, _-|*). */
export function paymentOfKey(key: string): { outTradeNo: string; transactionId: string | undefined } {
  const at = key.lastIndexOf('/');
  const transactionId = key.slice(at + 1);
  return { outTradeNo: key.slice(0, at), transactionId: transactionId === '' ? undefined : transactionId };
}

export interface LedgerRefund {
  outTradeNo: string;
  refundFen: number;
}

export interface LedgerDay {
  /** paymentKey(out_trade_no, transaction_id) → the amount in fen of a payment recorded that day (order.paid, payment.duplicate). */
  payments: Map<string, number>;
  /** out_refund_no → the refund that succeeded that day (refund.succeeded, refund.external). */
  refunds: Map<string, LedgerRefund>;
  /** Epoch ms of the oldest event still held, or null when the streams are empty. */
  since: number | null;
}

/** An event store that can hand its streams over in pages (each shard in entry order, shards one after another). */
interface PagedEvents {
  eventPages(options?: { count?: number }): AsyncIterable<OrderEvent[]>;
}

function pagesOf(store: Store): AsyncIterable<OrderEvent[]> {
  const events = store.events as Store['events'] & Partial<PagedEvents>;
  // Small pages: each is garbage as soon as it is folded in, before the young generation is collected; with
  // pages of 10,000 the process peaked at about 650 MB for a million payments, with 250 at about 300 MB.
  if (typeof events.eventPages === 'function') return events.eventPages({ count: 250 });
  return (async function* () {
    yield await events.readEvents();
  })();
}

/**
 * The ledger of one merchant's bill (docs/combine.md "Reconciliation"): `mchid` is the merchant reconciled,
 * `ownMchid` the shop's own. Events say whose trade they concern: a single trade or refund of another merchant
 * names it (`mchid`), a combine's payment lists its paid sub-orders each with its merchant, and a refund of a
 * sub-order names the sub-order's merchant (the shop's own included). An event naming no merchant is the shop's
 * own. So the shop's bill gets the unnamed events and those naming it, another merchant's bill only those naming
 * it, and a combine counts as its sub-orders of that merchant, each under its own out_trade_no. Each merchant's
 * ledger is read in a pass of its own over the streams: only one merchant's payments are held at a time.
 * Without `mchid` every payment and refund is taken (one merchant, no combines: the benchmark).
 */
export async function ledgerOf(
  store: Store,
  date: string,
  mchid?: string,
  ownMchid: string | undefined = mchid,
): Promise<LedgerDay> {
  const ours = (named: string | undefined) =>
    mchid === undefined || (named === undefined || named === '' ? mchid === ownMchid : named === mchid);
  const start = beijingMidnight(date);
  const end = start + 86_400_000;
  const day: LedgerDay = { payments: new Map(), refunds: new Map(), since: null };
  for await (const page of pagesOf(store)) {
    for (const event of page) {
      const appended = Number(event.id.split('-')[0]);
      if (day.since === null || appended < day.since) day.since = appended;
      if (!(event.at >= start && event.at < end)) continue;
      switch (event.type) {
        case 'order.paid':
        case 'payment.duplicate':
          if (event.subOrders !== undefined) {
            for (const sub of event.subOrders) {
              if (ours(sub.mchid))
                day.payments.set(paymentKey(sub.outTradeNo, sub.transactionId), sub.totalFen);
            }
          } else if (ours(event.mchid)) {
            day.payments.set(paymentKey(event.outTradeNo, event.transactionId), event.totalFen);
          }
          break;
        case 'refund.succeeded':
        case 'refund.external':
          if (event.outRefundNo !== undefined && ours(event.mchid)) {
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
  }
  return day;
}

/**
 * mppay_events_appended_total{type}, counted where the store reports that a transition appended an event (the
 * results of mark-paid, mark-closed and settle-refund, docs/architecture.md "Events"), and the notify outcome
 * those results decide (notify-observer.ts). The store is wrapped, not edited: a Proxy passes every other member
 * through untouched, so the wrapping follows whatever the store grows.
 */
import type {
  MarkClosedResult,
  MarkCombineResult,
  MarkPaidResult,
  PaymentFacts,
  RefundOutcome,
  SettleRefundResult,
  Store,
} from '../store/index.ts';
import type { NotifyObserver } from './notify-observer.ts';
import type { Metrics } from './registry.ts';

const REFUND_EVENTS: Record<RefundOutcome, string> = {
  SUCCESS: 'refund.succeeded',
  CLOSED: 'refund.closed',
  ABNORMAL: 'refund.abnormal',
};

type AnyMethod = (...args: never[]) => unknown;

/** `target` with the named methods replaced; everything else (and `this` inside the originals) is the target's. */
function overriding<T extends object>(target: T, overrides: Partial<Record<keyof T, AnyMethod>>): T {
  const bound = new Map<PropertyKey, unknown>();
  return new Proxy(target, {
    get(t, prop) {
      const override = (overrides as Record<PropertyKey, unknown>)[prop];
      if (override !== undefined) return override;
      const value: unknown = Reflect.get(t, prop, t);
      if (typeof value !== 'function') return value;
      let fn = bound.get(prop);
      if (fn === undefined) {
        fn = (value as AnyMethod).bind(t);
        bound.set(prop, fn);
      }
      return fn;
    },
  });
}

/** Runs a store call on behalf of the notification being handled (if any), recording its result kind. */
async function recorded<R extends { kind: string }>(
  notify: ReturnType<NotifyObserver['take']>,
  call: Promise<R>,
): Promise<R> {
  try {
    const result = await call;
    notify?.record(result.kind);
    return result;
  } catch (err) {
    notify?.record('error');
    throw err;
  }
}

export function instrumentStore(store: Store, metrics: Metrics, notify?: NotifyObserver): Store {
  const appended = (type: string) => metrics.eventsAppended.inc({ type });
  const { attempts, orders, refunds } = store;

  const instrumentedAttempts = overriding(attempts, {
    markPaid: async (outTradeNo: string, facts: PaymentFacts): Promise<MarkPaidResult> => {
      // Only a notification's own call (taken synchronously, before the first await) is tied to it.
      const observed = facts.source === 'notify' ? notify?.take() : undefined;
      const result = await recorded(observed, attempts.markPaid(outTradeNo, facts));
      if (result.kind === 'paid') appended('order.paid');
      else if (result.kind === 'second_payment') appended('payment.duplicate');
      return result;
    },
    markCombine: async (...args: Parameters<typeof attempts.markCombine>): Promise<MarkCombineResult> => {
      const [, report] = args;
      const observed = report.source === 'notify' ? notify?.take() : undefined;
      const result = await recorded(observed, attempts.markCombine(...args));
      if (result.kind === 'paid' || result.kind === 'partial') appended('order.paid');
      if (result.kind === 'partial') appended('combine.partial');
      else if (result.kind === 'second_payment') appended('payment.duplicate');
      return result;
    },
  });

  const instrumentedOrders = overriding(orders, {
    markClosed: async (...args: Parameters<typeof orders.markClosed>): Promise<MarkClosedResult> => {
      const result = await orders.markClosed(...args);
      if (result.kind === 'closed') appended('order.closed');
      return result;
    },
  });

  const instrumentedRefunds = overriding(refunds, {
    settleRefund: async (...args: Parameters<typeof refunds.settleRefund>): Promise<SettleRefundResult> => {
      const [, settling] = args;
      const observed = settling.source === 'notify' ? notify?.take() : undefined;
      const result = await recorded(observed, refunds.settleRefund(...args));
      if (result.kind === 'settled') appended(REFUND_EVENTS[settling.state]);
      return result;
    },
  });

  return new Proxy(store, {
    get(t, prop) {
      if (prop === 'attempts') return instrumentedAttempts;
      if (prop === 'orders') return instrumentedOrders;
      if (prop === 'refunds') return instrumentedRefunds;
      return Reflect.get(t, prop, t);
    },
  });
}

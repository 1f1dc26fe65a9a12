/**
 * mppay_notifications_total{kind, api, outcome}: one count per request to a notify path, whatever happens to it,
 * with the outcome the notify services decided (README.md "Metrics"). The services stay unaware of metrics; what
 * they decided is observed at the two boundaries they call, and gathered per request here:
 *
 *  - the gateway (metrics/gateway.ts) reports what parsing the raw notification gave: rejected and why, a failed
 *    payment, a payment, a refund status, a scan. The request is found by its headers object, which the notify
 *    route hands to the gateway untouched (it is Koa's `ctx.req.headers`), so no async context is needed;
 *  - the store (metrics/store-events.ts) reports what recording it gave (paid, duplicate, amount mismatch…). The
 *    services call markPaid / settleRefund in the same synchronous run as the parse (no await in between), so
 *    the parse leaves its request in a one-entry slot that the store call takes; the slot is cleared at the next
 *    microtask, so a later call can never pick up a stale request.
 *
 * The HTTP status settles the rest (413 too large, 5xx store error), and is the fallback if a service ever
 * changes shape: the count is still exact, only the outcome gets coarser.
 */
import type { NotificationRejection } from '../gateway/errors.ts';
import type { Metrics, NotificationKind } from './registry.ts';

export type ParsedAs = 'payment' | 'payment_failed' | 'refund' | 'refund_processing' | 'scan';

interface Observation {
  kind: NotificationKind;
  rejected?: NotificationRejection;
  parsed?: ParsedAs;
  /** What the store said: markPaid's or settleRefund's result kind, or `error` when it threw. */
  recorded?: string;
}

/** markPaid / settleRefund results → outcome names. */
const RECORDED: Record<string, string> = {
  // payments (mark-paid.lua)
  paid: 'acked',
  duplicate: 'duplicate',
  second_payment: 'second_payment',
  amount_mismatch: 'amount_mismatch',
  // refunds (settle-refund.lua)
  settled: 'acked',
  unchanged: 'duplicate',
  error: 'store_error',
};

export interface NotifyPaths {
  apiVersion: string;
  notifyPath: string;
  refundNotifyPath: string;
  nativeScanPath: string | undefined;
}

export class NotifyObserver {
  readonly #metrics: Metrics;
  #api = '';
  readonly #kinds = new Map<string, NotificationKind>();
  readonly #byHeaders = new WeakMap<object, Observation>();
  #slot: Observation | undefined;

  constructor(metrics: Metrics) {
    this.#metrics = metrics;
  }

  /** The gateway's callback paths (gateway/index.ts calls this when it builds the gateway). */
  watch(paths: NotifyPaths): void {
    this.#api = paths.apiVersion;
    this.#kinds.clear();
    this.#kinds.set(paths.notifyPath, 'payment');
    this.#kinds.set(paths.refundNotifyPath, 'refund');
    if (paths.nativeScanPath !== undefined) this.#kinds.set(paths.nativeScanPath, 'native_scan');
  }

  /** The notification kind of a request, or undefined for any other request (a Map lookup). */
  kindOf(method: string, path: string): NotificationKind | undefined {
    return method === 'POST' ? this.#kinds.get(path) : undefined;
  }

  /** Starts observing a notify request; `finish` counts it. */
  begin(headers: object, kind: NotificationKind): object {
    const observation: Observation = { kind };
    this.#byHeaders.set(headers, observation);
    return observation;
  }

  /** Counts the notification; returns its outcome (the access line's error id for a refused one). */
  finish(handle: object, status: number): string {
    const observation = handle as Observation;
    const outcome = outcomeOf(observation, status);
    this.#metrics.notifications.inc({ kind: observation.kind, api: this.#api, outcome });
    return outcome;
  }

  // ---- called by the gateway decorator -----------------------------------------------------------------------

  rejected(headers: object, reason: NotificationRejection): void {
    const observation = this.#byHeaders.get(headers);
    if (observation) observation.rejected = reason;
  }

  parsed(headers: object, as: ParsedAs): void {
    const observation = this.#byHeaders.get(headers);
    if (!observation) return;
    observation.parsed = as;
    this.#slot = observation;
    queueMicrotask(() => {
      if (this.#slot === observation) this.#slot = undefined;
    });
  }

  // ---- called by the store decorator -------------------------------------------------------------------------

  /** The notification whose parse just ran in this synchronous run, if any (taken: one store call each). */
  take(): { record(result: string): void } | undefined {
    const observation = this.#slot;
    this.#slot = undefined;
    return observation && { record: (result) => (observation.recorded = result) };
  }
}

function outcomeOf(o: Observation, status: number): string {
  if (o.rejected) return `rejected_${o.rejected}`;
  if (status === 413) return 'too_large';
  if (o.parsed === 'payment_failed') return 'payment_failed';
  if (o.parsed === 'refund_processing') return 'processing';
  if (status >= 500) return 'store_error';
  if (status === 404) return o.kind === 'refund' ? 'unknown_refund' : 'unknown_order';
  const recorded = o.recorded === undefined ? undefined : RECORDED[o.recorded];
  if (recorded) return recorded;
  if (status === 400) return o.parsed === undefined ? 'rejected' : 'refused';
  if (status < 300) return o.kind === 'native_scan' ? 'answered' : 'acked';
  return 'error';
}

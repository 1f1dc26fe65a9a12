/**
 * What reconciliation keeps (docs/reconciliation.md): the report of each reconciled Beijing date and merchant, a
 * run claim so that one process reconciles a date (all its merchants) at a time, and the refunds WeChat's bill shows that the shop never asked
 * for (console refunds), recorded once through their own transition (lua/record-external-refund.lua).
 */
import type { OrderStatus } from '@mp-pay/shared/api';

/** A refund made outside the shop (the merchant console), as the bill shows it. */
export interface ExternalRefund {
  orderId: string;
  /** The payment (attempt) refunded. */
  outTradeNo: string;
  outRefundNo: string;
  refundId: string;
  refundFen: number;
  /** Epoch ms: WeChat's refund time (from the bill). */
  at: number;
  /** Who recorded it: `reconcile:<date>`. */
  source: string;
}

export type RecordExternalRefundResult =
  | { kind: 'recorded'; orderStatus: OrderStatus }
  | { kind: 'already_recorded' }
  /** The shop's own refund of that number: not external. */
  | { kind: 'own_refund' }
  | { kind: 'not_paid' }
  | { kind: 'not_found' };

export interface StoredReport {
  json: string;
  csv: string;
  runs: number;
  lastRunAt: number;
}

/** A `reconciliation.completed` event: `mchid` names another merchant's report (absent: the shop's own). */
export interface ReconciliationCompleted {
  date: string;
  mchid?: string;
  counts: Record<string, number>;
  at: number;
}

export interface ReconciliationStore {
  /**
   * Stores a date's report of one merchant's bill (`merchant`: another merchant's mchid; absent: the shop's own,
   * kept where it always was); appends `reconciliation.completed` (with `counts`, and `mchid` for another
   * merchant) only when its JSON differs from the stored one, so a re-run that found the same things emits
   * nothing. Returns whether it changed.
   */
  saveReport(
    date: string,
    report: { json: string; csv: string; counts: Record<string, number> },
    now: number,
    merchant?: string,
  ): Promise<{ changed: boolean }>;
  getReport(date: string, merchant?: string): Promise<StoredReport | undefined>;
  /** One runner per date: true when `owner` got the claim for `ttlMs` (SET NX PX). */
  claimRun(date: string, owner: string, ttlMs: number): Promise<boolean>;
  /** Gives the claim back, only if `owner` still holds it. */
  releaseRun(date: string, owner: string): Promise<void>;
  recordExternalRefund(refund: ExternalRefund): Promise<RecordExternalRefundResult>;
  /** The external refunds of an order, by out_refund_no. */
  listExternalRefunds(orderId: string): Promise<ExternalRefund[]>;
  /** The `reconciliation.completed` events, oldest first (operations and tests). */
  readCompleted(): Promise<ReconciliationCompleted[]>;
}

/** Kept like the order streams' cap: the completed events are one a day. */
export const RECONCILIATION_EVENTS_MAX_LEN = 1000;

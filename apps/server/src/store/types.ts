/**
 * Storage contract of the server, split by concern: users and sessions, orders, payment attempts, background
 * queues, events. Two implementations (Redis for real use, memory for the zero-config `pnpm start`) pass one
 * contract test suite (test/store.contract.test.ts). The data model is described in docs/architecture.md.
 *
 * Every state change is one atomic operation here (one Lua script in Redis): status compare-and-set, amount
 * check, event append and queue bookkeeping happen together or not at all, so several server processes can race
 * on the same order safely.
 */
import type { IdMinter } from './shards.ts';
import type { OrderLine, OrderStatus, PaymentChannel } from '@mp-pay/shared/api';
import type { ApiVersion, LaunchSignType, Prepared, TradeState } from '../gateway/types.ts';
import type { RateLimitStore } from './rate-limit.ts';
import type { AccessTokenStore } from './access-tokens.ts';
import type { ReconciliationStore } from './reconciliations.ts';
export type * from './reconciliations.ts';
export type { RateLimitHit, RateLimitStore } from './rate-limit.ts';
export type { AccessTokenStore, CachedAccessToken } from './access-tokens.ts';

// ---- users and sessions ------------------------------------------------------------------------------------

/** A buyer: one user id for every (appid, openid) identity WeChat gives them. */
export interface UserRecord {
  id: string;
  createdAt: number;
  /** appid → openid. */
  identities: Record<string, string>;
}

export interface Identity {
  appId: string;
  openid: string;
}

export type ResolveIdentityResult = { userId: string; created: boolean };

export interface UserStore {
  /**
   * The user of an identity, created with `fresh` on first sight. Atomic: two first sign-ins at once (two
   * processes) end with one user.
   */
  resolveIdentity(
    identity: Identity,
    fresh: { userId: string; createdAt: number },
  ): Promise<ResolveIdentityResult>;
  getUser(userId: string): Promise<UserRecord | undefined>;
}

export interface SessionData {
  userId: string;
  /**
   * The identity the buyer signed in with: the mini-program's or the official account's appid and openid.
   * Both absent for a guest session (a browser outside WeChat: H5, Native, APP; docs/channels.md).
   */
  appId?: string;
  openid?: string;
  /** Mini-program sessions only. Server-side only: never sent to a client, never logged. */
  sessionKey?: string;
  createdAt: number;
}

export interface SessionStore {
  /** `id` is the SHA-256 of the bearer token, so a store dump holds no usable token. */
  createSession(id: string, data: SessionData, ttlSeconds: number): Promise<void>;
  /** Returns the session and restarts its TTL (sliding expiry), or undefined when unknown or expired. */
  touchSession(id: string, ttlSeconds: number): Promise<SessionData | undefined>;
}

// ---- orders -----------------------------------------------------------------------------------------------

export interface OrderRecord {
  id: string;
  /** The owner: a user id, never an openid (a buyer may pay through several apps). */
  userId: string;
  status: OrderStatus;
  description: string;
  items: OrderLine[];
  totalFen: number;
  /** Epoch milliseconds. */
  createdAt: number;
  expiresAt: number;
  /** out_trade_no of the attempt offered to the buyer now (the latest one). */
  currentAttempt: string;
  /** Attempts made so far (numbers 1..attemptCount). */
  attemptCount: number;
  /** out_trade_no of the attempt that paid the order. */
  paidAttempt?: string;
  /** A partially paid combine: what it took (its refund is requested at once); otherwise the total was paid. */
  paidFen?: number;
  paidAt?: number;
  transactionId?: string;
  /** What made it PAID: `notify`, `query` (orderquery) or `close` (closeorder said ORDERPAID). */
  paidVia?: string;
  closedAt?: number;
  closeReason?: string;
  /** The buyer's latest refund request, if any. */
  refundRequest?: RefundRequestRecord;
  /** The "payment succeeded" subscribe message, once the buyer answered (docs/subscribe-messages.md). */
  paidMessage?: PaidMessageRecord;
}

/**
 * ACCEPTED: to be sent once the order is PAID (it is then in the `message` queue); SENT / FAILED: WeChat's
 * answer to the one send; DECLINED: the buyer did not accept (reject, ban, filter).
 */
export type PaidMessageState = 'ACCEPTED' | 'SENT' | 'DECLINED' | 'FAILED';

export interface PaidMessageRecord {
  state: PaidMessageState;
  templateId: string;
  /** wx.requestSubscribeMessage's answer: accept, reject, ban or filter. */
  answer: string;
  answeredAt: number;
  /** Who receives it: the mini-program's appid and the buyer's openid under it (server-side only). */
  appId: string;
  openid: string;
  sentAt?: number;
  /** FAILED: why (WeChat's errcode and errmsg, or a local reason). */
  reason?: string;
  msgid?: string;
}

export type AnswerPaidMessageResult =
  /** Recorded now; `queued`: accepted for a paid order, so it is due for sending at once. */
  | { kind: 'answered'; queued: boolean }
  /** An answer was recorded before: nothing changed (the first answer wins). */
  | { kind: 'already'; state: PaidMessageState }
  | { kind: 'closed' }
  | { kind: 'not_found' };

export type FinishPaidMessageResult = { kind: 'finished' } | { kind: 'not_accepted' } | { kind: 'not_found' };

export type RefundRequestState = 'REQUESTED' | 'APPROVED' | 'REJECTED';

export interface RefundRequestRecord {
  state: RefundRequestState;
  reason: string;
  requestedAt: number;
  decidedAt?: number;
  /** `staff:<name>` or `policy:auto`. */
  decidedBy?: string;
  /** The refund an approval requested. */
  refund?: string;
}

export type AskRefundResult =
  { kind: 'asked' } | { kind: 'open' } | { kind: 'not_paid' } | { kind: 'not_found' };
export type DecideRefundResult =
  { kind: 'decided' } | { kind: 'not_open'; state: string } | { kind: 'not_found' };

export type NewOrder = Pick<
  OrderRecord,
  'id' | 'userId' | 'description' | 'items' | 'totalFen' | 'createdAt' | 'expiresAt'
>;

export interface CreateOrderOptions {
  /** Scoped to the order's user. */
  idempotencyKey?: string;
  /** Hash of the request; the same key with another fingerprint is a conflict. */
  fingerprint: string;
  idempotencyTtlSeconds: number;
  /** When the background worker should first ask WeChat about the first attempt (absent a notification). */
  queryDueAt: number;
}

export type CreateOrderResult =
  /** `attempt`: the first attempt as written (no read back on the hot path of order creation). */
  | { kind: 'created'; order: OrderRecord; attempt: AttemptRecord }
  | { kind: 'replayed'; order: OrderRecord }
  | { kind: 'conflict' };

export interface OrderPage {
  orders: OrderRecord[];
  /** Whether older orders exist after the last one returned. */
  hasMore: boolean;
}

/** A position in a buyer's order list: the last order of the previous page. */
export interface ListPosition {
  createdAt: number;
  id: string;
}

export type MarkClosedResult =
  | { kind: 'closed' }
  | { kind: 'already_closed' }
  | { kind: 'already_paid' }
  /** Another attempt was opened meanwhile (the buyer paid again): close that one at WeChat first. */
  | { kind: 'attempt_open'; outTradeNo: string }
  | { kind: 'not_found' };

export interface OrderStore {
  readonly kind: 'redis' | 'memory';
  /** Stores a PENDING order together with its first payment attempt. */
  createOrder(
    order: NewOrder,
    firstAttempt: NewAttempt,
    options: CreateOrderOptions,
  ): Promise<CreateOrderResult>;
  getOrder(id: string): Promise<OrderRecord | undefined>;
  /** A buyer's orders, newest first, starting after `after` (the last order of the previous page). */
  listOrders(userId: string, page: { limit: number; after?: ListPosition | undefined }): Promise<OrderPage>;
  /** Every order in a status, newest first (the staff's lists). */
  listByStatus(
    status: OrderStatus,
    page: { limit: number; after?: ListPosition | undefined },
  ): Promise<OrderPage>;
  /**
   * PENDING → CLOSED once WeChat confirmed that `closedAttempt` (the open attempt, if any) cannot be paid.
   * Attempts still waiting to be closed at WeChat keep the order in the close queue.
   */
  markClosed(
    id: string,
    closing: { closedAt: number; reason: string; closedAttempt: string | undefined },
  ): Promise<MarkClosedResult>;
  /** The buyer asks for a refund of a paid order: one open request at a time. */
  askRefund(id: string, ask: { reason: string; at: number }): Promise<AskRefundResult>;
  /** The one decision on an open request (two staff members at once: one wins). */
  decideRefund(
    id: string,
    decision: { approve: boolean; at: number; by: string; refund: string | undefined },
  ): Promise<DecideRefundResult>;
  /**
   * The buyer's answer for the "payment succeeded" message, recorded once (a CLOSED order takes none). An accept
   * for an order already paid queues the message at `answer.answeredAt`; mark-paid queues it otherwise.
   */
  answerPaidMessage(
    id: string,
    answer: Pick<PaidMessageRecord, 'templateId' | 'answer' | 'answeredAt' | 'appId' | 'openid'>,
  ): Promise<AnswerPaidMessageResult>;
  /** ACCEPTED → SENT or FAILED after the one send, and out of the `message` queue; any other state: unchanged. */
  finishPaidMessage(
    id: string,
    outcome: { state: 'SENT' | 'FAILED'; at: number; reason?: string; msgid?: string },
  ): Promise<FinishPaidMessageResult>;
}

// ---- payment attempts -------------------------------------------------------------------------------------

/**
 * One WeChat trade made to pay an order.
 *  OPEN    offered to the buyer (only the order's current attempt can be OPEN)
 *  ENDED   no longer offered (the payment failed, the buyer switched, the order got paid otherwise) but not yet
 *          confirmed closed at WeChat: the close queue closes it
 *  PAID    WeChat says the buyer paid it
 *  CLOSED  WeChat confirmed it can never be paid
 */
export type AttemptState = 'OPEN' | 'ENDED' | 'PAID' | 'CLOSED';
/** failed: PAYERROR; superseded: replaced by another attempt; order_paid: another attempt paid; closing: being
 * closed before it was ever launched (a placing may still be in flight). */
/** `cancelled`: the buyer cancelled before WeChat would close the trade; the close queue closes it later. */
export type AttemptEndReason = 'failed' | 'superseded' | 'order_paid' | 'closing' | 'cancelled';

export interface AttemptRecord {
  outTradeNo: string;
  orderId: string;
  seq: number;
  channel: PaymentChannel;
  apiVersion: ApiVersion;
  /** Fixed when placed: re-issued launches are signed with it, whatever the process's current setting. */
  signType: LaunchSignType;
  appId: string;
  payerOpenid?: string;
  totalFen: number;
  description: string;
  clientIp: string;
  notifyUrl: string;
  /** H5: the scene_info (site URL and name) the trade was placed with, sent again when it is re-placed. */
  h5Scene?: { wapUrl: string; wapName: string };
  /**
   * A combine (合单) payment: the order paid through one sub-order per merchant, each a trade of its own at WeChat
   * (docs/combine.md). The attempt's out_trade_no is the combine_out_trade_no.
   */
  combine?: { subOrders: SubOrderSpec[] };
  /** A combine's sub-order: the combine it belongs to, and the merchant it pays. Never an order's current attempt. */
  combineOf?: string;
  mchid?: string;
  /** Epoch ms; with the fields above, everything needed to place the trade again byte for byte. */
  createdAt: number;
  expiresAt: number;
  state: AttemptState;
  /** WeChat's last reported state of the trade. */
  tradeState?: TradeState;
  endReason?: AttemptEndReason;
  /** Epoch ms when it stopped being OPEN. */
  endedAt?: number;
  prepared?: Prepared;
  /** Epoch ms when `prepared` was recorded (absent for attempts prepared before it was kept). */
  preparedAt?: number;
  transactionId?: string;
  paidAt?: number;
  paidVia?: string;
  closedAt?: number;
  /** A partially paid combine: what its paid sub-orders took. */
  partialFen?: number;
  /** A combine: its sub-orders' out_trade_no (their records are attempts with `combineOf`). */
  subs?: string[];
}

export type NewAttempt = Pick<
  AttemptRecord,
  | 'outTradeNo'
  | 'orderId'
  | 'seq'
  | 'channel'
  | 'apiVersion'
  | 'signType'
  | 'appId'
  | 'payerOpenid'
  | 'totalFen'
  | 'description'
  | 'clientIp'
  | 'notifyUrl'
  | 'h5Scene'
  | 'combine'
  | 'combineOf'
  | 'mchid'
  | 'createdAt'
  | 'expiresAt'
>;

/** One merchant's part of a combine payment, fixed when the attempt is made. */
export interface SubOrderSpec {
  outTradeNo: string;
  mchid: string;
  /** The catalogue's seller key of that merchant (services/merchants.ts). */
  merchant: string;
  totalFen: number;
  /** The sub-order's description (≤ 127 bytes): its lines' names. */
  description: string;
}

export type OpenAttemptResult =
  | { kind: 'opened'; attempt: AttemptRecord }
  /** An attempt is already open (and `supersede` was not asked): use it. */
  | { kind: 'open_exists'; outTradeNo: string }
  | { kind: 'not_pending'; status: OrderStatus }
  | { kind: 'too_many' }
  | { kind: 'not_found' };

export type SetPreparedResult =
  | { kind: 'ok' }
  | { kind: 'not_open'; orderStatus: OrderStatus; state: AttemptState }
  | { kind: 'not_found' };

/** set-scan-prepay: the prepay_id to answer the scan with (the first one recorded wins). */
export type SetScanPrepayResult =
  | { kind: 'ok'; prepayId: string }
  | { kind: 'not_open'; orderStatus: OrderStatus; state: AttemptState }
  | { kind: 'not_found' };

export interface PaymentFacts {
  transactionId: string;
  /** The amount WeChat reports, in fen. Must equal the order's total or nothing changes. */
  totalFen: number;
  paidAt: number;
  source: 'notify' | 'query' | 'close';
  /** The merchant WeChat names when not the shop's own: it must be the attempt's (mark-paid.lua). */
  mchid?: string;
}

export type MarkPaidResult =
  /** This call made the order PAID and appended exactly one order.paid event. */
  | { kind: 'paid'; previous: OrderStatus }
  /** This attempt was already PAID: nothing changed. `sameTransaction` false means another transaction_id. */
  | { kind: 'duplicate'; sameTransaction: boolean }
  /**
   * The order was already PAID by another attempt: this second payment is recorded on its own attempt, emitted
   * once as payment.duplicate, and its full refund (`refund`, an out_refund_no) requested in the same step.
   */
  | { kind: 'second_payment'; paidAttempt: string; refund: string }
  | { kind: 'amount_mismatch'; expectedFen: number }
  /** WeChat names another merchant than the attempt's: refused, nothing changed. */
  | { kind: 'other_merchant' }
  | { kind: 'not_found' };

/** One sub-order as WeChat reports it (combine notification or query). */
export interface SubOrderReport {
  outTradeNo: string;
  /** The merchant WeChat names for it: it must be the sub-order's own. */
  mchid: string;
  /** `failed`: WeChat can no longer take it (closed, payment failed, revoked); `open`: still payable. */
  outcome: 'paid' | 'failed' | 'open';
  transactionId?: string;
  totalFen?: number;
  paidAt?: number;
}

export type MarkCombineResult =
  /** Every sub-order paid: this call made the order PAID (one order.paid). */
  | { kind: 'paid'; previous: OrderStatus }
  /** Nothing new. */
  | { kind: 'duplicate' }
  /** The order was already PAID by another attempt: every sub-order's full refund requested. */
  | { kind: 'second_payment'; paidAttempt: string; refunds: string[] }
  /** Some sub-orders paid, the others failed: PAID with what was paid, and its full refund requested. */
  | { kind: 'partial'; previous: OrderStatus; refunds: string[] }
  /** Nothing paid and nothing payable: the combine ended; paying again opens a new attempt. */
  | { kind: 'failed' }
  /** Paid sub-orders recorded; others still payable. */
  | { kind: 'progress'; paidCount: number }
  | { kind: 'amount_mismatch'; outTradeNo: string; expectedFen: number }
  | { kind: 'other_transaction'; outTradeNo: string }
  /** WeChat names another merchant than the sub-order's: refused, nothing changed. */
  | { kind: 'other_merchant'; outTradeNo: string }
  | { kind: 'not_found' };

export type EndAttemptResult =
  { kind: 'ended' } | { kind: 'not_open'; state: AttemptState } | { kind: 'not_found' };
export type CloseAttemptResult =
  { kind: 'closed' } | { kind: 'already_closed' } | { kind: 'paid' } | { kind: 'not_found' };

export interface AttemptStore {
  getAttempt(outTradeNo: string): Promise<AttemptRecord | undefined>;
  /** Oldest first. */
  listAttempts(orderId: string): Promise<AttemptRecord[]>;
  /**
   * A new attempt for a PENDING order. With `supersede`, an OPEN current attempt becomes ENDED (to be closed at
   * WeChat from `closeDueAt`); without it, an OPEN attempt is reported instead of opening another.
   */
  openAttempt(
    attempt: NewAttempt,
    options: { supersede: boolean; queryDueAt: number; closeDueAt: number; now: number },
  ): Promise<OpenAttemptResult>;
  /**
   * Records what placing the trade returned, and when (epoch ms), while the attempt is OPEN and the order
   * PENDING. Recording again replaces both: an H5 trade is re-placed for a fresh mweb_url (docs/channels.md).
   */
  setPrepared(outTradeNo: string, prepared: Prepared, preparedAt?: number): Promise<SetPreparedResult>;
  /**
   * Native mode 1: records the prepay_id a scan's trade got, beside the long link, while the attempt is OPEN and
   * the order PENDING; a prepay_id recorded first is kept and returned (docs/channels.md "Native mode 1").
   */
  setScanPrepay(outTradeNo: string, prepayId: string, at: number): Promise<SetScanPrepayResult>;
  /** The one transition to paid, shared by notifications, orderquery and closeorder(ORDERPAID). */
  markPaid(outTradeNo: string, facts: PaymentFacts): Promise<MarkPaidResult>;
  /** The same for a combine payment: every sub-order's state as WeChat reports it (mark-combine.lua). */
  markCombine(
    combineNo: string,
    report: { subOrders: SubOrderReport[]; source: 'notify' | 'query' | 'close'; now: number },
  ): Promise<MarkCombineResult>;
  /** OPEN → ENDED (WeChat says the payment failed); the attempt is closed at WeChat from `closeDueAt`. */
  endAttempt(
    outTradeNo: string,
    ending: { reason: AttemptEndReason; tradeState: TradeState; closeDueAt: number; at: number },
  ): Promise<EndAttemptResult>;
  /** OPEN/ENDED → CLOSED after WeChat confirmed the trade cannot be paid (the order is not touched). */
  markAttemptClosed(outTradeNo: string, closedAt: number): Promise<CloseAttemptResult>;
}

// ---- refunds ------------------------------------------------------------------------------------------------

/**
 * PENDING     requested, not yet accepted by WeChat (waiting for its turn: one refund of a payment a minute)
 * PROCESSING  WeChat accepted it; the money is on its way
 * SUCCESS     refunded
 * CLOSED      WeChat closed it without refunding: the amount may be refunded again
 * ABNORMAL    the buyer's account could not take it (v2 CHANGE): staff act in the merchant console
 */
export type RefundRecordState = 'PENDING' | 'PROCESSING' | 'SUCCESS' | 'CLOSED' | 'ABNORMAL';

export interface RefundRecord {
  /** `<out_trade_no>R<nn>`, minted by the store (domain/ids.ts). */
  outRefundNo: string;
  orderId: string;
  /** The payment (attempt) refunded. */
  outTradeNo: string;
  seq: number;
  refundFen: number;
  /** The payment's amount, which WeChat wants with every refund. */
  totalFen: number;
  reason: string;
  /** `staff:<name>`, `buyer`, or `system:<why>`. */
  requestedBy: string;
  createdAt: number;
  /** When it may be sent to WeChat (refunds of one payment at least a minute apart). */
  dueAt: number;
  state: RefundRecordState;
  refundId?: string;
  sentAt?: number;
  /** When it reached SUCCESS, CLOSED or ABNORMAL. */
  settledAt?: number;
}

export type NewRefund = Pick<
  RefundRecord,
  'outTradeNo' | 'refundFen' | 'reason' | 'requestedBy' | 'createdAt'
>;

export interface RefundRules {
  /** Refunds of one payment are sent at least this far apart (queued, not refused). */
  minSpacingMs: number;
  maxCount: number;
  /** No refunds later than this after the payment (WeChat: one year). */
  maxAgeMs: number;
}

export type RequestRefundResult =
  | { kind: 'requested'; refund: RefundRecord }
  /** The payment is not PAID (never paid, or unknown). */
  | { kind: 'not_paid' }
  /** More than what remains of the payment: `remainingFen` is what can still be refunded. */
  | { kind: 'too_much'; remainingFen: number }
  | { kind: 'too_many' }
  | { kind: 'too_late' }
  | { kind: 'not_found' };

export type RefundOutcome = 'SUCCESS' | 'CLOSED' | 'ABNORMAL';

export type SettleRefundResult =
  /** Changed now; one event appended (refund.succeeded, refund.closed or refund.abnormal). */
  | { kind: 'settled'; orderStatus: OrderStatus }
  /** Already in that state, or already final: nothing changed. */
  | { kind: 'unchanged'; state: RefundRecordState }
  /** WeChat names another merchant than the refunded trade's: refused, nothing changed. */
  | { kind: 'other_merchant' }
  | { kind: 'not_found' };

export type MarkRefundSentResult =
  { kind: 'sent' } | { kind: 'not_pending'; state: RefundRecordState } | { kind: 'not_found' };

export interface RefundStore {
  /**
   * Records a refund of a paid payment, atomically with the rules: the refunds of a payment never add up to more
   * than it (CLOSED ones free their amount again), at most `maxCount`, within `maxAgeMs` of the payment; it is
   * queued to be sent at `dueAt`, at least `minSpacingMs` after the previous refund of the payment.
   */
  requestRefund(refund: NewRefund, rules: RefundRules): Promise<RequestRefundResult>;
  getRefund(outRefundNo: string): Promise<RefundRecord | undefined>;
  /** Oldest first. */
  listRefunds(orderId: string): Promise<RefundRecord[]>;
  /** PENDING → PROCESSING once WeChat accepted it; asked about again at `queryDueAt`. */
  markRefundSent(
    outRefundNo: string,
    sent: { refundId: string | undefined; sentAt: number; queryDueAt: number },
  ): Promise<MarkRefundSentResult>;
  /** The refund's outcome from WeChat (notification or query), recorded once with its event. */
  /**
   * `mchid`: the merchant WeChat names for the refund when it is not the shop's own (`ownMchid`); it must be the
   * refunded trade's, or nothing changes (`other_merchant`).
   */
  settleRefund(
    outRefundNo: string,
    outcome: {
      state: RefundOutcome;
      refundId: string | undefined;
      at: number;
      source: string;
      mchid?: string;
      ownMchid?: string;
    },
  ): Promise<SettleRefundResult>;
}

// ---- background queues --------------------------------------------------------------------------------------

/**
 * `query`: PENDING orders whose open attempt got no notification yet (orderquery with backoff).
 * `close`: orders with attempts to close at WeChat: ENDED attempts at once, the open one at expiry.
 * `refund`: refunds to send (PENDING, from their due time) or to ask about (PROCESSING); members are
 *   out_refund_no, not order ids.
 * `message`: paid orders whose accepted "payment succeeded" subscribe message is to be sent.
 */
export type DueQueue = 'query' | 'close' | 'refund' | 'message';
export const DUE_QUEUES: readonly DueQueue[] = ['close', 'query', 'refund', 'message'];

export interface DueClaim {
  /** The queued member: an order id, or an out_refund_no in the refund queue. */
  orderId: string;
  /** 1 on the first claim of this order in this queue, then 2, 3, ... (drives the backoff). */
  attempt: number;
  /** When this claim's lease ends (its due time while claimed): identifies the claim when it is released. */
  leaseEnd: number;
}

/** What the worker decided for a claimed order: done in this queue, or due again at a time. */
export type ClaimRelease = { finish: true } | { finish: false; dueAt: number };

export interface QueueStore {
  /**
   * Atomically takes up to `limit` orders due at `now` from a queue and pushes each one's due time to
   * `now + leaseMs`, so no other process takes it until the lease runs out (a crashed worker's jobs come back).
   */
  claimDue(queue: DueQueue, now: number, leaseMs: number, limit: number): Promise<DueClaim[]>;
  /**
   * Applies the worker's decision for a claim, only if the order still holds the claim's lease: a transition
   * that moved or removed the order meanwhile wins. Returns whether it was applied.
   */
  release(queue: DueQueue, claim: DueClaim, release: ClaimRelease): Promise<boolean>;
}

// ---- events -----------------------------------------------------------------------------------------------

export type OrderEventType =
  | 'order.paid'
  | 'order.closed'
  | 'payment.duplicate'
  | 'refund.succeeded'
  | 'refund.closed'
  | 'refund.abnormal'
  /** A refund made outside the shop (merchant console), recorded by reconciliation (docs/reconciliation.md). */
  | 'refund.external'
  /** A combine paid only in part (mark-combine.lua): `totalFen` is what was paid; its refund was requested. */
  | 'combine.partial';

export interface OrderEvent {
  id: string;
  type: OrderEventType;
  orderId: string;
  /** The attempt concerned (the paying one for order.paid, the second one for payment.duplicate). */
  outTradeNo: string;
  transactionId?: string;
  totalFen: number;
  /** Refund events: the refund and its amount. */
  outRefundNo?: string;
  refundFen?: number;
  source: string;
  at: number;
  /** The merchant of the trade when it is not the shop's own, or a combine's sub-order (docs/combine.md). */
  mchid?: string;
  /** order.paid / payment.duplicate of a combine: its paid sub-orders, each its merchant's own trade. */
  subOrders?: EventSubOrder[];
  /** order.paid of a combine paid only in part: its refund is requested at once, nothing is to be shipped. */
  partial?: boolean;
}

export interface EventSubOrder {
  outTradeNo: string;
  transactionId: string;
  totalFen: number;
  mchid: string;
}

export interface EventStore {
  /**
   * Every shard's event stream, merged oldest first by entry id (operations and tests; consumers read the Redis
   * streams directly, docs/scaling.md). Each shard keeps about EVENTS_MAX_LEN entries, the oldest trimmed.
   */
  readEvents(): Promise<OrderEvent[]>;
  /** The same events in pages of about `count`, shard by shard (each oldest first): for readers of millions. */
  eventPages(options?: { count?: number }): AsyncIterable<OrderEvent[]>;
}

// ---- the whole store -----------------------------------------------------------------------------------------

export interface Store {
  readonly kind: 'redis' | 'memory';
  users: UserStore;
  sessions: SessionStore;
  orders: OrderStore;
  attempts: AttemptStore;
  refunds: RefundStore;
  queues: QueueStore;
  events: EventStore;
  /** Bill reconciliation reports, run claims and console refunds (src/store/reconciliations.ts). */
  reconciliations: ReconciliationStore;
  /** Fixed-window counters: guest sessions per address, orders per guest (src/store/rate-limit.ts). */
  rateLimits: RateLimitStore;
  /** The mini-program's access token, shared by every process (src/store/access-tokens.ts). */
  accessTokens: AccessTokenStore;
  /** Order and user ids minted into the shard their keys need (src/store/shards.ts). */
  ids: IdMinter;
  /** Resolves when the backing store answers (readiness). */
  ping(): Promise<void>;
  close(): Promise<void>;
  /** Redis stores: `listener` hears every client error (connection lost, timeouts), for the metrics. */
  onRedisError?(listener: (err: Error) => void): void;
}

/** Who and why, on the refund of a double payment (mark-paid requests it). */
export const DOUBLE_PAYMENT_BY = 'system:double_payment';
export const DOUBLE_PAYMENT_REASON = 'paid twice: refund of the second payment';
/** Who and why in the refunds of a partially paid combine (mark-combine.lua). */
export const COMBINE_PARTIAL_BY = 'system:combine_partial';
export const COMBINE_PARTIAL_REASON = 'combine payment incomplete: refund of the paid sub-orders';

/** Version of the stored data layout; a store holding another version refuses to start (docs/architecture.md). */
export const SCHEMA_VERSION = 3;

/**
 * The gateway boundary: everything the shop asks of WeChat Pay, in the shop's own words. Services speak only
 * these types; an adapter (gateway/v2 today, APIv3 next) turns them into a protocol and back, and is the only
 * place that knows WeChat's error codes, time formats and signatures (docs/architecture.md).
 */
import type { PaymentChannel, PaymentLaunch } from '@mp-pay/shared/api';
import type { BillEntry, BillType } from '@mp-pay/shared/bills';

export type { BillEntry, BillRow, BillSummary, BillType } from '@mp-pay/shared/bills';

export type ApiVersion = 'v2' | 'v3';
/** How an attempt's client parameters are signed; fixed when the trade is placed (docs/protocol.md §4). */
export type LaunchSignType = 'MD5' | 'HMAC-SHA256' | 'RSA';

/** One trade at WeChat, as the shop identifies it. */
export interface TradeRef {
  outTradeNo: string;
  /** The AppID the trade was placed for: queries and closes must name the same one. */
  appId: string;
  /**
   * The merchant the trade belongs to when it is not the shop's own (another seller's goods, a combine's
   * sub-order): its credentials place, query, refund and sign for it (APIv3; docs/combine.md).
   */
  mchid?: string;
}

/** One merchant's part of a combine (合单) payment as placed at WeChat (docs/combine.md). */
export interface CombineSubOrder {
  outTradeNo: string;
  mchid: string;
  totalFen: number;
  description: string;
}

/** What WeChat says about one sub-order of a combine (query reply or notification). */
export interface SubOrderStatus {
  outTradeNo: string;
  mchid: string;
  state: TradeState;
  /** Present when `state` is `paid`. */
  payment?: { transactionId: string; totalFen: number; paidAt: number };
}

/** A combine as WeChat knows it: `unknown` when it was never placed. */
export type CombineStatus = { state: 'unknown' } | { state: 'known'; subOrders: SubOrderStatus[] };

/** A verified combine notification: the combine (its combine_out_trade_no) and every sub-order's state. */
export interface CombineFact {
  outTradeNo: string;
  appId: string;
  subOrders: SubOrderStatus[];
}

export interface PrepareRequest extends TradeRef {
  channel: PaymentChannel;
  signType: LaunchSignType;
  description: string;
  totalFen: number;
  /** Mini-program and official-account payers only. */
  payerOpenid: string | undefined;
  /** What the trade sells: the order id (Native's product_id, and the mode-1 long link's). */
  productId: string;
  /** H5: the site WeChat shows and checks (scene_info / h5_info; docs/channels.md). */
  h5: { wapUrl: string; wapName: string };
  /** The buyer's address: spbill_create_ip / payer_client_ip. */
  clientIp: string;
  notifyUrl: string;
  /** Epoch ms. The adapter writes them in its protocol's format; the same values always give the same bytes. */
  createdAt: number;
  expiresAt: number;
  /**
   * A combine payment (APIv3): `outTradeNo` is the combine_out_trade_no, placed by the shop's own merchant
   * (combine_mchid), and these are its sub-orders, one per merchant.
   */
  subOrders?: CombineSubOrder[];
}

/** What WeChat answered when the trade was placed; kept on the attempt to re-issue launches. */
export interface Prepared {
  /** JSAPI, APP (and a Native trade placed from a mode-1 scan). */
  prepayId?: string;
  /** Native: the code_url of a trade placed at WeChat (mode 2, or mode 1 once scanned). */
  codeUrl?: string;
  /**
   * Native mode 1: the signed long link the QR shows. Alone it means nothing is placed at WeChat yet: such an
   * attempt is closed like an unplaced one (docs/channels.md "Native mode 1"; services/payments.ts).
   */
  link?: string;
  /** H5: mweb_url / h5_url, valid 5 minutes. */
  redirectUrl?: string;
}

/** An attempt as the adapter needs it to sign a launch: its own sign type and appId, never the process's. */
export interface LaunchRequest extends TradeRef {
  channel: PaymentChannel;
  signType: LaunchSignType;
  prepared: Prepared;
  /** H5: where WeChat's cashier sends the buyer back (the result page), appended as `redirect_url`. */
  returnUrl?: string;
}

/** A verified Native mode-1 scan (docs/channels.md): who scanned the long link of which product (order id). */
export interface NativeScan {
  productId: string;
  appId: string;
  openid: string;
}

/** What the shop answers a scan: the trade placed for it, or why it cannot be paid (shown to the buyer). */
export type NativeScanAnswer = { prepayId: string } | { refuse: string };

export type TradeState =
  /** The buyer paid (REFUND: paid, then refunded at least in part: the payment happened). */
  | 'paid'
  | 'not_paid'
  /** The buyer is entering a password or the bank is still answering. */
  | 'paying'
  /** The payment failed at WeChat; this trade can never be paid, a new one is needed. */
  | 'failed'
  | 'closed'
  /** WeChat does not know the trade (it was never placed). */
  | 'unknown';

/** A payment WeChat vouches for (a verified notification or a signed query reply). */
export interface PaymentFact {
  outTradeNo: string;
  appId: string;
  transactionId: string;
  totalFen: number;
  /** Epoch ms, from WeChat's own payment time. */
  paidAt: number;
  payerOpenid: string | undefined;
  /**
   * The merchant WeChat names for the trade when it is not the shop's own: a notification decrypted with one
   * merchant's key may only speak for that merchant's trades (mark-paid.lua checks it against the attempt's).
   */
  mchid?: string;
}

export interface TradeStatus {
  state: TradeState;
  /** Present when `state` is `paid`. */
  payment?: PaymentFact;
}

export type CloseResult = 'closed' | 'already_closed' | 'unknown' | 'already_paid';

export interface RefundRequest extends TradeRef {
  outRefundNo: string;
  totalFen: number;
  refundFen: number;
  reason?: string;
  notifyUrl?: string;
}
export type RefundState = 'processing' | 'succeeded' | 'closed' | 'abnormal';
export interface RefundStatus {
  outRefundNo: string;
  refundId: string | undefined;
  state: RefundState;
  refundFen: number | undefined;
  /** Epoch ms. */
  succeededAt: number | undefined;
  /** The merchant WeChat names for it when it is not the shop's own (it must be the refunded trade's). */
  mchid?: string;
}

/** A raw notification as it arrived: the exact bytes and the headers (v3 signs them). */
export interface RawNotification {
  body: Buffer;
  headers: Readonly<Record<string, string | string[] | undefined>>;
}

export type NotificationFact =
  | { kind: 'payment'; payment: PaymentFact }
  /** A combine payment's notification: each sub-order's state (docs/combine.md). */
  | { kind: 'combine'; combine: CombineFact }
  /** WeChat reports a failed payment: nothing to record. */
  | { kind: 'payment_failed'; outTradeNo: string };

/** What the shop decided about a notification; the adapter renders it in its protocol. */
export type NotificationAnswer = { ack: true } | { ack: false; status: number; message: string };

export interface NotificationReply {
  status: number;
  contentType: string;
  body: string;
}

export interface PaymentGateway {
  readonly apiVersion: ApiVersion;
  /** Where this protocol's notifications arrive (the path of notify_url). */
  readonly notifyPath: string;
  /** Where its refund notifications arrive. */
  readonly refundNotifyPath: string;
  /** Work before the first request (certificate mode downloads WeChat's certificates); throws when impossible. */
  start?(): Promise<void>;
  /** The sign type new attempts are placed with (the process's setting; an attempt keeps its own). */
  readonly defaultSignType: LaunchSignType;
  /** Places the trade at WeChat (unified order / prepay). Idempotent for identical requests. */
  prepare(request: PrepareRequest): Promise<Prepared>;
  /** Client parameters for a prepared attempt, signed afresh with the attempt's own sign type and appId. */
  launch(request: LaunchRequest): PaymentLaunch;
  query(ref: TradeRef): Promise<TradeStatus>;
  close(ref: TradeRef): Promise<CloseResult>;
  /** Whether this protocol pays for other merchants (sub-merchant trades, combine payments): APIv3 only. */
  readonly combine: boolean;
  /** The combine query (`ref.outTradeNo` = combine_out_trade_no). */
  queryCombine(ref: TradeRef): Promise<CombineStatus>;
  /** Closes a combine and its sub-orders. */
  closeCombine(
    ref: TradeRef,
    subOrders: readonly { outTradeNo: string; mchid: string }[],
  ): Promise<CloseResult>;
  refund(request: RefundRequest): Promise<RefundStatus>;
  queryRefund(ref: TradeRef & { outRefundNo: string }): Promise<RefundStatus>;
  /** Verifies and reads a notification; throws NotificationRejectedError when it cannot be trusted. */
  parseNotification(raw: RawNotification): NotificationFact;
  /** Verifies and reads a refund notification; throws NotificationRejectedError when it cannot be trusted. */
  parseRefundNotification(raw: RawNotification): RefundStatus;
  renderNotificationReply(answer: NotificationAnswer): NotificationReply;
  /**
   * Native mode 1 (APIv2 only; the v3 gateway throws): where WeChat posts scans of our long links, undefined
   * when this protocol has no scan callback.
   */
  readonly nativeScanPath: string | undefined;
  /** Verifies and reads a scan; throws NotificationRejectedError when it cannot be trusted. */
  parseNativeScan(raw: RawNotification): NativeScan;
  /**
   * Places the NATIVE trade a scan asks for (no openid: any buyer scanning again gets identical parameters, so
   * WeChat answers with the same trade). Idempotent like `prepare`.
   */
  placeScanned(request: PrepareRequest): Promise<Prepared>;
  /**
   * The scan reply: signed for the scan's AppID (prepay_id, or result_code FAIL with the reason shown to the
   * buyer), or the protocol's plain FAIL for a scan that could not be trusted (`ack: false`).
   */
  renderScanReply(answer: NativeScanAnswer | NotificationAnswer, appId?: string): NotificationReply;
  /**
   * The trade bill of one Beijing day (`date` YYYY-MM-DD), downloaded gzip-compressed (and, in v3, checked
   * against the signed SHA1), then its rows and summary read as a stream. Throws GatewayError `bill_not_ready`,
   * `no_bill`, `bill_out_of_window`, or the usual reasons (docs/reconciliation.md). `mchid`: whose bill (default
   * the shop's own); each merchant's bill is its own, asked for with its own key (docs/combine.md).
   */
  downloadBill(date: string, type: BillType, mchid?: string): Promise<AsyncIterable<BillEntry>>;
}

import type { SignType } from '@mp-pay/shared/wechatpay';

/**
 * In-memory state of the sandbox. Everything is bounded: a long-running sandbox (or a load test) evicts the
 * oldest orders and codes instead of growing without limit. Map iteration order is insertion order, so the
 * first key is always the oldest.
 */
export class BoundedMap<K, V> extends Map<K, V> {
  constructor(
    readonly capacity: number,
    private readonly onEvict?: (key: K, value: V) => void,
  ) {
    super();
  }

  override set(key: K, value: V): this {
    if (!this.has(key)) {
      while (this.size >= this.capacity) {
        const oldest = this.keys().next();
        if (oldest.done) break;
        const evicted = this.get(oldest.value) as V;
        this.delete(oldest.value);
        this.onEvict?.(oldest.value, evicted);
      }
    }
    return super.set(key, value);
  }
}

/** How a wx.requestPayment call is signed: the v2 order's sign type, or RSA for an order placed with APIv3. */
export type PaySignType = SignType | 'RSA';

export const TRADE_TYPES = ['JSAPI', 'APP', 'MWEB', 'NATIVE'] as const;
export type TradeType = (typeof TRADE_TYPES)[number];

/** WeChat's trade states that a JSAPI order can reach in the sandbox. */
export type TradeState = 'NOTPAY' | 'SUCCESS' | 'CLOSED' | 'PAYERROR';
/** What orderquery and the v3 query report: a paid order reads REFUND once one of its refunds succeeded. */
export type ReportedTradeState = TradeState | 'REFUND';

export interface PrepayRecord {
  prepayId: string;
  /** The order it pays, as `${mchId}:${outTradeNo}`. */
  orderKey: string;
  signType: PaySignType;
  /** When it was minted: an mweb_url / h5_url lives 5 minutes from here. */
  issuedAt: number;
  expiresAt: number;
  /** MWEB / h5: the `package` of its mweb_url (the cashier refuses another). */
  h5Package?: string;
  /** NATIVE: the code_url issued with it. */
  codeUrl?: string;
  /**
   * The signatures of the call that minted it (unifiedorder request and reply, or the v3 request's
   * Authorization signature): reused as paySign, they are a classic bug.
   */
  orderSigns: string[];
}

export interface NotificationAttempt {
  /** ISO time the attempt started. */
  at: string;
  /** 1-based number in the retry schedule; forged deliveries and duplicates share the number they follow. */
  attempt: number;
  kind:
    | 'genuine'
    | 'duplicate'
    | 'forged-bad-sign'
    | 'forged-wrong-amount'
    | 'forged-signtest'
    | 'forged-stale-timestamp'
    | 'forged-unknown-serial'
    | 'forged-tampered-ciphertext';
  /** Index of the copy when the concurrent fault sends several at once. */
  copy: number;
  outcome: 'acknowledged' | 'rejected' | 'error' | 'dropped';
  /** v3: the Wechatpay-Serial the notification was signed under (public key id or certificate serial). */
  serial?: string;
  httpStatus?: number;
  /** First 200 characters of the merchant's reply. */
  reply?: string;
  error?: string;
  durationMs?: number;
  /** What was POSTed (the sandbox console shows it): the URL, headers and body, the body capped at 16 KiB. */
  request?: { url: string; headers: Record<string, string>; body: string };
  /**
   * The exact text the signature covers: v3 `timestamp\nnonce\nbody\n`; v2 stringA with `&key=` and the key
   * withheld. Absent when nothing was signed (v2 refund notifications, the SIGNTEST probe).
   */
  signed?: string;
  /** The merchant's reply body, capped at 4 KiB (`reply` keeps the first 200 characters). */
  replyBody?: string;
}

export interface PaymentAttempt {
  at: string;
  /** The buyer's outcome, or `refused` when the payer rejected the request (bad paySign, paid order, ...). */
  outcome: 'success' | 'cancel' | 'fail' | 'payerror' | 'refused';
  errMsg?: string;
  hint?: string;
}

export interface OrderRecord {
  key: string;
  /** The API that placed it: v3 orders are notified in v3 format (JSON, RSA, encrypted resource). */
  api: 'v2' | 'v3';
  appId: string;
  mchId: string;
  outTradeNo: string;
  /** The business parameters of the first unifiedorder, compared on re-submission. */
  fingerprint: string;
  /** Request fields as received (minus sign/nonce), for notifications and inspection. */
  body: string;
  totalFee: number;
  feeType: string;
  openid: string;
  attach: string | undefined;
  notifyUrl: string;
  /** JSAPI, APP, MWEB or NATIVE (v3: the endpoint that placed it). */
  tradeType: TradeType;
  /** NATIVE (v2): the merchant's product_id. */
  productId?: string;
  /** v2 spbill_create_ip, v3 scene_info.payer_client_ip: the H5 cashier compares the visitor's IP with it. */
  clientIp?: string;
  /** The scene_info as sent (v2: the JSON string; v3: the object, serialised). */
  sceneInfo?: string;
  signType: PaySignType;
  createdAt: number;
  /** time_expire as epoch ms, when the merchant sent one. */
  expiresAt: number | undefined;
  state: TradeState;
  closedBy?: 'merchant' | 'expiry';
  prepayIds: string[];
  transactionId?: string;
  timeEnd?: string;
  bankType?: string;
  cashFee?: number;
  /** Extra notification/query fields for a paid order (coupons), signed like the rest. */
  paidExtras: Record<string, string>;
  payments: PaymentAttempt[];
  notifications: NotificationAttempt[];
  /** v3: the notification's id and create_time, the same on every retry and duplicate of it. */
  v3Notification?: { id: string; createTime: string };
  /** Epoch ms of the next scheduled notification attempt, when one is pending. */
  nextNotificationAt?: number;
  /** Its refunds, oldest first (at most 50 per order, as at WeChat). */
  refunds: RefundRecord[];
}

/**
 * A refund's status in v2 words (refundquery's refund_status_$n); v3 says SUCCESS, PROCESSING, ABNORMAL
 * (CHANGE) and CLOSED (REFUNDCLOSE).
 */
export type RefundStatus = 'PROCESSING' | 'SUCCESS' | 'CHANGE' | 'REFUNDCLOSE';

export interface RefundRecord {
  /** `${mchId}:${outRefundNo}`: out_refund_no is unique per merchant. */
  key: string;
  /** The API that requested it: its notification goes out in that API's format. */
  api: 'v2' | 'v3';
  orderKey: string;
  appId: string;
  mchId: string;
  outTradeNo: string;
  transactionId: string;
  outRefundNo: string;
  /** 29 digits, `50…`, like WeChat's. */
  refundId: string;
  /** What makes a re-submission "the same refund": the order and the amounts. */
  fingerprint: string;
  totalFee: number;
  refundFee: number;
  settlementRefundFee: number;
  cashRefundFee: number;
  feeType: string;
  reason: string | undefined;
  /** Where its notification goes: the request's notify_url, else the merchant's default, else nowhere. */
  notifyUrl: string | undefined;
  status: RefundStatus;
  createdAt: number;
  /** Sandbox-clock time at which it stops PROCESSING (the outcome is read from the faults then). */
  dueAt: number;
  /** When it reached SUCCESS. */
  successAt?: number;
  recvAccount: string;
  refundAccount: string;
  requestSource: string;
  notifications: NotificationAttempt[];
  v3Notification?: { id: string; createTime: string };
  nextNotificationAt?: number;
}

export interface LoginCode {
  code: string;
  appId: string;
  openid: string;
  user: string;
  expiresAt: number;
  usedAt?: number;
  /** WeChat's risk control refuses this user's login (40226). */
  blocked?: boolean;
}

/** An OAuth code of an official account: one-time, 5 minutes (docs/channels.md, the sandbox's stand-ins). */
export interface OAuthCode {
  code: string;
  appId: string;
  openid: string;
  /** The sandbox user (browser cookie) it identifies. */
  user: string;
  scope: string;
  expiresAt: number;
  usedAt?: number;
}

export interface SandboxState {
  orders: BoundedMap<string, OrderRecord>;
  prepays: BoundedMap<string, PrepayRecord>;
  transactions: BoundedMap<string, string>;
  codes: BoundedMap<string, LoginCode>;
  /** `${appId}:${openid}` of every openid the sandbox issued, so unifiedorder can refuse invented ones. */
  openids: BoundedMap<string, string>;
  /** Refunds by `${mchId}:${outRefundNo}`; evicted with their order. */
  refunds: Map<string, RefundRecord>;
  /** refund_id → `${mchId}:${outRefundNo}`. */
  refundIds: Map<string, string>;
  /** Native code_url `pr` value → prepay_id. */
  codeUrls: BoundedMap<string, string>;
  oauthCodes: BoundedMap<string, OAuthCode>;
}

export function orderKey(mchId: string, outTradeNo: string): string {
  return `${mchId}:${outTradeNo}`;
}

export function createState(limits: { maxOrders: number; maxCodes: number }): SandboxState {
  const prepays = new BoundedMap<string, PrepayRecord>(limits.maxOrders * 4);
  const transactions = new BoundedMap<string, string>(limits.maxOrders);
  // Bounded through their orders: at most 50 refunds per order, dropped when the order is evicted.
  const refunds = new Map<string, RefundRecord>();
  const refundIds = new Map<string, string>();
  const orders = new BoundedMap<string, OrderRecord>(limits.maxOrders, (_key, order) => {
    for (const id of order.prepayIds) prepays.delete(id);
    if (order.transactionId) transactions.delete(order.transactionId);
    for (const refund of order.refunds) {
      refunds.delete(refund.key);
      refundIds.delete(refund.refundId);
    }
  });
  return {
    orders,
    prepays,
    transactions,
    codes: new BoundedMap(limits.maxCodes),
    openids: new BoundedMap(limits.maxCodes),
    refunds,
    refundIds,
    codeUrls: new BoundedMap(limits.maxOrders * 4),
    oauthCodes: new BoundedMap(limits.maxCodes),
  };
}

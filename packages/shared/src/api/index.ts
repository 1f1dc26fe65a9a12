/**
 * @mp-pay/shared/api: the HTTP contract between the mini-program and the merchant server.
 * Types and plain constants only, no Node APIs: the mini-program imports this (with `import type` for types).
 * Money is always an integer number of fen (1 yuan = 100 fen).
 */

/** Route paths, relative to the server's base URL. */
export const API_ROUTES = {
  session: '/api/session',
  /** Browser buyers outside WeChat (H5, Native QR, APP): a session with no WeChat identity. */
  guestSession: '/api/session/guest',
  /** Official-account pages: starts OAuth snsapi_base (`?next=` a path of the web checkout). */
  oauthStart: '/web/oauth/start',
  /** Where WeChat sends the buyer back with `code` and `state`. */
  oauthCallback: '/web/oauth/callback',
  clientConfig: '/api/config',
  products: '/api/products',
  product: (id: string) => `/api/products/${encodeURIComponent(id)}`,
  orders: '/api/orders',
  order: (id: string) => `/api/orders/${encodeURIComponent(id)}`,
  orderPayment: (id: string) => `/api/orders/${encodeURIComponent(id)}/payment`,
  /** Cancels a pending order at once (WeChat's trade is closed later when it refuses an early close). */
  orderClose: (id: string) => `/api/orders/${encodeURIComponent(id)}/close`,
  /** The buyer's answer to wx.requestSubscribeMessage for the order's "payment succeeded" message. */
  orderSubscriptions: (id: string) => `/api/orders/${encodeURIComponent(id)}/subscriptions`,
  /** The open Native attempt's code URL as an SVG QR code (owner only). */
  orderQr: (id: string) => `/api/orders/${encodeURIComponent(id)}/payment/qr.svg`,
} as const;

/** PARTIALLY_REFUNDED and REFUNDED follow PAID once refunds of the payment succeed. */
export type OrderStatus = 'PENDING' | 'PAID' | 'CLOSED' | 'PARTIALLY_REFUNDED' | 'REFUNDED';

/** How `paySign` was made: MD5 or HMAC-SHA256 for APIv2 trades, RSA (SHA256withRSA) for APIv3 ones. */
export type SignType = 'MD5' | 'HMAC-SHA256' | 'RSA';

// ---- session -------------------------------------------------------------------------------------------

/** POST /api/session: the code from wx.login. */
export interface SessionRequest {
  code: string;
}
export interface SessionResponse {
  /** Opaque bearer token; send as `Authorization: Bearer <token>`. */
  token: string;
  /** Seconds of inactivity after which the token expires (sliding). */
  expiresIn: number;
}

/** GET /api/config: what the mini-program needs to know about the server it talks to. */
export interface ClientConfigResponse {
  /** `sandbox` when the server talks to the mp-pay sandbox instead of WeChat. */
  mode: 'sandbox' | 'live';
  /** Sandbox only: where the sandbox payer (POST /sandbox/pay) and login codes live. */
  sandboxUrl?: string;
  /** Sandbox only: the appid the sandbox expects from the payer. */
  appId?: string;
  /** The channels this server offers (its configuration decides: docs/channels.md). */
  channels?: PaymentChannel[];
  /**
   * Subscribe-message template ids the mini-program asks the buyer about (wx.requestSubscribeMessage); absent
   * when the server has none configured (then the mini-program does not ask).
   */
  subscribeTemplates?: { paymentSucceeded?: string };
}

// ---- catalogue -----------------------------------------------------------------------------------------

export interface Product {
  id: string;
  name: string;
  description: string;
  priceFen: number;
  imageUrl?: string;
  /**
   * The merchant that sells it (its WeChat Pay mchid). A cart holding several merchants' goods is paid at once by
   * a combine (合单) payment, one sub-order per merchant (docs/combine.md).
   */
  merchant?: ProductMerchant;
}
export interface ProductMerchant {
  mchid: string;
  name: string;
}
export interface ProductListResponse {
  products: Product[];
}
/** GET /api/products/:id (404 not_found). */
export interface ProductResponse {
  product: Product;
}

// ---- orders --------------------------------------------------------------------------------------------

export interface OrderItemInput {
  productId: string;
  quantity: number;
}
/** POST /api/orders (header `Idempotency-Key` optional: a retry with the same key returns the same order). */
export interface CreateOrderRequest {
  items: OrderItemInput[];
  /** How the buyer will pay; `miniprogram` when left out. */
  channel?: PaymentChannel;
}

export interface OrderLine {
  productId: string;
  name: string;
  unitPriceFen: number;
  quantity: number;
  subtotalFen: number;
}

/**
 * One merchant's part of an order paid by a combine (合单) payment: its own trade at WeChat, paid and refunded
 * on its own. PENDING until paid; PAID; CLOSED when WeChat closed it unpaid; REFUNDED / PARTIALLY_REFUNDED
 * after refunds of it.
 */
export interface SubOrderView {
  outTradeNo: string;
  mchid: string;
  merchantName: string;
  totalFen: number;
  state: 'PENDING' | 'PAID' | 'CLOSED' | 'PARTIALLY_REFUNDED' | 'REFUNDED';
  transactionId?: string;
}

export interface Order {
  id: string;
  /**
   * The out_trade_no WeChat knows the payment by (the one shown in the buyer's WeChat payment record): the
   * attempt that paid the order, or else the latest one. Paying again after a failed payment makes a new one.
   */
  outTradeNo: string;
  status: OrderStatus;
  description: string;
  items: OrderLine[];
  totalFen: number;
  /** ISO 8601 timestamps. */
  createdAt: string;
  expiresAt: string;
  paidAt?: string;
  closedAt?: string;
  transactionId?: string;
  /** The buyer's latest refund request (POST /api/orders/:id/refund-requests). */
  refundRequest?: RefundRequestView;
  /** The order's refunds (GET /api/orders/:id and refund-request answers only). */
  refunds?: RefundSummary[];
  /**
   * A combine payment: one sub-order per merchant (docs/combine.md). Absent for an order of one merchant's goods.
   */
  subOrders?: SubOrderView[];
  /**
   * Set when a combine was paid only in part (a sub-order failed at WeChat): what was paid. The order cannot be
   * delivered as bought, so that amount is refunded at once (see `refunds`).
   */
  partiallyPaidFen?: number;
  /** The "payment succeeded" subscribe message, once the buyer answered the consent dialog. */
  paidMessage?: PaidMessageView;
}

/**
 * The "payment succeeded" subscribe message of an order. ACCEPTED: the buyer agreed, the message goes once the
 * order is PAID; SENT: WeChat took it; DECLINED: the buyer said no (or has turned such messages off); FAILED:
 * WeChat refused it (`reason`: e.g. 43101 the buyer's consent was used up or withdrawn, 40037 a bad template).
 */
export interface PaidMessageView {
  state: 'ACCEPTED' | 'SENT' | 'DECLINED' | 'FAILED';
  templateId: string;
  /** ISO 8601. */
  answeredAt: string;
  sentAt?: string;
  reason?: string;
}

/** The answers wx.requestSubscribeMessage gives for one template id. */
export const SUBSCRIBE_ANSWERS = ['accept', 'reject', 'ban', 'filter'] as const;
export type SubscribeAnswer = (typeof SUBSCRIBE_ANSWERS)[number];

/** POST /api/orders/:id/subscriptions: the answer for the template from `subscribeTemplates`. */
export interface SubscriptionRequest {
  templateId: string;
  answer: SubscribeAnswer;
}
/** 201 {order}: `order.paidMessage` says what happens next; answering again changes nothing. */
export type SubscriptionResponse = OrderResponse;

export interface RefundRequestView {
  /** REQUESTED: waiting for the shop; APPROVED: a refund was made (see `refunds`); REJECTED: declined. */
  state: 'REQUESTED' | 'APPROVED' | 'REJECTED';
  reason: string;
  /** ISO 8601. */
  requestedAt: string;
  decidedAt?: string;
}

export interface RefundSummary {
  outRefundNo: string;
  refundFen: number;
  state: RefundState;
  createdAt: string;
  settledAt?: string;
}

/** POST /api/orders/:id/refund-requests */
export interface RefundRequestBody {
  reason: string;
}

/** Exactly the five fields wx.requestPayment takes (and WeixinJSBridge's getBrandWCPayRequest, with appId). */
export interface PaymentParams {
  timeStamp: string;
  nonceStr: string;
  package: string;
  signType: SignType;
  paySign: string;
}

/**
 * How a buyer pays an order (docs/channels.md): `miniprogram` and `official_account` launch JSAPI (`jsapi`),
 * `app` the OpenSDK (`app`), `h5` a redirect to WeChat's cashier (`h5`), `native` a QR code (`native`).
 */
export const PAYMENT_CHANNELS = ['miniprogram', 'official_account', 'app', 'h5', 'native'] as const;
export type PaymentChannel = (typeof PAYMENT_CHANNELS)[number];

/** Mini-program (`wx.requestPayment`) and official-account page (`WeixinJSBridge`) launches. */
export interface JsapiPayment extends PaymentParams {
  kind: 'jsapi';
  /** The AppID the trade was placed for; WeixinJSBridge needs it, wx.requestPayment takes it from the app. */
  appId: string;
}
/** The six fields the OpenSDK's PayReq takes in a native APP. */
export interface AppPayment {
  kind: 'app';
  appId: string;
  partnerId: string;
  prepayId: string;
  package: string;
  nonceStr: string;
  timeStamp: string;
  sign: string;
}
/**
 * Desktop pages: show `codeUrl` as a QR code for the buyer to scan (`GET /api/orders/:id/payment/qr.svg` renders
 * it), then poll the order. Mode 2 is WeChat's `weixin://wxpay/bizpayurl?pr=…`; mode 1 a signed long link.
 */
export interface NativePayment {
  kind: 'native';
  codeUrl: string;
}
/**
 * Mobile browsers outside WeChat: send the buyer to `redirectUrl` (WeChat's mweb_url / h5_url with our
 * `redirect_url` appended: WeChat brings the buyer back to the result page, which asks the server).
 */
export interface H5Payment {
  kind: 'h5';
  redirectUrl: string;
}
/** What the client needs to hand the buyer to WeChat; narrow on `kind`. */
export type PaymentLaunch = JsapiPayment | AppPayment | NativePayment | H5Payment;

export interface CreateOrderResponse {
  order: Order;
  payment: PaymentLaunch;
}
/**
 * POST /api/orders/:id/payment: the launch of the order's open attempt. A body naming another channel than the
 * attempt's opens a new attempt for that channel (the old trade is closed at WeChat).
 */
export interface OrderPaymentRequest {
  channel?: PaymentChannel;
}
export type OrderPaymentResponse = CreateOrderResponse;

/**
 * The order list's status filters (GET /api/orders?status=): `refund` is PARTIALLY_REFUNDED and REFUNDED.
 * Leaving it out lists every order.
 */
export const ORDER_LIST_FILTERS = ['pending', 'paid', 'closed', 'refund'] as const;
export type OrderListFilter = (typeof ORDER_LIST_FILTERS)[number];
export const ORDER_FILTER_STATUSES: Record<OrderListFilter, readonly OrderStatus[]> = {
  pending: ['PENDING'],
  paid: ['PAID'],
  closed: ['CLOSED'],
  refund: ['PARTIALLY_REFUNDED', 'REFUNDED'],
};

/** GET /api/orders?limit=&cursor=&status= */
export interface OrderListResponse {
  orders: Order[];
  /**
   * Pass as `cursor` for the next page; null on the last page. With `status`, a page may hold fewer than
   * `limit` orders (even none) and still have a next page: keep going while this is not null.
   */
  nextCursor: string | null;
}
export interface OrderResponse {
  order: Order;
}

// ---- errors --------------------------------------------------------------------------------------------

// ---- refunds and the admin API (staff, with `Authorization: Bearer <ADMIN_TOKENS token>`) ---------------------

export type RefundState = 'PENDING' | 'PROCESSING' | 'SUCCESS' | 'CLOSED' | 'ABNORMAL';

export interface Refund {
  outRefundNo: string;
  orderId: string;
  /** The payment refunded (the order's out_trade_no, or a second payment's). */
  outTradeNo: string;
  refundFen: number;
  reason: string;
  requestedBy: string;
  state: RefundState;
  /** ISO 8601. `dueAt`: when it goes (or went) to WeChat; refunds of one payment go a minute apart. */
  createdAt: string;
  dueAt: string;
  settledAt?: string;
  refundId?: string;
}

/** POST /admin/orders/:id/refunds: the whole remaining amount when `refundFen` is left out. */
export interface AdminRefundRequest {
  refundFen?: number;
  reason: string;
  /**
   * A combine-paid order's sub-order (docs/combine.md): its payment is the one refunded. Left out, every paid
   * sub-order is refunded in full; a partial `refundFen` must name one.
   */
  outTradeNo?: string;
}
export interface RefundResponse {
  /** The first refund made (the only one, except for a combine refunded in full). */
  refund: Refund;
  refunds?: Refund[];
}
export interface RefundListResponse {
  refunds: Refund[];
}

/** Stable error ids; the server's catalogue maps each to an HTTP status and a message. */
export type ErrorId =
  | 'invalid_request'
  | 'unsupported_media_type'
  | 'payload_too_large'
  | 'unauthorized'
  | 'session_expired'
  | 'login_code_invalid'
  | 'login_code_used'
  | 'login_rate_limited'
  | 'rate_limited'
  | 'login_blocked'
  | 'wechat_unavailable'
  | 'product_not_found'
  | 'order_not_found'
  | 'order_already_paid'
  | 'order_closed'
  | 'order_not_closable'
  | 'channel_not_available'
  | 'refund_not_allowed'
  | 'refund_too_much'
  | 'subscription_not_allowed'
  | 'idempotency_conflict'
  | 'payment_unavailable'
  | 'not_found'
  | 'method_not_allowed'
  | 'service_unavailable'
  | 'internal_error';

/** Body of every non-2xx response. */
export interface ErrorBody {
  error: ErrorId;
  message: string;
  requestId?: string;
}

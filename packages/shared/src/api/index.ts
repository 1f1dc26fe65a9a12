/**
 * @mp-pay/shared/api: the HTTP contract between the mini-program and the merchant server.
 * Types and plain constants only, no Node APIs: the mini-program imports this (with `import type` for types).
 * Money is always an integer number of fen (1 yuan = 100 fen).
 */

/** Route paths, relative to the server's base URL. */
export const API_ROUTES = {
  session: '/api/session',
  clientConfig: '/api/config',
  products: '/api/products',
  orders: '/api/orders',
  order: (id: string) => `/api/orders/${encodeURIComponent(id)}`,
  orderPayment: (id: string) => `/api/orders/${encodeURIComponent(id)}/payment`,
  orderClose: (id: string) => `/api/orders/${encodeURIComponent(id)}/close`,
} as const;

export type OrderStatus = 'PENDING' | 'PAID' | 'CLOSED';

export type SignType = 'MD5' | 'HMAC-SHA256';

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
}

// ---- catalogue -----------------------------------------------------------------------------------------

export interface Product {
  id: string;
  name: string;
  description: string;
  priceFen: number;
  imageUrl?: string;
}
export interface ProductListResponse {
  products: Product[];
}

// ---- orders --------------------------------------------------------------------------------------------

export interface OrderItemInput {
  productId: string;
  quantity: number;
}
/** POST /api/orders (header `Idempotency-Key` optional: a retry with the same key returns the same order). */
export interface CreateOrderRequest {
  items: OrderItemInput[];
}

export interface OrderLine {
  productId: string;
  name: string;
  unitPriceFen: number;
  quantity: number;
  subtotalFen: number;
}

export interface Order {
  id: string;
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
}

/** Exactly the five fields wx.requestPayment takes. */
export interface PaymentParams {
  timeStamp: string;
  nonceStr: string;
  package: string;
  signType: SignType;
  paySign: string;
}

export interface CreateOrderResponse {
  order: Order;
  payment: PaymentParams;
}
/** POST /api/orders/:id/payment */
export type OrderPaymentResponse = CreateOrderResponse;

/** GET /api/orders?limit=&cursor= */
export interface OrderListResponse {
  orders: Order[];
  /** Pass as `cursor` for the next page; null on the last page. */
  nextCursor: string | null;
}
export interface OrderResponse {
  order: Order;
}

// ---- errors --------------------------------------------------------------------------------------------

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
  | 'login_blocked'
  | 'wechat_unavailable'
  | 'product_not_found'
  | 'order_not_found'
  | 'order_already_paid'
  | 'order_closed'
  | 'order_not_closable'
  | 'idempotency_conflict'
  | 'payment_unavailable'
  | 'not_found'
  | 'service_unavailable'
  | 'internal_error';

/** Body of every non-2xx response. */
export interface ErrorBody {
  error: ErrorId;
  message: string;
  requestId?: string;
}

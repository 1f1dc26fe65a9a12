/**
 * Runtime checks for the server's replies. The types say what the server promises; these make sure a reply
 * that breaks the promise becomes a clear `bad_response` instead of "undefined" on a price tag or a
 * wx.requestPayment call with a missing field. Whether a well-formed payment launch is one the mini-program
 * can open is payment.ts's business, not theirs.
 */
import type {
  ClientConfigResponse,
  CreateOrderResponse,
  Order,
  OrderLine,
  OrderListResponse,
  OrderResponse,
  PaidMessageView,
  PaymentLaunch,
  PaymentParams,
  Product,
  ProductListResponse,
  ProductResponse,
  RefundRequestView,
  RefundSummary,
  SessionResponse,
  SubOrderView,
} from '../generated/api';

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
function isStr(v: unknown): v is string {
  return typeof v === 'string';
}
function isFen(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v);
}
function isOptStr(v: unknown): boolean {
  return v === undefined || v === null || isStr(v);
}

export function isSessionResponse(v: unknown): v is SessionResponse {
  return isObj(v) && isStr(v.token) && v.token.length > 0 && typeof v.expiresIn === 'number';
}

export function isClientConfig(v: unknown): v is ClientConfigResponse {
  if (!isObj(v)) return false;
  if (v.mode === 'live') return true;
  // Sandbox mode is only usable with both fields: without them the payer and login codes have nowhere to go.
  return v.mode === 'sandbox' && isStr(v.sandboxUrl) && v.sandboxUrl.length > 0 && isStr(v.appId);
}

/**
 * The "payment succeeded" template id from /api/config, or null when there is none (or it is malformed: a
 * broken optional extra must not stop the app from paying, so it only means "do not ask").
 */
export function paidMessageTemplate(v: ClientConfigResponse): string | null {
  const templates: unknown = v.subscribeTemplates;
  if (!isObj(templates)) return null;
  const id = templates.paymentSucceeded;
  return isStr(id) && id.length > 0 ? id : null;
}

/** The seller is optional (a server without combine payments sends none), but a present one must be whole. */
function isOptMerchant(v: unknown): boolean {
  return v === undefined || v === null || (isObj(v) && isNonEmptyStr(v.mchid) && isStr(v.name));
}

function isProduct(v: unknown): v is Product {
  return (
    isObj(v) &&
    isStr(v.id) &&
    isStr(v.name) &&
    isStr(v.description) &&
    isFen(v.priceFen) &&
    isOptMerchant(v.merchant)
  );
}
export function isProductList(v: unknown): v is ProductListResponse {
  return isObj(v) && Array.isArray(v.products) && v.products.every(isProduct);
}
export function isProductResponse(v: unknown): v is ProductResponse {
  return isObj(v) && isProduct(v.product);
}

function isOrderLine(v: unknown): v is OrderLine {
  return (
    isObj(v) &&
    isStr(v.productId) &&
    isStr(v.name) &&
    isFen(v.unitPriceFen) &&
    isFen(v.quantity) &&
    isFen(v.subtotalFen)
  );
}

/** The buyer's refund request on an order. */
export function isRefundRequestView(v: unknown): v is RefundRequestView {
  return (
    isObj(v) &&
    (v.state === 'REQUESTED' || v.state === 'APPROVED' || v.state === 'REJECTED') &&
    isStr(v.reason) &&
    isStr(v.requestedAt) &&
    isOptStr(v.decidedAt)
  );
}

/** One refund of an order's payment, as the buyer sees it. */
export function isRefundSummary(v: unknown): v is RefundSummary {
  return (
    isObj(v) &&
    isNonEmptyStr(v.outRefundNo) &&
    isFen(v.refundFen) &&
    v.refundFen > 0 &&
    (v.state === 'PENDING' ||
      v.state === 'PROCESSING' ||
      v.state === 'SUCCESS' ||
      v.state === 'CLOSED' ||
      v.state === 'ABNORMAL') &&
    isStr(v.createdAt) &&
    isOptStr(v.settledAt)
  );
}

/** The order's "payment succeeded" subscribe message, once the buyer answered the consent dialog. */
export function isPaidMessageView(v: unknown): v is PaidMessageView {
  return (
    isObj(v) &&
    (v.state === 'ACCEPTED' || v.state === 'SENT' || v.state === 'DECLINED' || v.state === 'FAILED') &&
    isStr(v.templateId) &&
    isStr(v.answeredAt) &&
    isOptStr(v.sentAt) &&
    isOptStr(v.reason)
  );
}

/** One merchant's part of a combine payment. */
export function isSubOrderView(v: unknown): v is SubOrderView {
  return (
    isObj(v) &&
    isNonEmptyStr(v.outTradeNo) &&
    isNonEmptyStr(v.mchid) &&
    isStr(v.merchantName) &&
    isFen(v.totalFen) &&
    (v.state === 'PENDING' ||
      v.state === 'PAID' ||
      v.state === 'CLOSED' ||
      v.state === 'PARTIALLY_REFUNDED' ||
      v.state === 'REFUNDED') &&
    isOptStr(v.transactionId)
  );
}

/** Only combine orders carry them; `partiallyPaidFen` only a combine paid in part. */
function hasValidCombine(v: Obj): boolean {
  return (
    (v.subOrders === undefined ||
      v.subOrders === null ||
      (Array.isArray(v.subOrders) && v.subOrders.every(isSubOrderView))) &&
    (v.partiallyPaidFen === undefined || v.partiallyPaidFen === null || isFen(v.partiallyPaidFen))
  );
}

/** Both are optional: only some replies carry them (the order list never carries refunds). */
function hasValidRefunds(v: Obj): boolean {
  return (
    (v.refundRequest === undefined || v.refundRequest === null || isRefundRequestView(v.refundRequest)) &&
    (v.refunds === undefined ||
      v.refunds === null ||
      (Array.isArray(v.refunds) && v.refunds.every(isRefundSummary)))
  );
}

export function isOrder(v: unknown): v is Order {
  return (
    isObj(v) &&
    isStr(v.id) &&
    isStr(v.outTradeNo) &&
    (v.status === 'PENDING' ||
      v.status === 'PAID' ||
      v.status === 'CLOSED' ||
      v.status === 'PARTIALLY_REFUNDED' ||
      v.status === 'REFUNDED') &&
    isStr(v.description) &&
    Array.isArray(v.items) &&
    v.items.every(isOrderLine) &&
    isFen(v.totalFen) &&
    isStr(v.createdAt) &&
    isStr(v.expiresAt) &&
    isOptStr(v.paidAt) &&
    isOptStr(v.closedAt) &&
    hasValidRefunds(v) &&
    hasValidCombine(v) &&
    (v.paidMessage === undefined || v.paidMessage === null || isPaidMessageView(v.paidMessage))
  );
}
export function isOrderResponse(v: unknown): v is OrderResponse {
  return isObj(v) && isOrder(v.order);
}
export function isOrderList(v: unknown): v is OrderListResponse {
  return (
    isObj(v) &&
    Array.isArray(v.orders) &&
    v.orders.every(isOrder) &&
    (v.nextCursor === null || isStr(v.nextCursor))
  );
}

function isNonEmptyStr(v: unknown): v is string {
  return isStr(v) && v.length > 0;
}

/** The five wx.requestPayment fields, as the server signed them. */
export function isPaymentParams(v: unknown): v is PaymentParams {
  return (
    isObj(v) &&
    isStr(v.timeStamp) &&
    isStr(v.nonceStr) &&
    isStr(v.package) &&
    v.package.startsWith('prepay_id=') &&
    (v.signType === 'MD5' || v.signType === 'HMAC-SHA256' || v.signType === 'RSA') &&
    isStr(v.paySign)
  );
}

/**
 * The fields each kind of launch must carry. A full mapping: when the contract gains a kind, the type check
 * fails until it is validated here. A kind this build does not know is a bad response, like any broken field.
 */
const LAUNCH_CHECKS: { [K in PaymentLaunch['kind']]: (v: Obj) => boolean } = {
  jsapi: (v) => isNonEmptyStr(v.appId) && isPaymentParams(v),
  app: (v) =>
    isNonEmptyStr(v.appId) &&
    isNonEmptyStr(v.partnerId) &&
    isNonEmptyStr(v.prepayId) &&
    isStr(v.package) &&
    isStr(v.nonceStr) &&
    isStr(v.timeStamp) &&
    isStr(v.sign),
  native: (v) => isNonEmptyStr(v.codeUrl),
  h5: (v) => isNonEmptyStr(v.redirectUrl),
};

function isLaunchKind(v: unknown): v is PaymentLaunch['kind'] {
  return isStr(v) && Object.prototype.hasOwnProperty.call(LAUNCH_CHECKS, v);
}

/** A payment launch of a kind the contract defines, with that kind's fields. */
export function isPaymentLaunch(v: unknown): v is PaymentLaunch {
  return isObj(v) && isLaunchKind(v.kind) && LAUNCH_CHECKS[v.kind](v);
}

export function isCreateOrderResponse(v: unknown): v is CreateOrderResponse {
  return isObj(v) && isOrder(v.order) && isPaymentLaunch(v.payment);
}

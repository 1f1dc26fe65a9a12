/** The catalogue and the buyer's orders, as the server reports them. */
import { config } from '../config';
import type {
  CreateOrderRequest,
  CreateOrderResponse,
  Order,
  OrderItemInput,
  OrderListFilter,
  OrderListResponse,
  Product,
  RefundRequestBody,
  SubscribeAnswer,
  SubscriptionRequest,
} from '../generated/api';
import { API_ROUTES } from '../generated/api';
import { apiRequest, publicRequest } from './api';
import {
  isCreateOrderResponse,
  isOrderList,
  isOrderResponse,
  isProductList,
  isProductResponse,
} from './guards';

/** The catalogue is public: browsing does not log in. */
export async function listProducts(): Promise<Product[]> {
  const body = await publicRequest({ method: 'GET', path: API_ROUTES.products, guard: isProductList });
  return body.products;
}

/**
 * Whether these products come from more than one merchant: only then is naming the seller worth the space.
 * A product without a merchant is the shop's own (a server without combine payments names none).
 */
export function hasSeveralMerchants(products: readonly Product[]): boolean {
  return new Set(products.map((p) => p.merchant?.mchid ?? '')).size > 1;
}

/**
 * The seller to name on one product's page: its merchant's name when the catalogue sells for several, else ''.
 * The catalogue is read only for a product that names a merchant, and failing to read it only means not naming
 * the seller: the product itself is what the page is for.
 */
export async function sellerToShow(product: Product): Promise<string> {
  if (!product.merchant) return '';
  try {
    return hasSeveralMerchants(await listProducts()) ? product.merchant.name : '';
  } catch {
    return '';
  }
}

/** One product (the product page, the confirmation page); public like the catalogue. 404 not_found. */
export async function getProduct(productId: string): Promise<Product> {
  const body = await publicRequest({
    method: 'GET',
    path: API_ROUTES.product(productId),
    guard: isProductResponse,
  });
  return body.product;
}

/**
 * Creates an order and its payment launch. The server prices it; the client only says what and how many, and
 * that it pays in the mini-program (the server's default channel, named so that the request says it).
 * `idempotencyKey` stays the same across retries of one submission, so a retry after a lost reply returns the
 * same order instead of a second one.
 */
export function createOrder(items: OrderItemInput[], idempotencyKey: string): Promise<CreateOrderResponse> {
  const data: CreateOrderRequest = { items, channel: 'miniprogram' };
  return apiRequest({
    method: 'POST',
    path: API_ROUTES.orders,
    data,
    headers: { 'Idempotency-Key': idempotencyKey },
    guard: isCreateOrderResponse,
  });
}

/** A fresh payment launch for a pending order ("pay again"). */
export function renewPayment(orderId: string): Promise<CreateOrderResponse> {
  return apiRequest({ method: 'POST', path: API_ROUTES.orderPayment(orderId), guard: isCreateOrderResponse });
}

export async function getOrder(orderId: string): Promise<Order> {
  const body = await apiRequest({ method: 'GET', path: API_ROUTES.order(orderId), guard: isOrderResponse });
  return body.order;
}

/**
 * Cancels a pending order. The server cancels it at once (CLOSED in the reply) even when WeChat refuses to
 * close so young a trade: it closes the trade at WeChat later, so the buyer never waits on it.
 */
export async function closeOrder(orderId: string): Promise<Order> {
  const body = await apiRequest({
    method: 'POST',
    path: API_ROUTES.orderClose(orderId),
    guard: isOrderResponse,
  });
  return body.order;
}

/** The contract names no route constant for it: the order's path plus `/refund-requests`. */
function refundRequestsPath(orderId: string): string {
  return `${API_ROUTES.order(orderId)}/refund-requests`;
}

/**
 * Asks the shop to refund a paid order. The reply is the order with its refund request and refunds: REQUESTED
 * while the shop reviews it, or already APPROVED with a refund under way when the server refunds at once.
 * Asking again while a request is open changes nothing and returns the order as it stands.
 */
export async function askRefund(orderId: string, reason: string): Promise<Order> {
  const data: RefundRequestBody = { reason };
  const body = await apiRequest({
    method: 'POST',
    path: refundRequestsPath(orderId),
    data,
    guard: isOrderResponse,
  });
  return body.order;
}

/**
 * One page of the buyer's orders, newest first; pass the previous page's nextCursor for the next. `status`
 * filters on the server (`refund`: partly or fully refunded); null lists every order. A cursor belongs to the
 * filter it came from.
 */
export function listOrders(
  cursor: string | null,
  status: OrderListFilter | null = null,
): Promise<OrderListResponse> {
  let path = `${API_ROUTES.orders}?limit=${config.ordersPageSize}`;
  if (status !== null) path += `&status=${status}`;
  if (cursor !== null) path += `&cursor=${encodeURIComponent(cursor)}`;
  return apiRequest({ method: 'GET', path, guard: isOrderList });
}

/**
 * The buyer's answer to the "payment succeeded" consent dialog, for one order. The reply is the order with
 * `paidMessage`: ACCEPTED (sent once the order is paid), SENT, DECLINED or FAILED. Answering again changes
 * nothing on the server.
 */
export async function answerPaidMessage(
  orderId: string,
  templateId: string,
  answer: SubscribeAnswer,
): Promise<Order> {
  const data: SubscriptionRequest = { templateId, answer };
  const body = await apiRequest({
    method: 'POST',
    path: API_ROUTES.orderSubscriptions(orderId),
    data,
    guard: isOrderResponse,
  });
  return body.order;
}

/** A key for one order submission: unique enough per buyer, no secret. */
export function newIdempotencyKey(): string {
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 12)}`;
}

/** The catalogue and the buyer's orders, as the server reports them. */
import { config } from '../config';
import type {
  CreateOrderRequest,
  CreateOrderResponse,
  Order,
  OrderItemInput,
  OrderListResponse,
  Product,
  RefundRequestBody,
} from '../generated/api';
import { API_ROUTES } from '../generated/api';
import { apiRequest, publicRequest } from './api';
import { isCreateOrderResponse, isOrderList, isOrderResponse, isProductList } from './guards';

/** The catalogue is public: browsing does not log in. */
export async function listProducts(): Promise<Product[]> {
  const body = await publicRequest({ method: 'GET', path: API_ROUTES.products, guard: isProductList });
  return body.products;
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

/** One page of the buyer's orders, newest first; pass the previous page's nextCursor for the next. */
export function listOrders(cursor: string | null): Promise<OrderListResponse> {
  let path = `${API_ROUTES.orders}?limit=${config.ordersPageSize}`;
  if (cursor !== null) path += `&cursor=${encodeURIComponent(cursor)}`;
  return apiRequest({ method: 'GET', path, guard: isOrderList });
}

/** A key for one order submission: unique enough per buyer, no secret. */
export function newIdempotencyKey(): string {
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 12)}`;
}

/** Page paths and the query strings pages hand each other (mini-program queries are flat strings). */
import type { ClientPayResult } from '../services/payment';

export const PAGES = {
  products: '/pages/products/index',
  confirm: '/pages/confirm/index',
  result: '/pages/result/index',
  orders: '/pages/orders/index',
  orderDetail: '/pages/order-detail/index',
  productDetail: '/pages/product-detail/index',
  cart: '/pages/cart/index',
  me: '/pages/me/index',
} as const;

/** "Buy now": the confirmation page for one product (and a quantity other than 1); the cart is not involved. */
export function confirmUrl(productId: string, quantity = 1): string {
  const url = `${PAGES.confirm}?productId=${encodeURIComponent(productId)}`;
  return quantity === 1 ? url : `${url}&quantity=${quantity}`;
}

export function productDetailUrl(productId: string): string {
  return `${PAGES.productDetail}?id=${encodeURIComponent(productId)}`;
}

export function orderDetailUrl(orderId: string): string {
  return `${PAGES.orderDetail}?id=${encodeURIComponent(orderId)}`;
}

/** The result page learns the order and what the client saw; it asks the server for the rest. */
export function resultUrl(orderId: string, client: ClientPayResult): string {
  let url = `${PAGES.result}?id=${encodeURIComponent(orderId)}&client=${client.kind}`;
  if (client.kind === 'fail') url += `&detail=${encodeURIComponent(client.detail)}`;
  return url;
}

/**
 * Reads the result page's query. The framework hands onLoad the query already decoded in some versions and
 * raw in others, so decoding is tolerant. Anything unrecognised counts as "ok": the page then only asks the
 * server, which can never show an unpaid order as paid.
 */
export function parseClientResult(query: Record<string, string | undefined>): ClientPayResult {
  if (query.client === 'cancel') return { kind: 'cancel' };
  if (query.client === 'fail') return { kind: 'fail', detail: safeDecode(query.detail ?? '') };
  return { kind: 'ok' };
}

export function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

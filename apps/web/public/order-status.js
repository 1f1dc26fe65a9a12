// @ts-check
/** How an order's status reads to the buyer, and the one shared "ask the server" call. */
import { API_PATHS, callJson } from './api.js';

/** @typedef {import('@mp-pay/shared/api').Order} Order */
/** @typedef {import('@mp-pay/shared/api').OrderStatus} OrderStatus */
/** @typedef {import('@mp-pay/shared/api').OrderResponse} OrderResponse */

/** @type {Record<OrderStatus, { title: string, hint: string }>} */
export const STATUS_TEXT = {
  PENDING: {
    title: '等待支付 / Waiting for payment',
    hint: '支付完成后可能需要几秒钟确认 / A payment can take a few seconds to be confirmed',
  },
  PAID: { title: '支付成功 / Paid', hint: '感谢您的购买 / Thank you for your order' },
  CLOSED: {
    title: '订单已关闭 / Order closed',
    hint: '订单已超时或已取消 / The order expired or was cancelled',
  },
  PARTIALLY_REFUNDED: { title: '部分退款 / Partly refunded', hint: '' },
  REFUNDED: { title: '已退款 / Refunded', hint: '' },
};

/** Statuses that mean the money reached the merchant. */
export const PAID_STATUSES = new Set(['PAID', 'PARTIALLY_REFUNDED', 'REFUNDED']);

/**
 * @param {string} orderId
 * @param {string} token
 * @returns {Promise<Order>}
 */
export async function fetchOrder(orderId, token) {
  const res = /** @type {OrderResponse} */ (await callJson(API_PATHS.order(orderId), { token }));
  return res.order;
}

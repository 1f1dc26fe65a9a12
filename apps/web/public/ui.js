// @ts-check
/** Small DOM helpers shared by the pages: element lookup, loading and error states. */
import { ApiError } from './api.js';

/**
 * @template {HTMLElement} [E=HTMLElement]
 * @param {string} selector
 * @returns {E}
 */
export function $(selector) {
  const el = document.querySelector(selector);
  if (!el) throw new Error(`page is missing ${selector}`);
  return /** @type {E} */ (el);
}

/**
 * Shows exactly one of the page's states (elements with `data-state`), hiding the others.
 * @param {string} name
 */
export function showState(name) {
  for (const el of document.querySelectorAll('[data-state]')) {
    if (el instanceof HTMLElement) el.hidden = el.dataset.state !== name;
  }
  document.body.dataset.view = name;
}

/**
 * Shows an error in `#error`: the server's message, its error id and request id (for support), and a link to
 * the order when one was already placed.
 * @param {unknown} err
 * @param {string} [orderId]
 */
export function showError(err, orderId) {
  const box = $('#error');
  const message = err instanceof Error ? err.message : String(err);
  $('#error-message').textContent = message;
  const details = [];
  if (err instanceof ApiError) {
    details.push(err.error);
    if (err.requestId) details.push(`request ${err.requestId}`);
  }
  $('#error-details').textContent = details.join(' · ');
  if (orderId) {
    const link = document.createElement('a');
    link.href = resultPage(orderId);
    link.className = 'link';
    link.id = 'error-order-link';
    link.textContent = '查看订单 / View the order';
    $('#error-details').append(' ', link);
  }
  box.dataset.error = err instanceof ApiError ? err.error : 'client';
  box.hidden = false;
  if (!(err instanceof ApiError)) console.error(err);
}

export function clearError() {
  $('#error').hidden = true;
}

/**
 * Disables a button while `work` runs, with a busy label.
 * @template T
 * @param {HTMLButtonElement} button
 * @param {string} busyLabel
 * @param {() => Promise<T>} work
 * @returns {Promise<T>}
 */
export async function busy(button, busyLabel, work) {
  const label = button.textContent;
  button.disabled = true;
  button.textContent = busyLabel;
  try {
    return await work();
  } finally {
    button.disabled = false;
    button.textContent = label;
  }
}

/**
 * The order id from `?order=`, or undefined.
 * @returns {string | undefined}
 */
export function orderIdFromQuery() {
  return new URLSearchParams(location.search).get('order') ?? undefined;
}

/**
 * @param {string} orderId
 * @returns {string}
 */
export function resultPage(orderId) {
  return `result.html?order=${encodeURIComponent(orderId)}`;
}

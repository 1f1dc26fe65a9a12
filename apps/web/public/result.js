// @ts-check
/**
 * `result.html?order=<id>`: where every channel ends (WeChat's H5 redirect_url, after WeixinJSBridge, the QR
 * page). It shows what the server says, never what the client was told: a pending order is re-checked for a
 * while, then the buyer can re-check or pay again.
 */
import { API_PATHS, callJson } from './api.js';
import { chooseChannel } from './channel.js';
import { launchPayment } from './launch.js';
import { PARTIAL_PAYMENT_TITLE, partialPaymentNotice, SUB_ORDER_STATE_TEXT } from './merchants.js';
import { formatYuan } from './money.js';
import { fetchOrder, STATUS_TEXT } from './order-status.js';
import { consumeOAuthFragment, withSession } from './session.js';
import { $, busy, clearError, orderIdFromQuery, showError, showState } from './ui.js';

/** @typedef {import('@mp-pay/shared/api').Order} Order */
/** @typedef {import('@mp-pay/shared/api').OrderPaymentResponse} OrderPaymentResponse */

const channel = chooseChannel(navigator.userAgent);
const POLL_MS = 2000;
/** WeChat's notification usually lands within seconds of the redirect; keep asking this long on our own. */
const AUTO_CHECK_MS = 30_000;

async function start() {
  const orderId = orderIdFromQuery();
  if (!orderId) {
    showError(new Error('缺少订单号 / No order given'));
    showState('failed');
    return;
  }
  const oauthError = consumeOAuthFragment();
  if (oauthError) {
    showError(oauthError);
    showState('failed');
    return;
  }
  $('#recheck').addEventListener('click', (e) => {
    void busy(/** @type {HTMLButtonElement} */ (e.currentTarget), '查询中… / Checking…', () =>
      check(orderId),
    );
  });
  $('#pay-again').addEventListener('click', (e) => {
    void busy(/** @type {HTMLButtonElement} */ (e.currentTarget), '请稍候… / Please wait…', () =>
      payAgain(orderId),
    );
  });

  const until = Date.now() + AUTO_CHECK_MS;
  let order = await check(orderId);
  while (order?.status === 'PENDING' && Date.now() < until) {
    await new Promise((r) => setTimeout(r, POLL_MS));
    order = await check(orderId);
  }
}

/**
 * @param {string} orderId
 * @returns {Promise<Order | undefined>}
 */
async function check(orderId) {
  try {
    const order = await withSession(channel, (token) => fetchOrder(orderId, token));
    clearError();
    render(order);
    return order;
  } catch (err) {
    showError(err);
    if (document.body.dataset.view === 'loading') showState('failed');
    return undefined;
  }
}

/** @param {Order} order */
function render(order) {
  // A combine paid only in part is PAID (then refunded) on the server, but not a success for the buyer: the
  // notice says what happened instead of "thank you for your order".
  const notice = partialPaymentNotice(order, formatYuan);
  const status = $('#status');
  status.textContent = notice === undefined ? STATUS_TEXT[order.status].title : PARTIAL_PAYMENT_TITLE;
  status.dataset.status = order.status;
  status.toggleAttribute('data-partial', notice !== undefined);
  $('#status-hint').textContent = notice === undefined ? STATUS_TEXT[order.status].hint : '';
  $('#partial-notice').textContent = notice ?? '';
  $('#partial-notice').hidden = notice === undefined;
  $('#order-id').textContent = order.id;
  $('#order-total').textContent = formatYuan(order.totalFen);
  $('#pending-actions').hidden = order.status !== 'PENDING';
  renderSubOrders(order);
  showState('order');
}

/**
 * A combine payment's sub-orders, one per merchant, each with its own state (docs/combine.md).
 * @param {Order} order
 */
function renderSubOrders(order) {
  const subOrders = order.subOrders ?? [];
  $('#sub-orders-box').hidden = subOrders.length === 0;
  const template = /** @type {HTMLTemplateElement} */ ($('#sub-order-template'));
  $('#sub-orders').replaceChildren(
    ...subOrders.map((sub) => {
      const item = /** @type {DocumentFragment} */ (template.content.cloneNode(true));
      const li = /** @type {HTMLElement} */ (item.firstElementChild);
      li.dataset.mchid = sub.mchid;
      // (Not data-state: ui.js's showState hides every element carrying that.)
      li.dataset.status = sub.state;
      li.dataset.outTradeNo = sub.outTradeNo;
      /** @type {[string, string][]} */
      const texts = [
        ['.sub-order-merchant', sub.merchantName],
        ['.sub-order-amount', formatYuan(sub.totalFen)],
        ['.sub-order-state', SUB_ORDER_STATE_TEXT[sub.state]],
      ];
      for (const [selector, value] of texts) {
        const el = li.querySelector(selector);
        if (el) el.textContent = value;
      }
      return li;
    }),
  );
}

/** @param {string} orderId */
async function payAgain(orderId) {
  clearError();
  try {
    const res = /** @type {OrderPaymentResponse} */ (
      await withSession(channel, (token) =>
        callJson(API_PATHS.orderPayment(orderId), { method: 'POST', token, body: { channel } }),
      )
    );
    render(res.order);
    await launchPayment(orderId, res.payment);
  } catch (err) {
    showError(err);
  }
}

start().catch(showError);

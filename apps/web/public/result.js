// @ts-check
/**
 * `result.html?order=<id>`: where every channel ends (WeChat's H5 redirect_url, after WeixinJSBridge, the QR
 * page). It shows what the server says, never what the client was told: a pending order is re-checked for a
 * while, then the buyer can re-check or pay again.
 */
import { API_PATHS, callJson } from './api.js';
import { chooseChannel } from './channel.js';
import { launchPayment } from './launch.js';
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
  const status = $('#status');
  status.textContent = STATUS_TEXT[order.status].title;
  status.dataset.status = order.status;
  $('#status-hint').textContent = STATUS_TEXT[order.status].hint;
  $('#order-id').textContent = order.id;
  $('#order-total').textContent = formatYuan(order.totalFen);
  $('#pending-actions').hidden = order.status !== 'PENDING';
  showState('order');
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

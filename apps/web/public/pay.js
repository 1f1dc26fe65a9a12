// @ts-check
/**
 * `pay.html?order=<id>`: the Native QR view for desktop buyers. The QR image comes from the server
 * (GET /api/orders/:id/payment/qr.svg needs the bearer token, so it is fetched and shown from a blob URL); the
 * page polls the order every 2 s and turns to "paid" by itself once the server says so.
 */
import { API_PATHS, callJson, callRaw } from './api.js';
import { chooseChannel } from './channel.js';
import { clientConfig, sandboxBase } from './config.js';
import { rememberedCodeUrl } from './launch.js';
import { formatYuan } from './money.js';
import { fetchOrder, PAID_STATUSES, STATUS_TEXT } from './order-status.js';
import { consumeOAuthFragment, withSession } from './session.js';
import { $, clearError, orderIdFromQuery, resultPage, showError, showState } from './ui.js';

/** @typedef {import('@mp-pay/shared/api').Order} Order */
/** @typedef {import('@mp-pay/shared/api').OrderPaymentResponse} OrderPaymentResponse */

// A QR code is for buyers outside WeChat; a guest session of this browser owns the order.
const channel = chooseChannel(navigator.userAgent);
const POLL_MS = 2000;

async function start() {
  const orderId = orderIdFromQuery();
  if (!orderId) {
    showError(new Error('缺少订单号 / No order given'));
    showState('failed');
    return;
  }
  $('#result-link').setAttribute('href', resultPage(orderId));
  // Opened inside WeChat, this page signs in through OAuth like the others, and comes back here.
  const oauthError = consumeOAuthFragment();
  if (oauthError) throw oauthError;

  const order = await withSession(channel, (token) => fetchOrder(orderId, token));
  if (finished(order)) return;

  const codeUrl = rememberedCodeUrl(orderId) ?? (await relaunch(orderId));
  $('#qr').dataset.codeUrl = codeUrl;
  const svg = await withSession(channel, (token) => callRaw(API_PATHS.orderQr(orderId), { token }));
  $('#qr-image').setAttribute('src', URL.createObjectURL(await svg.blob()));
  $('#order-total').textContent = formatYuan(order.totalFen);

  const sandbox = sandboxBase(await clientConfig());
  if (sandbox) {
    $('#sandbox-scan-link').setAttribute(
      'href',
      `${sandbox}/sandbox/scan?url=${encodeURIComponent(codeUrl)}`,
    );
    $('#sandbox').hidden = false;
  }
  showState('scan');
  void poll(orderId);
}

/**
 * The open Native attempt's launch, when this tab did not place it (a reload, a link from elsewhere).
 * @param {string} orderId
 * @returns {Promise<string>}
 */
async function relaunch(orderId) {
  const res = /** @type {OrderPaymentResponse} */ (
    await withSession(channel, (token) =>
      callJson(API_PATHS.orderPayment(orderId), { method: 'POST', token, body: { channel: 'native' } }),
    )
  );
  if (res.payment.kind !== 'native') throw new Error(`unexpected launch ${res.payment.kind}`);
  return res.payment.codeUrl;
}

/** @param {string} orderId */
async function poll(orderId) {
  for (;;) {
    await new Promise((r) => setTimeout(r, POLL_MS));
    try {
      const order = await withSession(channel, (token) => fetchOrder(orderId, token));
      clearError();
      if (finished(order)) return;
    } catch (err) {
      // Keep polling through a hiccup, but let the buyer see it.
      showError(err);
    }
  }
}

/**
 * Switches to the paid or ended view when the order is no longer payable.
 * @param {Order} order
 * @returns {boolean}
 */
function finished(order) {
  if (PAID_STATUSES.has(order.status)) {
    $('#paid-total').textContent = formatYuan(order.totalFen);
    showState('paid');
    return true;
  }
  if (order.status !== 'PENDING') {
    $('#ended').textContent = STATUS_TEXT[order.status].title;
    $('#ended').dataset.status = order.status;
    showState('ended');
    return true;
  }
  return false;
}

start().catch((err) => {
  showError(err);
  showState('failed');
});

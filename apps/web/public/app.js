// @ts-check
/**
 * The shop page: products from the server, a cart in localStorage, checkout through the channel this browser
 * should use (channel.js), then the hand-over to WeChat (launch.js).
 */
import { API_PATHS, callJson, newIdempotencyKey } from './api.js';
import { addToCart, itemCount, loadCart, pruneCart, saveCart, totalFen } from './cart.js';
import { chooseChannel } from './channel.js';
import { launchPayment } from './launch.js';
import { groupCartByMerchant, hasSeveralMerchants } from './merchants.js';
import { formatYuan } from './money.js';
import { consumeOAuthFragment, ensureSession, withSession } from './session.js';
import { $, busy, clearError, showError, showState } from './ui.js';

/** @typedef {import('@mp-pay/shared/api').Product} Product */
/** @typedef {import('@mp-pay/shared/api').ProductListResponse} ProductListResponse */
/** @typedef {import('@mp-pay/shared/api').CreateOrderResponse} CreateOrderResponse */
/** @typedef {import('./cart.js').Cart} Cart */

const channel = chooseChannel(navigator.userAgent);
/** @type {Product[]} */
let products = [];
let cart = loadCart(localStorage);

const CHANNEL_LABEL = {
  official_account: '微信内支付 / WeChat Pay in WeChat',
  h5: '微信 H5 支付 / WeChat Pay (H5)',
  native: '扫码支付 / Scan to pay',
};

async function start() {
  const channelTag = $('#channel');
  channelTag.textContent = CHANNEL_LABEL[channel];
  channelTag.dataset.channel = channel;
  channelTag.hidden = false;
  $('#checkout').addEventListener('click', () => void checkout());
  $('#reload').addEventListener('click', () => void loadProducts());

  const oauthError = consumeOAuthFragment();
  if (oauthError) {
    // Do not loop back to WeChat: show why and let the buyer retry by reloading.
    showError(oauthError);
  } else if (channel === 'official_account') {
    // Inside WeChat the buyer signs in silently (snsapi_base) before shopping.
    await ensureSession(channel);
  }
  await loadProducts();
}

async function loadProducts() {
  showState('loading');
  try {
    const list = /** @type {ProductListResponse} */ (await callJson(API_PATHS.products));
    products = list.products;
    cart = pruneCart(cart, products);
    saveCart(localStorage, cart);
    renderProducts();
    renderCart();
    showState('shop');
  } catch (err) {
    showError(err);
    showState('failed');
  }
}

function renderProducts() {
  const list = $('#products');
  const template = /** @type {HTMLTemplateElement} */ ($('#product-template'));
  const showMerchant = hasSeveralMerchants(products);
  list.replaceChildren(
    ...products.map((p) => {
      const item = /** @type {DocumentFragment} */ (template.content.cloneNode(true));
      const li = /** @type {HTMLElement} */ (item.firstElementChild);
      li.dataset.productId = p.id;
      text(li, '.product-name', p.name);
      text(li, '.product-description', p.description);
      const merchant = /** @type {HTMLElement | null} */ (li.querySelector('.product-merchant'));
      if (merchant && showMerchant && p.merchant) {
        merchant.textContent = p.merchant.name;
        merchant.dataset.mchid = p.merchant.mchid;
        merchant.hidden = false;
      }
      text(li, '.price', formatYuan(p.priceFen));
      li.querySelector('.add')?.addEventListener('click', () => change(p.id, 1));
      return li;
    }),
  );
}

function renderCart() {
  const footer = $('#cart');
  footer.hidden = itemCount(cart) === 0;
  const container = $('#cart-lines');
  if (hasSeveralMerchants(products)) {
    // Each merchant's goods become a sub-order of their own (docs/combine.md): show the cart the same way.
    const groupTemplate = /** @type {HTMLTemplateElement} */ ($('#merchant-group-template'));
    container.replaceChildren(
      ...groupCartByMerchant(cart, products).map((group) => {
        const item = /** @type {DocumentFragment} */ (groupTemplate.content.cloneNode(true));
        const li = /** @type {HTMLElement} */ (item.firstElementChild);
        li.dataset.mchid = group.mchid;
        text(li, '.group-merchant', group.name);
        text(li, '.group-subtotal', formatYuan(group.subtotalFen));
        li.querySelector('.group-lines')?.replaceChildren(
          ...group.lines.map((l) => cartLine(l.productId, l.quantity, l.product)),
        );
        return li;
      }),
    );
  } else {
    const byId = new Map(products.map((p) => [p.id, p]));
    container.replaceChildren(
      ...cart.lines.map((line) => cartLine(line.productId, line.quantity, byId.get(line.productId))),
    );
  }
  $('#cart-total').textContent = formatYuan(totalFen(cart, products));
}

/**
 * @param {string} productId
 * @param {number} quantity
 * @param {Product | undefined} product
 * @returns {HTMLElement}
 */
function cartLine(productId, quantity, product) {
  const template = /** @type {HTMLTemplateElement} */ ($('#line-template'));
  const item = /** @type {DocumentFragment} */ (template.content.cloneNode(true));
  const li = /** @type {HTMLElement} */ (item.firstElementChild);
  li.dataset.productId = productId;
  text(li, '.line-name', product?.name ?? productId);
  text(li, '.quantity', String(quantity));
  text(li, '.line-subtotal', formatYuan((product?.priceFen ?? 0) * quantity));
  li.querySelector('.minus')?.addEventListener('click', () => change(productId, -1));
  li.querySelector('.plus')?.addEventListener('click', () => change(productId, 1));
  return li;
}

/**
 * @param {string} productId
 * @param {number} delta
 */
function change(productId, delta) {
  cart = addToCart(cart, productId, delta);
  saveCart(localStorage, cart);
  renderCart();
}

async function checkout() {
  if (cart.lines.length === 0) return;
  clearError();
  const button = /** @type {HTMLButtonElement} */ ($('#checkout'));
  // One key per checkout: a retried request (a flaky network) returns the same order instead of a second one.
  const idempotencyKey = newIdempotencyKey();
  const items = cart.lines.map((l) => ({ productId: l.productId, quantity: l.quantity }));
  /** @type {string | undefined} */
  let placedId;
  try {
    await busy(button, '正在下单… / Placing order…', async () => {
      const placed = /** @type {CreateOrderResponse} */ (
        await withSession(channel, (token) =>
          callJson(API_PATHS.orders, {
            method: 'POST',
            token,
            headers: { 'idempotency-key': idempotencyKey },
            body: { items, channel },
          }),
        )
      );
      placedId = placed.order.id;
      // The order holds the items now; a later visit starts with an empty cart.
      cart = { lines: [] };
      saveCart(localStorage, cart);
      renderCart();
      await launchPayment(placed.order.id, placed.payment);
    });
  } catch (err) {
    // Once the order exists, the buyer can still reach it (and pay again) from the error.
    showError(err, placedId);
  }
}

/**
 * @param {HTMLElement} root
 * @param {string} selector
 * @param {string} value
 */
function text(root, selector, value) {
  const el = root.querySelector(selector);
  if (el) el.textContent = value;
}

start().catch(showError);

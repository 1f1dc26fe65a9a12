// @ts-check
/**
 * The cart: product ids and quantities, kept in localStorage so it survives reloads and the trip to WeChat.
 * Prices are never stored here: the total is computed from the product list the server gave, and the server
 * prices the order itself from its catalogue.
 */

/** @typedef {import('@mp-pay/shared/api').Product} Product */
/** @typedef {{ productId: string, quantity: number }} CartLine */
/** @typedef {{ lines: CartLine[] }} Cart */
/** @typedef {Pick<Storage, 'getItem' | 'setItem' | 'removeItem'>} KeyValueStore */

export const CART_KEY = 'mp-pay:cart';
/** The most of one product a cart holds (the server has its own limits). */
export const MAX_QUANTITY = 99;

/** @returns {Cart} */
export function emptyCart() {
  return { lines: [] };
}

/**
 * Adds `quantity` (may be negative) of a product; a line at zero disappears, quantities stay within 1..99.
 * @param {Cart} cart
 * @param {string} productId
 * @param {number} [quantity]
 * @returns {Cart} a new cart
 */
export function addToCart(cart, productId, quantity = 1) {
  const current = cart.lines.find((l) => l.productId === productId)?.quantity ?? 0;
  return setQuantity(cart, productId, current + quantity);
}

/**
 * @param {Cart} cart
 * @param {string} productId
 * @param {number} quantity 0 removes the line
 * @returns {Cart} a new cart
 */
export function setQuantity(cart, productId, quantity) {
  if (!Number.isInteger(quantity)) throw new TypeError(`quantity must be an integer, got ${quantity}`);
  const q = Math.min(Math.max(quantity, 0), MAX_QUANTITY);
  const exists = cart.lines.some((l) => l.productId === productId);
  const lines = exists
    ? cart.lines.map((l) => (l.productId === productId ? { productId, quantity: q } : l))
    : [...cart.lines, { productId, quantity: q }];
  return { lines: lines.filter((l) => l.quantity > 0) };
}

/**
 * @param {Cart} cart
 * @returns {number} how many items in all
 */
export function itemCount(cart) {
  return cart.lines.reduce((n, l) => n + l.quantity, 0);
}

/**
 * The total in fen, from the products' integer prices. Lines whose product is no longer offered are ignored
 * (and dropped by `pruneCart`).
 * @param {Cart} cart
 * @param {readonly Product[]} products
 * @returns {number}
 */
export function totalFen(cart, products) {
  const price = new Map(products.map((p) => [p.id, p.priceFen]));
  let total = 0;
  for (const line of cart.lines) {
    const unit = price.get(line.productId);
    if (unit !== undefined) total += unit * line.quantity;
  }
  return total;
}

/**
 * Drops the lines of products the shop no longer lists.
 * @param {Cart} cart
 * @param {readonly Product[]} products
 * @returns {Cart}
 */
export function pruneCart(cart, products) {
  const ids = new Set(products.map((p) => p.id));
  return { lines: cart.lines.filter((l) => ids.has(l.productId)) };
}

/**
 * Reads the cart; anything malformed (an old format, a hand edit) gives an empty cart rather than an error.
 * @param {KeyValueStore} storage
 * @returns {Cart}
 */
export function loadCart(storage) {
  try {
    const raw = JSON.parse(storage.getItem(CART_KEY) ?? 'null');
    if (!raw || !Array.isArray(raw.lines)) return emptyCart();
    /** @type {CartLine[]} */
    const lines = [];
    for (const l of raw.lines) {
      if (
        l &&
        typeof l.productId === 'string' &&
        Number.isInteger(l.quantity) &&
        l.quantity > 0 &&
        l.quantity <= MAX_QUANTITY &&
        !lines.some((x) => x.productId === l.productId)
      )
        lines.push({ productId: l.productId, quantity: l.quantity });
    }
    return { lines };
  } catch {
    return emptyCart();
  }
}

/**
 * @param {KeyValueStore} storage
 * @param {Cart} cart
 */
export function saveCart(storage, cart) {
  if (cart.lines.length === 0) storage.removeItem(CART_KEY);
  else storage.setItem(CART_KEY, JSON.stringify(cart));
}

/**
 * The cart: which products and how many, kept in wx storage so it survives a relaunch. Only ids and
 * quantities are stored; names and prices always come from the catalogue, and the server prices the order
 * itself, so a stale price in a cart can never reach a payment.
 */
import type { OrderItemInput, Product } from '../generated/api';

export const CART_STORAGE_KEY = 'mp-pay:cart';
/** Per product; the server validates quantities itself. */
export const MAX_QUANTITY = 99;

export interface CartLine {
  productId: string;
  quantity: number;
}

function isLine(value: unknown): value is CartLine {
  const line = value as CartLine;
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof line.productId === 'string' &&
    line.productId !== '' &&
    Number.isSafeInteger(line.quantity) &&
    line.quantity >= 1
  );
}

/** The stored cart; anything malformed in storage (an older build, a hand edit) is dropped, not trusted. */
export function readCart(): CartLine[] {
  let stored: unknown;
  try {
    stored = wx.getStorageSync(CART_STORAGE_KEY);
  } catch {
    return [];
  }
  if (!Array.isArray(stored)) return [];
  const lines: CartLine[] = [];
  for (const value of stored) {
    if (!isLine(value) || lines.some((l) => l.productId === value.productId)) continue;
    lines.push({ productId: value.productId, quantity: Math.min(value.quantity, MAX_QUANTITY) });
  }
  return lines;
}

function writeCart(lines: CartLine[]): CartLine[] {
  wx.setStorageSync(CART_STORAGE_KEY, lines);
  return lines;
}

/** Sets one product's quantity (clamped to 0..MAX_QUANTITY; 0 removes it). New products go last. */
export function setCartQuantity(productId: string, quantity: number): CartLine[] {
  const q = Math.max(0, Math.min(MAX_QUANTITY, Math.floor(quantity)));
  const lines = readCart();
  const index = lines.findIndex((l) => l.productId === productId);
  if (q === 0) {
    if (index >= 0) lines.splice(index, 1);
  } else if (index >= 0) {
    lines[index] = { productId, quantity: q };
  } else {
    lines.push({ productId, quantity: q });
  }
  return writeCart(lines);
}

export function addToCart(productId: string, quantity = 1): CartLine[] {
  const current = readCart().find((l) => l.productId === productId)?.quantity ?? 0;
  return setCartQuantity(productId, current + quantity);
}

/** Removes the given products (those just ordered), or everything. */
export function clearCart(productIds?: readonly string[]): CartLine[] {
  if (!productIds) return writeCart([]);
  return writeCart(readCart().filter((l) => !productIds.includes(l.productId)));
}

/** How many items (not lines) the cart holds. */
export function cartCount(lines: readonly CartLine[] = readCart()): number {
  return lines.reduce((n, l) => n + l.quantity, 0);
}

export interface PricedCart {
  lines: { product: Product; quantity: number; subtotalFen: number }[];
  /** The estimate shown before submitting, in fen (integers only). */
  totalFen: number;
  /** Products in the cart the catalogue no longer has: not ordered, shown as gone. */
  missing: string[];
}

export function priceCart(lines: readonly CartLine[], products: readonly Product[]): PricedCart {
  const priced: PricedCart = { lines: [], totalFen: 0, missing: [] };
  for (const line of lines) {
    const product = products.find((p) => p.id === line.productId);
    if (!product) {
      priced.missing.push(line.productId);
      continue;
    }
    const subtotalFen = product.priceFen * line.quantity;
    priced.lines.push({ product, quantity: line.quantity, subtotalFen });
    priced.totalFen += subtotalFen;
  }
  return priced;
}

/** What the order API takes: the priced lines' ids and quantities, in cart order. */
export function orderItems(priced: PricedCart): OrderItemInput[] {
  return priced.lines.map((l) => ({ productId: l.product.id, quantity: l.quantity }));
}

import { describe, expect, test } from 'vitest';
import {
  addToCart,
  CART_KEY,
  emptyCart,
  itemCount,
  loadCart,
  MAX_QUANTITY,
  pruneCart,
  saveCart,
  setQuantity,
  totalFen,
} from '../public/cart.js';
import { formatYuan } from '../public/money.js';

const products = [
  { id: 'green-tea', name: 'Green tea', description: '', priceFen: 3800 },
  { id: 'sample', name: 'Sample', description: '', priceFen: 1 },
  { id: 'cup', name: 'Cup', description: '', priceFen: 2510 },
];

/** A Storage-like map, as localStorage behaves. */
function memoryStorage(initial: Record<string, string> = {}) {
  const data = new Map(Object.entries(initial));
  return {
    data,
    getItem: (k: string) => data.get(k) ?? null,
    setItem: (k: string, v: string) => void data.set(k, String(v)),
    removeItem: (k: string) => void data.delete(k),
  };
}

describe('formatYuan', () => {
  test.each([
    [0, '¥0.00'],
    [1, '¥0.01'],
    [10, '¥0.10'],
    [99, '¥0.99'],
    [100, '¥1.00'],
    [1234, '¥12.34'],
    [3800, '¥38.00'],
    [123456789, '¥1234567.89'],
    [-250, '-¥2.50'],
  ])('%i fen → %s', (fen, text) => {
    expect(formatYuan(fen)).toBe(text);
  });

  test('refuses anything but an integer number of fen', () => {
    expect(() => formatYuan(12.5)).toThrow(TypeError);
    expect(() => formatYuan(Number.NaN)).toThrow(TypeError);
    expect(() => formatYuan(2 ** 60)).toThrow(TypeError);
  });
});

describe('cart', () => {
  test('adds, counts and totals in integer fen', () => {
    let cart = emptyCart();
    cart = addToCart(cart, 'green-tea');
    cart = addToCart(cart, 'green-tea');
    cart = addToCart(cart, 'sample', 3);
    cart = addToCart(cart, 'cup');
    expect(cart.lines).toEqual([
      { productId: 'green-tea', quantity: 2 },
      { productId: 'sample', quantity: 3 },
      { productId: 'cup', quantity: 1 },
    ]);
    expect(itemCount(cart)).toBe(6);
    expect(totalFen(cart, products)).toBe(2 * 3800 + 3 + 2510);
    expect(formatYuan(totalFen(cart, products))).toBe('¥101.13');
  });

  test('0.1 + 0.2 style sums stay exact', () => {
    // 10 fen three times is 30 fen, where 0.1 * 3 in floating point yuan is 0.30000000000000004.
    const dime = [{ id: 'd', name: 'd', description: '', priceFen: 10 }];
    expect(formatYuan(totalFen(addToCart(emptyCart(), 'd', 3), dime))).toBe('¥0.30');
  });

  test('removing down to zero drops the line; quantities stay within 1..99', () => {
    let cart = addToCart(emptyCart(), 'sample', 2);
    cart = addToCart(cart, 'sample', -1);
    expect(cart.lines).toEqual([{ productId: 'sample', quantity: 1 }]);
    cart = addToCart(cart, 'sample', -5);
    expect(cart.lines).toEqual([]);
    cart = setQuantity(cart, 'cup', 500);
    expect(cart.lines).toEqual([{ productId: 'cup', quantity: MAX_QUANTITY }]);
    expect(() => setQuantity(cart, 'cup', 1.5)).toThrow(TypeError);
  });

  test('does not change the cart it was given', () => {
    const cart = addToCart(emptyCart(), 'sample');
    addToCart(cart, 'sample');
    expect(cart.lines).toEqual([{ productId: 'sample', quantity: 1 }]);
  });

  test('products no longer offered are left out of the total and pruned', () => {
    const cart = addToCart(addToCart(emptyCart(), 'gone', 4), 'sample');
    expect(totalFen(cart, products)).toBe(1);
    expect(pruneCart(cart, products).lines).toEqual([{ productId: 'sample', quantity: 1 }]);
  });

  test('round-trips through storage; an empty cart removes the key', () => {
    const storage = memoryStorage();
    const cart = addToCart(addToCart(emptyCart(), 'cup', 2), 'sample');
    saveCart(storage, cart);
    expect(loadCart(storage)).toEqual(cart);
    saveCart(storage, emptyCart());
    expect(storage.data.has(CART_KEY)).toBe(false);
    expect(loadCart(storage)).toEqual(emptyCart());
  });

  test('malformed stored carts load as empty or lose their bad lines', () => {
    expect(loadCart(memoryStorage({ [CART_KEY]: '{not json' }))).toEqual(emptyCart());
    expect(loadCart(memoryStorage({ [CART_KEY]: '[1,2]' }))).toEqual(emptyCart());
    const stored = JSON.stringify({
      lines: [
        { productId: 'cup', quantity: 2 },
        { productId: 'cup', quantity: 3 },
        { productId: 'sample', quantity: 0 },
        { productId: 'sample', quantity: 1.5 },
        { productId: 'green-tea', quantity: 100 },
        { productId: 7, quantity: 1 },
        null,
      ],
    });
    expect(loadCart(memoryStorage({ [CART_KEY]: stored })).lines).toEqual([
      { productId: 'cup', quantity: 2 },
    ]);
  });
});

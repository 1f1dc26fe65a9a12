import { afterEach, describe, expect, test } from 'vitest';
import {
  addToCart,
  CART_STORAGE_KEY,
  cartCount,
  clearCart,
  MAX_QUANTITY,
  orderItems,
  priceCart,
  readCart,
  setCartQuantity,
} from '../../miniprogram/services/cart.ts';
import { installFakeWx, uninstallWx } from '../support/fake-wx.ts';

afterEach(() => uninstallWx());

const products = [
  { id: 'tea', name: 'Tea', description: '', priceFen: 1990 },
  { id: 'cup', name: 'Cup', description: '', priceFen: 123456 },
];

describe('cart', () => {
  test('adds, sets and removes quantities, kept in wx storage', () => {
    const { storage } = installFakeWx({});
    expect(readCart()).toEqual([]);
    addToCart('tea');
    addToCart('cup', 2);
    addToCart('tea');
    expect(readCart()).toEqual([
      { productId: 'tea', quantity: 2 },
      { productId: 'cup', quantity: 2 },
    ]);
    expect(cartCount()).toBe(4);
    setCartQuantity('cup', 0);
    expect(readCart()).toEqual([{ productId: 'tea', quantity: 2 }]);
    expect(storage.get(CART_STORAGE_KEY)).toEqual([{ productId: 'tea', quantity: 2 }]);
  });

  test('survives a relaunch: a new wx over the same storage reads the same cart', () => {
    const storage = new Map<string, unknown>();
    installFakeWx({}, storage);
    addToCart('tea', 3);
    uninstallWx();
    installFakeWx({}, storage);
    expect(readCart()).toEqual([{ productId: 'tea', quantity: 3 }]);
  });

  test('quantities are clamped to 1..MAX_QUANTITY', () => {
    installFakeWx({});
    addToCart('tea', 500);
    expect(readCart()).toEqual([{ productId: 'tea', quantity: MAX_QUANTITY }]);
    setCartQuantity('tea', -3);
    expect(readCart()).toEqual([]);
  });

  test('malformed storage is dropped, duplicates keep the first line', () => {
    installFakeWx(
      {},
      new Map<string, unknown>([
        [
          CART_STORAGE_KEY,
          [
            { productId: 'tea', quantity: 2 },
            { productId: 'tea', quantity: 5 },
            { productId: '', quantity: 1 },
            { productId: 'cup', quantity: 1.5 },
            { productId: 'cup', quantity: 0 },
            'junk',
            null,
            { productId: 'mug', quantity: 1000 },
          ],
        ],
      ]),
    );
    expect(readCart()).toEqual([
      { productId: 'tea', quantity: 2 },
      { productId: 'mug', quantity: MAX_QUANTITY },
    ]);
  });

  test('not an array in storage reads as empty', () => {
    installFakeWx({}, new Map<string, unknown>([[CART_STORAGE_KEY, '{"tea":1}']]));
    expect(readCart()).toEqual([]);
  });

  test('clearCart removes what was ordered, or everything', () => {
    installFakeWx({});
    addToCart('tea');
    addToCart('cup');
    addToCart('mug');
    clearCart(['tea', 'mug']);
    expect(readCart()).toEqual([{ productId: 'cup', quantity: 1 }]);
    clearCart();
    expect(readCart()).toEqual([]);
  });

  test('priceCart: integer fen subtotals and total from the catalogue; vanished products set aside', () => {
    const priced = priceCart(
      [
        { productId: 'tea', quantity: 3 },
        { productId: 'gone', quantity: 1 },
        { productId: 'cup', quantity: 2 },
      ],
      products,
    );
    expect(priced.lines.map((l) => [l.product.id, l.quantity, l.subtotalFen])).toEqual([
      ['tea', 3, 5970],
      ['cup', 2, 246912],
    ]);
    expect(priced.totalFen).toBe(252882);
    expect(priced.missing).toEqual(['gone']);
    expect(orderItems(priced)).toEqual([
      { productId: 'tea', quantity: 3 },
      { productId: 'cup', quantity: 2 },
    ]);
  });
});

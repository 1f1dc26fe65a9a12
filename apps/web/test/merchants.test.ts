import { describe, expect, test } from 'vitest';
import type { SubOrderView } from '@mp-pay/shared/api';
import { addToCart, emptyCart, totalFen } from '../public/cart.js';
import {
  groupCartByMerchant,
  hasSeveralMerchants,
  partialPaymentNotice,
  SUB_ORDER_STATE_TEXT,
} from '../public/merchants.js';
import { formatYuan } from '../public/money.js';

const SHOP = { mchid: '1900000109', name: 'mp-pay 茶铺' };
const TEAWARE = { mchid: '1900000209', name: '青瓷茶器' };
const products = [
  { id: 'green-tea', name: 'Green tea', description: '', priceFen: 3800, merchant: SHOP },
  { id: 'sample', name: 'Sample', description: '', priceFen: 1, merchant: SHOP },
  { id: 'teapot', name: 'Teapot', description: '', priceFen: 12800, merchant: TEAWARE },
];

describe('hasSeveralMerchants', () => {
  test('true only when the products name two merchants or more', () => {
    expect(hasSeveralMerchants(products)).toBe(true);
    expect(hasSeveralMerchants(products.filter((p) => p.merchant === SHOP))).toBe(false);
    expect(hasSeveralMerchants([])).toBe(false);
  });

  test('a catalogue without merchants (APIv2) is one merchant', () => {
    const plain = products.map(({ merchant: _merchant, ...p }) => p);
    expect(hasSeveralMerchants(plain)).toBe(false);
  });
});

describe('groupCartByMerchant', () => {
  test('one group per merchant, in the order the cart first names it, with subtotals in fen', () => {
    let cart = addToCart(emptyCart(), 'teapot');
    cart = addToCart(cart, 'green-tea', 2);
    cart = addToCart(cart, 'sample', 3);
    const groups = groupCartByMerchant(cart, products);
    expect(groups.map((g) => [g.mchid, g.name, g.subtotalFen])).toEqual([
      [TEAWARE.mchid, TEAWARE.name, 12800],
      [SHOP.mchid, SHOP.name, 2 * 3800 + 3],
    ]);
    expect(groups[1]?.lines.map((l) => [l.productId, l.quantity, l.subtotalFen])).toEqual([
      ['green-tea', 2, 7600],
      ['sample', 3, 3],
    ]);
    // The subtotals are the cart's total, split.
    expect(groups.reduce((sum, g) => sum + g.subtotalFen, 0)).toBe(totalFen(cart, products));
  });

  test('lines of products no longer offered are left out; an empty cart has no groups', () => {
    const cart = addToCart(addToCart(emptyCart(), 'gone', 2), 'teapot');
    expect(groupCartByMerchant(cart, products).map((g) => g.lines.map((l) => l.productId))).toEqual([
      ['teapot'],
    ]);
    expect(groupCartByMerchant(emptyCart(), products)).toEqual([]);
  });
});

describe('partialPaymentNotice', () => {
  test('says what was paid of the total and that it is refunded', () => {
    const notice = partialPaymentNotice({ totalFen: 20400, partiallyPaidFen: 7600 }, formatYuan);
    expect(notice).toContain('¥76.00');
    expect(notice).toContain('¥204.00');
    expect(notice).toMatch(/refunded in full/);
  });

  test('nothing for an order paid in full or not a combine', () => {
    expect(partialPaymentNotice({ totalFen: 20400 }, formatYuan)).toBeUndefined();
  });
});

test('every sub-order state has its text', () => {
  const states: SubOrderView['state'][] = ['PENDING', 'PAID', 'CLOSED', 'PARTIALLY_REFUNDED', 'REFUNDED'];
  for (const state of states) expect(SUB_ORDER_STATE_TEXT[state]).toMatch(/\S+ \/ \S+/);
});

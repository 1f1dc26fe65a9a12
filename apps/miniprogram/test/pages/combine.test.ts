// @vitest-environment jsdom
/**
 * Combine (合单) payments as the buyer sees them: the seller named where the catalogue spans several merchants,
 * the cart grouped by merchant and said to be one combined payment, and an order's sub-orders (each merchant's
 * part and its state) with the notice of a combine paid only in part.
 */
import { afterEach, expect, test } from 'vitest';
import type { Order, Product, SubOrderView } from '@mp-pay/shared/api';
import { makeOrder, orderId, outRefundNoOf, outTradeNoOf, PRODUCTS } from '../support/fake-backend.ts';
import { uninstallWx, waitFor } from '../support/fake-wx.ts';
import {
  exists,
  existsIn,
  pageText,
  renderPage,
  statusOf,
  tapElement,
  text,
  textIn,
  type Rendered,
} from '../support/pages.ts';
import { pageEnv, type PageEnv } from './harness.ts';

afterEach(() => uninstallWx());

const SHOP = { mchid: '1900000109', name: '茶语小店' };
const TEAWARE = { mchid: '1900000209', name: '龙泉青瓷坊' };

/** The fake catalogue with each product's seller, plus a teapot of another merchant. */
function twoMerchants(): Product[] {
  return [
    { ...PRODUCTS[0]!, merchant: SHOP },
    { ...PRODUCTS[1]!, merchant: SHOP },
    {
      id: 'teapot',
      name: '青瓷茶壶',
      description: '龙泉青瓷 300ml',
      priceFen: 128_000,
      merchant: TEAWARE,
    },
  ];
}

function env(products: Product[] = twoMerchants()): PageEnv {
  const e = pageEnv();
  e.backend.products = products;
  return e;
}

const O1 = orderId(1);
const COMBINE = outTradeNoOf(O1);

function sub(
  letter: string,
  merchant: typeof SHOP,
  totalFen: number,
  state: SubOrderView['state'],
): SubOrderView {
  return {
    outTradeNo: `${O1}1${letter}`,
    mchid: merchant.mchid,
    merchantName: merchant.name,
    totalFen,
    state,
    ...(state === 'PENDING' || state === 'CLOSED' ? {} : { transactionId: `4200${letter}` }),
  };
}

function combineOrder(overrides: Partial<Order> = {}): Order {
  return makeOrder({
    id: O1,
    outTradeNo: COMBINE,
    description: '龙井茶 x2, 青瓷茶壶 x1',
    items: [
      { productId: 'tea', name: '龙井茶', unitPriceFen: 1990, quantity: 2, subtotalFen: 3980 },
      { productId: 'teapot', name: '青瓷茶壶', unitPriceFen: 128_000, quantity: 1, subtotalFen: 128_000 },
    ],
    totalFen: 131_980,
    subOrders: [sub('a', SHOP, 3980, 'PENDING'), sub('b', TEAWARE, 128_000, 'PENDING')],
    ...overrides,
  });
}

function subOrderRows(page: ReturnType<typeof renderPage>): string[][] {
  return page
    .querySelectorAll('.sub-order')
    .map((row) => [
      textIn(row, '.sub-order-merchant'),
      textIn(row, '.sub-order-amount'),
      textIn(row, '.sub-order-state'),
    ]);
}

/** The product names under one merchant heading (nested lookups go through the DOM: see textIn). */
function names(group: Rendered): string[] {
  return Array.from(group.dom.querySelectorAll('.main--line-name'), (n) => n.textContent ?? '');
}

// ---- the seller ---------------------------------------------------------------------------------------

test('the shop names each product’s seller when the catalogue spans several merchants', async () => {
  const e = env();
  const page = renderPage(e.built, 'pages/products/index');
  await waitFor(() => expect(page.querySelectorAll('.product')).toHaveLength(3));
  expect(page.querySelectorAll('.product').map((p) => textIn(p, '.product-merchant'))).toEqual([
    '茶语小店',
    '茶语小店',
    '龙泉青瓷坊',
  ]);
  expect(textIn(page.querySelectorAll('.product')[2]!, '.product-price')).toBe('¥1,280.00');
});

test('one merchant only, or no merchant at all: the shop names no seller', async () => {
  for (const products of [
    twoMerchants().filter((p) => p.merchant?.mchid === SHOP.mchid),
    PRODUCTS.map((p) => ({ ...p })),
  ]) {
    const e = env(products);
    const page = renderPage(e.built, 'pages/products/index');
    await waitFor(() => expect(page.querySelectorAll('.product')).toHaveLength(2));
    expect(exists(page, '.product-merchant')).toBe(false);
    uninstallWx();
  }
});

test('the product page names the seller when the catalogue has several merchants, and only then', async () => {
  const e = env();
  const page = renderPage(e.built, 'pages/product-detail/index', { id: 'teapot' });
  await waitFor(() => expect(text(page, '.product-merchant')).toBe('龙泉青瓷坊'));
  expect(text(page, '.product-price')).toBe('¥1,280.00');
  uninstallWx();

  const single = env(twoMerchants().filter((p) => p.id !== 'teapot'));
  const one = renderPage(single.built, 'pages/product-detail/index', { id: 'tea' });
  await waitFor(() => expect(exists(one, '.buy-now')).toBe(true));
  expect(exists(one, '.product-merchant')).toBe(false);
});

test('the product page still shows the product when the catalogue cannot be read (no seller then)', async () => {
  const e = env();
  e.backend.intercept((req) => (req.path === '/api/products' ? { networkError: 'timeout' } : undefined));
  const page = renderPage(e.built, 'pages/product-detail/index', { id: 'teapot' });
  await waitFor(() => expect(exists(page, '.buy-now')).toBe(true));
  expect(text(page, '.product-name')).toBe('青瓷茶壶');
  expect(exists(page, '.product-merchant')).toBe(false);
  expect(exists(statusOf(page), '.error-text')).toBe(false);
});

test('a product without a merchant costs no catalogue request on its page', async () => {
  const e = env(PRODUCTS.map((p) => ({ ...p })));
  const page = renderPage(e.built, 'pages/product-detail/index', { id: 'tea' });
  await waitFor(() => expect(exists(page, '.buy-now')).toBe(true));
  expect(e.backend.requests.filter((r) => r.path === '/api/products')).toEqual([]);
});

test('the confirmation page names the seller of the product being bought', async () => {
  const e = env();
  const page = renderPage(e.built, 'pages/confirm/index', { productId: 'teapot' });
  await waitFor(() => expect(exists(page, '.submit')).toBe(true));
  expect(text(page, '.product-merchant')).toBe('龙泉青瓷坊');
});

// ---- the cart -----------------------------------------------------------------------------------------

test('a cart of two merchants is grouped by merchant with subtotals, as one combined payment', async () => {
  const e = env();
  e.fake.storage.set('mp-pay:cart', [
    { productId: 'tea', quantity: 2 },
    { productId: 'teapot', quantity: 1 },
    { productId: 'cup', quantity: 1 },
  ]);
  const page = renderPage(e.built, 'pages/cart/index');
  await waitFor(() => expect(page.querySelectorAll('.line')).toHaveLength(3));
  const groups = page.querySelectorAll('.merchant-group');
  expect(groups.map((g) => [textIn(g, '.merchant-name'), textIn(g, '.merchant-subtotal')])).toEqual([
    ['茶语小店', '小计 ¥51.85'],
    ['龙泉青瓷坊', '小计 ¥1,280.00'],
  ]);
  // Each merchant's lines under its heading, the shop's tea and cup together.
  expect(names(groups[0]!)).toEqual(['龙井茶', '茶杯']);
  expect(names(groups[1]!)).toEqual(['青瓷茶壶']);
  expect(text(page, '.combine-note')).toBe('合并支付：这些商品来自 2 家商户，一次支付，货款分别付给各商户');
  expect(text(page, '.combine-hint')).toBe('合并支付，一次付清');
  expect(text(page, '.total')).toBe('¥1,331.85');
  expect(text(page, '.checkout')).toBe('提交订单并支付 ¥1,331.85');
});

test('removing the other merchant’s goods drops the grouping; one merchant’s cart is a plain list', async () => {
  const e = env();
  e.fake.storage.set('mp-pay:cart', [
    { productId: 'tea', quantity: 1 },
    { productId: 'teapot', quantity: 1 },
  ]);
  const page = renderPage(e.built, 'pages/cart/index');
  await waitFor(() => expect(exists(page, '.combine-note')).toBe(true));
  await tapElement(page.querySelectorAll('.remove')[1]!);
  await waitFor(() => expect(page.querySelectorAll('.line')).toHaveLength(1));
  expect(exists(page, '.combine-note')).toBe(false);
  expect(exists(page, '.merchant-heading')).toBe(false);
  expect(exists(page, '.combine-hint')).toBe(false);
  expect(text(page, '.total')).toBe('¥19.90');
});

// ---- the order page -----------------------------------------------------------------------------------

async function orderPage(order: Order, refunds: Parameters<PageEnv['backend']['addRefund']>[1][] = []) {
  const e = env();
  e.backend.orders = [order];
  for (const r of refunds) e.backend.addRefund(O1, r);
  const page = renderPage(e.built, 'pages/order-detail/index', { id: O1 });
  await waitFor(() => expect(exists(page, '.order-status')).toBe(true));
  return { e, page };
}

test('a pending combine lists each merchant’s part, amounts with thousands separators, 待支付', async () => {
  const { page } = await orderPage(combineOrder());
  expect(text(page, '.sub-orders .card-title')).toBe('合并支付 · 2 家商户');
  expect(subOrderRows(page)).toEqual([
    ['茶语小店', '¥39.80', '待支付'],
    ['龙泉青瓷坊', '¥1,280.00', '待支付'],
  ]);
  expect(text(page, '.total')).toBe('¥1,319.80');
  expect(exists(page, '.partial-notice')).toBe(false);
  expect(text(page, '.pay')).toBe('去支付 ¥1,319.80');
});

test('each sub-order state reads in Chinese: 已支付, 已关闭, 部分退款, 已退款', async () => {
  const cases: [Order['status'], SubOrderView['state'], string][] = [
    ['PAID', 'PAID', '已支付'],
    ['CLOSED', 'CLOSED', '已关闭'],
    ['PARTIALLY_REFUNDED', 'PARTIALLY_REFUNDED', '部分退款'],
    ['REFUNDED', 'REFUNDED', '已退款'],
  ];
  for (const [status, state, shown] of cases) {
    const { page } = await orderPage(
      combineOrder({
        status,
        subOrders: [sub('a', SHOP, 3980, state), sub('b', TEAWARE, 128_000, state)],
      }),
    );
    expect(subOrderRows(page)).toEqual([
      ['茶语小店', '¥39.80', shown],
      ['龙泉青瓷坊', '¥1,280.00', shown],
    ]);
    expect(page.querySelectorAll('.sub-order-state').map((s) => s.dom.className)).toEqual([
      expect.stringContaining(`sub-order-${state.toLowerCase()}`),
      expect.stringContaining(`sub-order-${state.toLowerCase()}`),
    ]);
    expect(exists(page, '.partial-notice')).toBe(false);
    uninstallWx();
  }
});

test('a combine paid in part: the notice, what was paid, the refund on its way, nothing to ask for', async () => {
  const { page } = await orderPage(
    combineOrder({
      status: 'PAID',
      paidAt: '2026-11-25T06:31:00.000Z',
      partiallyPaidFen: 128_000,
      subOrders: [sub('a', SHOP, 3980, 'CLOSED'), sub('b', TEAWARE, 128_000, 'PAID')],
    }),
    [{ refundFen: 128_000 }],
  );
  expect(text(page, '.partial-title')).toBe('支付未完成，已付金额原路退回');
  expect(text(page, '.partially-paid')).toBe('¥1,280.00');
  expect(subOrderRows(page)).toEqual([
    ['茶语小店', '¥39.80', '已关闭'],
    ['龙泉青瓷坊', '¥1,280.00', '已支付'],
  ]);
  expect(text(page, '.refund-state')).toBe('退款中');
  expect(text(page, '.refund-amount')).toBe('¥1,280.00');
  expect(exists(page, '.ask-refund')).toBe(false);
  expect(exists(page, '.pay')).toBe(false);
});

test('a partial combine once refunded: 已退款, and the notice stays', async () => {
  const order = combineOrder({
    status: 'PAID',
    partiallyPaidFen: 128_000,
    subOrders: [sub('a', SHOP, 3980, 'CLOSED'), sub('b', TEAWARE, 128_000, 'REFUNDED')],
  });
  const e = env();
  e.backend.orders = [order];
  const refund = e.backend.addRefund(O1, { refundFen: 128_000 });
  expect(refund.outRefundNo).toBe(outRefundNoOf(COMBINE, 1));
  // The server refunds exactly what was paid; the fake compares refunds to the order total, so say it here.
  e.backend.settleRefund(refund.outRefundNo, 'SUCCESS');
  e.backend.setStatus(O1, 'REFUNDED');
  const page = renderPage(e.built, 'pages/order-detail/index', { id: O1 });
  await waitFor(() => expect(text(page, '.order-status')).toBe('已退款'));
  expect(text(page, '.partial-title')).toBe('支付未完成，已付金额原路退回');
  expect(subOrderRows(page).map((r) => r[2])).toEqual(['已关闭', '已退款']);
  expect(text(page, '.refund-state')).toBe('已退款');
});

test('an order of one merchant has no sub-order section', async () => {
  const e = env();
  e.backend.orders = [makeOrder({ id: O1 })];
  const page = renderPage(e.built, 'pages/order-detail/index', { id: O1 });
  await waitFor(() => expect(text(page, '.order-status')).toBe('待支付'));
  expect(exists(page, '.sub-orders')).toBe(false);
  expect(exists(page, '.partial-notice')).toBe(false);
});

test('a malformed sub-order is a bad response, not a blank line', async () => {
  const e = env();
  const broken = combineOrder();
  (broken.subOrders![1] as unknown as Record<string, unknown>).totalFen = '1280.00';
  e.backend.orders = [broken];
  const page = renderPage(e.built, 'pages/order-detail/index', { id: O1 });
  await waitFor(() =>
    expect(text(statusOf(page), '.error-text')).toBe('服务器返回了无法识别的数据，请稍后重试'),
  );
  expect(exists(page, '.sub-orders')).toBe(false);
});

// ---- the result page ----------------------------------------------------------------------------------

test('the result page does not call a combine paid in part a success', async () => {
  const e = env();
  e.backend.orders = [
    combineOrder({
      status: 'PAID',
      partiallyPaidFen: 128_000,
      subOrders: [sub('a', SHOP, 3980, 'CLOSED'), sub('b', TEAWARE, 128_000, 'PAID')],
    }),
  ];
  const page = renderPage(e.built, 'pages/result/index', { id: O1, client: 'ok' });
  await waitFor(() => expect(text(page, '.result .title')).toBe('支付未完成'));
  expect(text(page, '.result .partial-notice')).toBe('支付未完成，已付金额原路退回（¥1,280.00）');
  expect(pageText(page)).not.toContain('支付成功');
  expect(existsIn(page, '.subscribe')).toBe(false);
});

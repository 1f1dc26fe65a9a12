// @vitest-environment jsdom
import { afterEach, expect, test } from 'vitest';
import { orderId } from '../support/fake-backend.ts';
import { cashier, uninstallWx, waitFor } from '../support/fake-wx.ts';
import { exists, renderPage, statusOf, tap, tapElement, text, textIn } from '../support/pages.ts';
import { hold, pageEnv } from './harness.ts';

afterEach(() => uninstallWx());

const CART = 'mp-pay:cart';

function orderPosts(env: ReturnType<typeof pageEnv>) {
  return env.backend.requests.filter((r) => r.method === 'POST' && r.path === '/api/orders');
}

function withCart(lines: { productId: string; quantity: number }[], stubs = {}) {
  const env = pageEnv(stubs);
  env.fake.storage.set(CART, lines);
  return env;
}

test('lists the kept cart with quantities, subtotals and the total before submitting', async () => {
  const env = withCart([
    { productId: 'tea', quantity: 2 },
    { productId: 'cup', quantity: 100 },
  ]);
  const gate = hold(env.backend, '/api/products');
  const page = renderPage(env.built, 'pages/cart/index');
  await waitFor(() => expect(exists(statusOf(page), '.spinner')).toBe(true));
  gate.resolve();
  await waitFor(() => expect(page.querySelectorAll('.line')).toHaveLength(2));
  const [tea, cup] = page.querySelectorAll('.line');
  expect(textIn(tea!, '.line-name')).toBe('龙井茶');
  expect(textIn(tea!, '.quantity')).toBe('2');
  expect(textIn(tea!, '.line-subtotal')).toBe('¥39.80');
  // Capped at 99 per product.
  expect(textIn(cup!, '.quantity')).toBe('99');
  expect(textIn(cup!, '.line-subtotal')).toBe('¥1,192.95');
  expect(text(page, '.total')).toBe('¥1,232.75');
  expect(text(page, '.checkout')).toBe('提交订单并支付 ¥1,232.75');
  // Nothing was ordered by looking.
  expect(orderPosts(env)).toEqual([]);
});

test('steppers and delete change the stored cart and the total', async () => {
  const env = withCart([
    { productId: 'tea', quantity: 1 },
    { productId: 'cup', quantity: 1 },
  ]);
  const page = renderPage(env.built, 'pages/cart/index');
  await waitFor(() => expect(page.querySelectorAll('.line')).toHaveLength(2));
  await tapElement(page.querySelectorAll('.increase')[0]!);
  expect(text(page, '.total')).toBe('¥51.85');
  await tapElement(page.querySelectorAll('.decrease')[1]!);
  expect(page.querySelectorAll('.line')).toHaveLength(1);
  expect(env.fake.storage.get(CART)).toEqual([{ productId: 'tea', quantity: 2 }]);
  await tap(page, '.remove');
  expect(text(statusOf(page), '.empty-text')).toBe('购物车是空的');
  expect(env.fake.storage.get(CART)).toEqual([]);
  await tap(statusOf(page), '.empty-action');
  expect(env.nav).toEqual([{ api: 'switchTab', url: '/pages/products/index' }]);
});

test('a product no longer sold is set aside and not ordered', async () => {
  const env = withCart([
    { productId: 'gone', quantity: 1 },
    { productId: 'tea', quantity: 1 },
  ]);
  const page = renderPage(env.built, 'pages/cart/index');
  await waitFor(() => expect(text(page, '.missing')).toBe('1 件商品已下架，不会下单'));
  expect(text(page, '.total')).toBe('¥19.90');
});

test('one tap creates the order with every item and opens the cashier; ordered items leave the cart', async () => {
  const seen: object[] = [];
  const env = withCart(
    [
      { productId: 'tea', quantity: 2 },
      { productId: 'cup', quantity: 3 },
    ],
    cashier('requestPayment:ok', seen),
  );
  const page = renderPage(env.built, 'pages/cart/index');
  await waitFor(() => expect(exists(page, '.checkout')).toBe(true));
  await tap(page, '.checkout');
  // A double tap while the first is in flight does nothing.
  await tap(page, '.checkout');
  await waitFor(() => expect(env.nav).toHaveLength(1));
  expect(orderPosts(env)).toHaveLength(1);
  expect(orderPosts(env)[0]?.data).toEqual({
    items: [
      { productId: 'tea', quantity: 2 },
      { productId: 'cup', quantity: 3 },
    ],
    channel: 'miniprogram',
  });
  expect(seen).toHaveLength(1);
  expect(env.nav[0]).toEqual({ api: 'redirectTo', url: `/pages/result/index?id=${orderId(1)}&client=ok` });
  expect(env.fake.storage.get(CART)).toEqual([]);
});

test('a cancelled payment still leaves the order (pending) and empties the cart of it', async () => {
  const env = withCart([{ productId: 'tea', quantity: 1 }], cashier('requestPayment:fail cancel'));
  const page = renderPage(env.built, 'pages/cart/index');
  await waitFor(() => expect(exists(page, '.checkout')).toBe(true));
  await tap(page, '.checkout');
  await waitFor(() =>
    expect(env.nav).toEqual([
      { api: 'redirectTo', url: `/pages/result/index?id=${orderId(1)}&client=cancel` },
    ]),
  );
  expect(env.fake.storage.get(CART)).toEqual([]);
});

test('a failed submit says why, keeps the cart, and a retry reuses the idempotency key', async () => {
  const env = withCart([{ productId: 'tea', quantity: 1 }], cashier('requestPayment:ok'));
  let fail = true;
  env.backend.intercept((req) =>
    req.method === 'POST' && req.path === '/api/orders' && fail ? { networkError: 'timeout' } : undefined,
  );
  const page = renderPage(env.built, 'pages/cart/index');
  await waitFor(() => expect(exists(page, '.checkout')).toBe(true));
  await tap(page, '.checkout');
  await waitFor(() => expect(text(page, '.checkout-error')).toBe('网络连接失败，请检查网络后重试'));
  expect(env.fake.storage.get(CART)).toEqual([{ productId: 'tea', quantity: 1 }]);
  expect(env.nav).toEqual([]);
  fail = false;
  await tap(page, '.checkout');
  await waitFor(() => expect(env.nav).toHaveLength(1));
  const keys = orderPosts(env).map((r) => r.header['Idempotency-Key']);
  expect(keys).toHaveLength(2);
  expect(keys[0]).toBeTruthy();
  expect(keys[1]).toBe(keys[0]);
});

test('changing the cart after a failed submit gets a new idempotency key', async () => {
  const env = withCart([{ productId: 'tea', quantity: 1 }], cashier('requestPayment:ok'));
  let fail = true;
  env.backend.intercept((req) =>
    req.method === 'POST' && req.path === '/api/orders' && fail ? { networkError: 'timeout' } : undefined,
  );
  const page = renderPage(env.built, 'pages/cart/index');
  await waitFor(() => expect(exists(page, '.checkout')).toBe(true));
  await tap(page, '.checkout');
  await waitFor(() => expect(exists(page, '.checkout-error')).toBe(true));
  await tap(page, '.increase');
  expect(exists(page, '.checkout-error')).toBe(false);
  fail = false;
  await tap(page, '.checkout');
  await waitFor(() => expect(env.nav).toHaveLength(1));
  const keys = orderPosts(env).map((r) => r.header['Idempotency-Key']);
  expect(keys[1]).not.toBe(keys[0]);
  expect(orderPosts(env)[1]?.data).toMatchObject({ items: [{ productId: 'tea', quantity: 2 }] });
});

test('a failed catalogue load says why and retries', async () => {
  const env = withCart([{ productId: 'tea', quantity: 1 }]);
  let down = true;
  env.backend.intercept((req) =>
    req.path === '/api/products' && down ? { networkError: 'timeout' } : undefined,
  );
  const page = renderPage(env.built, 'pages/cart/index');
  await waitFor(() => expect(text(statusOf(page), '.error-text')).toBe('网络连接失败，请检查网络后重试'));
  down = false;
  await tap(statusOf(page), '.retry');
  await waitFor(() => expect(page.querySelectorAll('.line')).toHaveLength(1));
  expect(exists(statusOf(page), '.error-text')).toBe(false);
  expect(exists(statusOf(page), '.spinner')).toBe(false);
});

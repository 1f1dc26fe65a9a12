// @vitest-environment jsdom
import { afterEach, expect, test } from 'vitest';
import { uninstallWx, waitFor } from '../support/fake-wx.ts';
import {
  exists,
  existsIn,
  pageText,
  renderPage,
  tap,
  tapElement,
  text,
  textIn,
  statusOf,
} from '../support/pages.ts';
import { hold, pageEnv } from './harness.ts';

afterEach(() => uninstallWx());

test('shows a spinner while loading, then every product with its price in yuan', async () => {
  const env = pageEnv();
  const gate = hold(env.backend, '/api/products');
  const page = renderPage(env.built, 'pages/products/index');
  await waitFor(() => expect(env.backend.requests.some((r) => r.path === '/api/products')).toBe(true));
  expect(exists(statusOf(page), '.spinner')).toBe(true);
  expect(pageText(page)).toContain('加载中…');
  expect(page.querySelectorAll('.product')).toHaveLength(0);

  gate.resolve();
  await waitFor(() => expect(page.querySelectorAll('.product')).toHaveLength(2));
  expect(exists(statusOf(page), '.spinner')).toBe(false);
  const [tea, cup] = page.querySelectorAll('.product');
  expect(textIn(tea!, '.product-name')).toBe('龙井茶');
  expect(textIn(tea!, '.product-price')).toBe('¥19.90');
  expect(textIn(cup!, '.product-desc')).toBe('白瓷 200ml');
  expect(textIn(cup!, '.product-price')).toBe('¥12.05');
  expect(existsIn(cup!, '.product-image')).toBe(true);
  expect(existsIn(tea!, '.product-image')).toBe(false);
});

test('tapping buy opens the confirmation page for that product', async () => {
  const env = pageEnv();
  const page = renderPage(env.built, 'pages/products/index');
  await waitFor(() => expect(page.querySelectorAll('.buy')).toHaveLength(2));
  await tapElement(page.querySelectorAll('.buy')[1]!);
  expect(env.nav).toEqual([{ api: 'navigateTo', url: '/pages/confirm/index?productId=cup' }]);
});

test('adding to the cart stores it, shows count and total, and the bar opens the cart', async () => {
  const env = pageEnv();
  const page = renderPage(env.built, 'pages/products/index');
  await waitFor(() => expect(page.querySelectorAll('.add-cart')).toHaveLength(2));
  expect(exists(page, '.cart-bar')).toBe(false);
  const [addTea, addCup] = page.querySelectorAll('.add-cart');
  await tapElement(addTea!);
  await tapElement(addCup!);
  await tapElement(addCup!);
  expect(text(page, '.cart-count')).toBe('购物车 3 件');
  expect(text(page, '.cart-total')).toBe('合计 ¥44.00');
  expect(env.fake.storage.get('mp-pay:cart')).toEqual([
    { productId: 'tea', quantity: 1 },
    { productId: 'cup', quantity: 2 },
  ]);
  expect(env.toasts).toEqual(['已加入购物车', '已加入购物车', '已加入购物车']);
  await tap(page, '.cart-bar');
  expect(env.nav).toEqual([{ api: 'navigateTo', url: '/pages/cart/index' }]);
});

test('a cart kept from an earlier launch shows on load; onShow re-reads it', async () => {
  const env = pageEnv();
  env.fake.storage.set('mp-pay:cart', [{ productId: 'tea', quantity: 60 }]);
  const page = renderPage(env.built, 'pages/products/index');
  await waitFor(() => expect(text(page, '.cart-total')).toBe('合计 ¥1,194.00'));
  env.fake.storage.set('mp-pay:cart', []);
  (page.instance as unknown as { onShow(): void }).onShow();
  await waitFor(() => expect(exists(page, '.cart-bar')).toBe(false));
});

test('a failed load says why and retries on tap', async () => {
  const env = pageEnv();
  let down = true;
  env.backend.intercept((req) =>
    req.path === '/api/products' && down ? { networkError: 'timeout' } : undefined,
  );
  const page = renderPage(env.built, 'pages/products/index');
  await waitFor(() => expect(text(statusOf(page), '.error-text')).toBe('网络连接失败，请检查网络后重试'));
  down = false;
  await tap(statusOf(page), '.retry');
  await waitFor(() => expect(page.querySelectorAll('.product')).toHaveLength(2));
  expect(exists(statusOf(page), '.error-text')).toBe(false);
});

test('an empty catalogue says so', async () => {
  const env = pageEnv();
  env.backend.products = [];
  const page = renderPage(env.built, 'pages/products/index');
  await waitFor(() => expect(text(statusOf(page), '.empty-text')).toBe('暂无商品'));
});

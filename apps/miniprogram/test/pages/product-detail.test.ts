// @vitest-environment jsdom
import { afterEach, expect, test } from 'vitest';
import { uninstallWx, waitFor } from '../support/fake-wx.ts';
import { exists, pageText, renderPage, statusOf, tap, tapElement, text } from '../support/pages.ts';
import { hold, pageEnv } from './harness.ts';

afterEach(() => uninstallWx());

type DetailPage = {
  onShow(): void;
  onPullDownRefresh(): void;
  onShareAppMessage(): { title: string; path: string };
};

test('loads one product from its own route: spinner first, then name, description, price with separators', async () => {
  const env = pageEnv();
  env.backend.products.push({
    id: 'teapot',
    name: '紫砂壶',
    description: '宜兴原矿 300ml',
    priceFen: 1234567,
  });
  const gate = hold(env.backend, '/api/products/teapot');
  const page = renderPage(env.built, 'pages/product-detail/index', { id: 'teapot' });
  await waitFor(() => expect(env.backend.requests.some((r) => r.path === '/api/products/teapot')).toBe(true));
  expect(exists(statusOf(page), '.spinner')).toBe(true);
  expect(exists(page, '.buy-now')).toBe(false);
  gate.resolve();
  await waitFor(() => expect(text(page, '.product-name')).toBe('紫砂壶'));
  expect(text(page, '.product-price')).toBe('¥12,345.67');
  expect(text(page, '.product-desc')).toBe('宜兴原矿 300ml');
  expect(text(page, '.quantity')).toBe('1');
  expect(text(page, '.buy-now')).toBe('立即购买');
  expect(text(page, '.add-cart')).toBe('加入购物车');
  expect(exists(page, '.hero')).toBe(false);
  expect(env.titles).toEqual(['紫砂壶']);
  // Only the product: not the whole catalogue.
  expect(env.backend.requests.map((r) => r.path)).toEqual(['/api/products/teapot']);
});

test('a product with a picture shows it', async () => {
  const env = pageEnv();
  const page = renderPage(env.built, 'pages/product-detail/index', { id: 'cup' });
  await waitFor(() => expect(exists(page, '.hero')).toBe(true));
  expect((page.data.product as { imageUrl: string }).imageUrl).toBe('https://img.test/cup.png');
});

test('buy now: the confirmation page with this product and quantity, the cart untouched, double taps ignored', async () => {
  const env = pageEnv();
  env.fake.storage.set('mp-pay:cart', [{ productId: 'cup', quantity: 2 }]);
  const page = renderPage(env.built, 'pages/product-detail/index', { id: 'tea' });
  await waitFor(() => expect(exists(page, '.increase')).toBe(true));
  await tap(page, '.increase');
  await tap(page, '.increase');
  await tap(page, '.decrease');
  expect(text(page, '.quantity')).toBe('2');
  await tap(page, '.buy-now');
  await tap(page, '.buy-now');
  expect(env.nav).toEqual([{ api: 'navigateTo', url: '/pages/confirm/index?productId=tea&quantity=2' }]);
  expect(env.fake.storage.get('mp-pay:cart')).toEqual([{ productId: 'cup', quantity: 2 }]);
  // Back from the confirmation page: buy now works again.
  (page.instance as unknown as DetailPage).onShow();
  await tap(page, '.buy-now');
  expect(env.nav).toHaveLength(2);
});

test('buy now that fails to open the page can be tapped again', async () => {
  let attempts = 0;
  const env = pageEnv({
    navigateTo: ((opts: { url: string; fail?: (e: { errMsg: string }) => void }) => {
      attempts += 1;
      opts.fail?.({ errMsg: 'navigateTo:fail page limit exceeded' });
    }) as never,
  });
  const page = renderPage(env.built, 'pages/product-detail/index', { id: 'tea' });
  await waitFor(() => expect(exists(page, '.buy-now')).toBe(true));
  const logged = console.error;
  console.error = () => undefined;
  try {
    await tap(page, '.buy-now');
    await tap(page, '.buy-now');
  } finally {
    console.error = logged;
  }
  expect(attempts).toBe(2);
  expect(env.toasts).toEqual(['页面打开失败', '页面打开失败']);
});

test('the stepper stays between 1 and 99', async () => {
  const env = pageEnv();
  const page = renderPage(env.built, 'pages/product-detail/index', { id: 'tea' });
  await waitFor(() => expect(exists(page, '.decrease')).toBe(true));
  (page.instance as unknown as { onDecrease(): void }).onDecrease();
  await new Promise((r) => setTimeout(r, 0));
  expect(text(page, '.quantity')).toBe('1');
  for (let i = 0; i < 100; i++) (page.instance as unknown as { onIncrease(): void }).onIncrease();
  await waitFor(() => expect(text(page, '.quantity')).toBe('99'));
});

test('add to cart adds the chosen quantity to the persisted cart', async () => {
  const env = pageEnv();
  env.fake.storage.set('mp-pay:cart', [{ productId: 'tea', quantity: 1 }]);
  const page = renderPage(env.built, 'pages/product-detail/index', { id: 'tea' });
  await waitFor(() => expect(exists(page, '.increase')).toBe(true));
  await tap(page, '.increase');
  await tap(page, '.add-cart');
  expect(env.fake.storage.get('mp-pay:cart')).toEqual([{ productId: 'tea', quantity: 3 }]);
  expect(env.toasts).toEqual(['已加入购物车']);
  expect(env.nav).toEqual([]);
});

test('an unknown product: not found, with a way back to the shop, and no retry', async () => {
  const env = pageEnv();
  const page = renderPage(env.built, 'pages/product-detail/index', { id: 'gone' });
  await waitFor(() => expect(text(statusOf(page), '.empty-text')).toBe('商品不存在或已下架'));
  expect(exists(statusOf(page), '.retry')).toBe(false);
  expect(exists(page, '.buy-now')).toBe(false);
  await tap(statusOf(page), '.empty-action');
  expect(env.nav).toEqual([{ api: 'switchTab', url: '/pages/products/index' }]);
});

test('an id that cannot be a product (a mangled shared link) is not found either', async () => {
  const env = pageEnv();
  const page = renderPage(env.built, 'pages/product-detail/index', { id: 'Not An Id!' });
  await waitFor(() => expect(text(statusOf(page), '.empty-text')).toBe('商品不存在或已下架'));
});

test('a failed load shows the error with a retry that loads it', async () => {
  const env = pageEnv();
  let down = true;
  env.backend.intercept(() => (down ? { networkError: 'timeout' } : undefined));
  const page = renderPage(env.built, 'pages/product-detail/index', { id: 'tea' });
  await waitFor(() => expect(text(statusOf(page), '.error-text')).toBe('网络连接失败，请检查网络后重试'));
  down = false;
  await tap(statusOf(page), '.retry');
  await waitFor(() => expect(text(page, '.product-name')).toBe('龙井茶'));
});

test('pull-down reads the product again in place and stops the animation; a failure is a toast', async () => {
  let stopped = 0;
  const env = pageEnv({
    stopPullDownRefresh: (() => {
      stopped += 1;
    }) as never,
  });
  const page = renderPage(env.built, 'pages/product-detail/index', { id: 'tea' });
  await waitFor(() => expect(text(page, '.product-price')).toBe('¥19.90'));
  env.backend.products[0]!.priceFen = 2190;
  (page.instance as unknown as DetailPage).onPullDownRefresh();
  await waitFor(() => expect(stopped).toBe(1));
  expect(text(page, '.product-price')).toBe('¥21.90');

  env.backend.intercept(() => ({ networkError: 'offline' }));
  (page.instance as unknown as DetailPage).onPullDownRefresh();
  await waitFor(() => expect(stopped).toBe(2));
  expect(env.toasts).toEqual(['网络连接失败，请检查网络后重试']);
  expect(text(page, '.product-name')).toBe('龙井茶');
  expect(pageText(page)).not.toContain('重试');
});

test('sharing sends the product page with its name and price', async () => {
  const env = pageEnv();
  const page = renderPage(env.built, 'pages/product-detail/index', { id: 'cup' });
  await waitFor(() => expect(exists(page, '.buy-now')).toBe(true));
  expect((page.instance as unknown as DetailPage).onShareAppMessage()).toEqual({
    title: '茶杯 ¥12.05',
    path: '/pages/product-detail/index?id=cup',
  });
});

test('the shop opens a product page when the product is tapped', async () => {
  const env = pageEnv();
  const page = renderPage(env.built, 'pages/products/index');
  await waitFor(() => expect(page.querySelectorAll('.product-info')).toHaveLength(2));
  await tapElement(page.querySelectorAll('.product-info')[1]!);
  await tapElement(page.querySelectorAll('.product-image')[0]!);
  expect(env.nav).toEqual([
    { api: 'navigateTo', url: '/pages/product-detail/index?id=cup' },
    { api: 'navigateTo', url: '/pages/product-detail/index?id=cup' },
  ]);
});

test('the confirmation page takes the quantity buy now passed, and orders exactly that', async () => {
  const env = pageEnv();
  const page = renderPage(env.built, 'pages/confirm/index', { productId: 'tea', quantity: '3' });
  await waitFor(() => expect(text(page, '.quantity')).toBe('3'));
  await tap(page, '.submit');
  await waitFor(() => expect(text(page, '.total')).toBe('¥59.70'));
  const create = env.backend.requests.find((r) => r.method === 'POST' && r.path === '/api/orders');
  expect((create?.data as { items: unknown }).items).toEqual([{ productId: 'tea', quantity: 3 }]);
});

test('a quantity in the query that makes no sense is 1; one too large is the maximum', async () => {
  for (const [raw, shown] of [
    ['0', '1'],
    ['abc', '1'],
    ['2.5', '1'],
    ['500', '99'],
  ] as const) {
    const env = pageEnv();
    const page = renderPage(env.built, 'pages/confirm/index', { productId: 'tea', quantity: raw });
    await waitFor(() => expect(text(page, '.quantity')).toBe(shown));
    uninstallWx();
  }
});

// @vitest-environment jsdom
import { afterEach, expect, test } from 'vitest';
import { uninstallWx, waitFor } from '../support/fake-wx.ts';
import { exists, existsIn, pageText, renderPage, tap, tapElement, text, textIn } from '../support/pages.ts';
import { hold, pageEnv } from './harness.ts';

afterEach(() => uninstallWx());

test('shows a spinner while loading, then every product with its price in yuan', async () => {
  const env = pageEnv();
  const gate = hold(env.backend, '/api/products');
  const page = renderPage(env.built, 'pages/products/index');
  await waitFor(() => expect(env.backend.requests.some((r) => r.path === '/api/products')).toBe(true));
  expect(exists(page, '.spinner')).toBe(true);
  expect(pageText(page)).toContain('加载中…');
  expect(page.querySelectorAll('.product')).toHaveLength(0);

  gate.resolve();
  await waitFor(() => expect(page.querySelectorAll('.product')).toHaveLength(2));
  expect(exists(page, '.spinner')).toBe(false);
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
  await tap(page, '.footer-link');
  expect(env.nav[1]).toEqual({ api: 'navigateTo', url: '/pages/orders/index' });
});

test('a failed load says why and retries on tap', async () => {
  const env = pageEnv();
  let down = true;
  env.backend.intercept((req) =>
    req.path === '/api/products' && down ? { networkError: 'timeout' } : undefined,
  );
  const page = renderPage(env.built, 'pages/products/index');
  await waitFor(() => expect(text(page, '.error-text')).toBe('网络连接失败，请检查网络后重试'));
  down = false;
  await tap(page, '.retry');
  await waitFor(() => expect(page.querySelectorAll('.product')).toHaveLength(2));
  expect(exists(page, '.error-text')).toBe(false);
});

test('an empty catalogue says so', async () => {
  const env = pageEnv();
  env.backend.products = [];
  const page = renderPage(env.built, 'pages/products/index');
  await waitFor(() => expect(text(page, '.empty')).toBe('暂无商品'));
});

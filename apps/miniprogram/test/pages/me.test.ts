// @vitest-environment jsdom
import { afterEach, expect, test } from 'vitest';
import { envStub, uninstallWx } from '../support/fake-wx.ts';
import { renderPage, tap, text, exists } from '../support/pages.ts';
import { pageEnv } from './harness.ts';

afterEach(() => uninstallWx());

test('links to the orders tab and the cart, with the cart count and the version', async () => {
  const env = pageEnv(envStub('trial'));
  env.fake.storage.set('mp-pay:cart', [
    { productId: 'tea', quantity: 2 },
    { productId: 'cup', quantity: 1 },
  ]);
  const page = renderPage(env.built, 'pages/me/index');
  (page.instance as unknown as { onShow(): void }).onShow();
  expect(text(page, '.cart-count')).toBe('3 件');
  expect(text(page, '.version')).toBe('体验版');
  await tap(page, '.orders-link');
  await tap(page, '.cart-link');
  expect(env.nav).toEqual([
    { api: 'switchTab', url: '/pages/orders/index' },
    { api: 'navigateTo', url: '/pages/cart/index' },
  ]);
});

test('an empty cart shows no count; a develop build says so', async () => {
  const env = pageEnv();
  const page = renderPage(env.built, 'pages/me/index');
  (page.instance as unknown as { onShow(): void }).onShow();
  expect(exists(page, '.cart-count')).toBe(false);
  expect(text(page, '.version')).toBe('开发版');
});

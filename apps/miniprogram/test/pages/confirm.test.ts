// @vitest-environment jsdom
import { afterEach, expect, test } from 'vitest';
import { cashier, uninstallWx, waitFor } from '../support/fake-wx.ts';
import { exists, pageText, renderPage, tap, text } from '../support/pages.ts';
import { hold, pageEnv } from './harness.ts';

afterEach(() => uninstallWx());

function orderPosts(env: ReturnType<typeof pageEnv>) {
  return env.backend.requests.filter((r) => r.method === 'POST' && r.path === '/api/orders');
}

test('choose a quantity, submit, and see the amount the server charges before paying', async () => {
  const env = pageEnv();
  const page = renderPage(env.built, 'pages/confirm/index', { productId: 'tea' });
  expect(pageText(page)).toContain('加载中…');
  await waitFor(() => expect(text(page, '.product-name')).toBe('龙井茶'));
  expect(text(page, '.unit-price')).toBe('¥19.90');
  expect(text(page, '.quantity')).toBe('1');
  // No client-side total: the amount appears only once the server has priced the order.
  expect(exists(page, '.total')).toBe(false);

  await tap(page, '.increase');
  await tap(page, '.increase');
  await tap(page, '.increase');
  await tap(page, '.decrease');
  expect(text(page, '.quantity')).toBe('3');

  const gate = hold(env.backend, '/api/orders');
  await tap(page, '.submit');
  await waitFor(() => expect(text(page, '.submit')).toBe('正在提交…'));
  gate.resolve();
  await waitFor(() => expect(text(page, '.total')).toBe('¥59.70'));
  expect(text(page, '.out-trade-no')).toBe('MPO1');
  expect(text(page, '.pay')).toBe('确认支付 ¥59.70');
  expect(exists(page, '.stepper')).toBe(false);
  expect(orderPosts(env)[0]?.data).toEqual({ items: [{ productId: 'tea', quantity: 3 }] });
});

test('the total shown is the server total, whatever the client would have computed', async () => {
  const env = pageEnv();
  // The server prices the order, here with a discount the client knows nothing about.
  env.backend.intercept((req) => {
    if (req.method !== 'POST' || req.path !== '/api/orders') return undefined;
    const order = {
      id: 'promo',
      outTradeNo: 'MPPROMO',
      status: 'PENDING',
      description: '龙井茶 x2',
      items: [{ productId: 'tea', name: '龙井茶', unitPriceFen: 1990, quantity: 2, subtotalFen: 3980 }],
      totalFen: 2999,
      createdAt: '2026-11-25T06:30:00.000Z',
      expiresAt: '2026-11-25T08:30:00.000Z',
    };
    const payment = env.backend.paymentFor(order as never);
    return { status: 201, body: { order, payment } };
  });
  const page = renderPage(env.built, 'pages/confirm/index', { productId: 'tea' });
  await waitFor(() => expect(exists(page, '.submit')).toBe(true));
  await tap(page, '.increase');
  await tap(page, '.submit');
  await waitFor(() => expect(text(page, '.total')).toBe('¥29.99'));
});

test.each([
  ['requestPayment:ok', '/pages/result/index?id=o1&client=ok'],
  ['requestPayment:fail cancel', '/pages/result/index?id=o1&client=cancel'],
  [
    'requestPayment:fail 余额不足',
    `/pages/result/index?id=o1&client=fail&detail=${encodeURIComponent('余额不足')}`,
  ],
])('paying hands the five fields to the cashier; %s goes to the result page', async (errMsg, url) => {
  const seen: Record<string, unknown>[] = [];
  const env = pageEnv(cashier(errMsg, seen));
  const page = renderPage(env.built, 'pages/confirm/index', { productId: 'cup' });
  await waitFor(() => expect(exists(page, '.submit')).toBe(true));
  await tap(page, '.submit');
  await waitFor(() => expect(exists(page, '.pay')).toBe(true));
  await tap(page, '.pay');
  await waitFor(() => expect(env.nav).toEqual([{ api: 'redirectTo', url }]));
  expect(seen[0]).toMatchObject({ package: 'prepay_id=wxo11', signType: 'MD5', paySign: 'SIGN1' });
  // The page never decides "paid" itself: it only reports what the client saw.
  expect(pageText(page)).not.toContain('支付成功');
});

test('a failed submit says why; retrying reuses the idempotency key, a new quantity gets a new one', async () => {
  const env = pageEnv();
  let fail = true;
  env.backend.intercept((req) =>
    req.method === 'POST' && req.path === '/api/orders' && fail ? { networkError: 'timeout' } : undefined,
  );
  const page = renderPage(env.built, 'pages/confirm/index', { productId: 'tea' });
  await waitFor(() => expect(exists(page, '.submit')).toBe(true));
  await tap(page, '.submit');
  await waitFor(() => expect(text(page, '.submit-error')).toBe('网络连接失败，请检查网络后重试'));
  expect(text(page, '.submit')).toBe('提交订单');
  await tap(page, '.submit');
  await waitFor(() => expect(orderPosts(env)).toHaveLength(2));
  await tap(page, '.increase');
  fail = false;
  await tap(page, '.submit');
  await waitFor(() => expect(exists(page, '.total')).toBe(true));
  const keys = orderPosts(env).map((r) => r.header['Idempotency-Key']);
  expect(keys[0]).toBeTruthy();
  expect(keys[1]).toBe(keys[0]);
  expect(keys[2]).not.toBe(keys[0]);
  expect(text(page, '.total')).toBe('¥39.80');
});

test('an unknown product is an error, not an empty form', async () => {
  const env = pageEnv();
  const page = renderPage(env.built, 'pages/confirm/index', { productId: 'gone' });
  await waitFor(() => expect(text(page, '.error-text')).toBe('商品不存在或已下架'));
  expect(exists(page, '.submit')).toBe(false);
});

test('quantity stays between 1 and 99', async () => {
  const env = pageEnv();
  const page = renderPage(env.built, 'pages/confirm/index', { productId: 'tea' });
  await waitFor(() => expect(exists(page, '.decrease')).toBe(true));
  await tap(page, '.decrease');
  expect(text(page, '.quantity')).toBe('1');
  for (let i = 0; i < 100; i++) await tap(page, '.increase');
  expect(text(page, '.quantity')).toBe('99');
});

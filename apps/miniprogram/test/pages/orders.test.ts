// @vitest-environment jsdom
import { afterEach, expect, test } from 'vitest';
import { makeOrder, orderId } from '../support/fake-backend.ts';
import { uninstallWx, waitFor } from '../support/fake-wx.ts';
import { exists, pageText, renderPage, tap, tapElement, text, textIn } from '../support/pages.ts';
import { hold, pageEnv } from './harness.ts';

afterEach(() => uninstallWx());

const STATUSES = ['PENDING', 'PAID', 'CLOSED'] as const;

function twelveOrders() {
  return Array.from({ length: 12 }, (_, i) =>
    makeOrder({
      id: orderId(i),
      status: STATUSES[i % 3],
      description: `订单 ${i}`,
      totalFen: 100 * (i + 1) + i,
    }),
  );
}

test('lists orders with status and amount, loads more at the bottom, says when there is no more', async () => {
  const env = pageEnv();
  env.backend.orders = twelveOrders();
  const gate = hold(env.backend, '/api/orders');
  const page = renderPage(env.built, 'pages/orders/index');
  await waitFor(() => expect(env.backend.requests.some((r) => r.path === '/api/orders')).toBe(true));
  expect(pageText(page)).toContain('加载中…');
  gate.resolve();

  await waitFor(() => expect(page.querySelectorAll('.order')).toHaveLength(10));
  const rows = page.querySelectorAll('.order');
  expect(textIn(rows[0]!, '.order-desc')).toBe('订单 0');
  expect(textIn(rows[0]!, '.order-status')).toBe('待支付');
  expect(textIn(rows[1]!, '.order-status')).toBe('已支付');
  expect(textIn(rows[2]!, '.order-status')).toBe('已关闭');
  expect(textIn(rows[1]!, '.order-total')).toBe('¥2.01');
  expect(textIn(rows[0]!, '.order-time')).toBe('2026-11-25 14:30');
  expect(text(page, '.load-more')).toBe('加载更多');

  (page.instance as { onReachBottom(): void }).onReachBottom();
  await waitFor(() => expect(page.querySelectorAll('.order')).toHaveLength(12));
  expect(text(page, '.no-more')).toBe('没有更多订单了');
  expect(exists(page, '.load-more')).toBe(false);
  expect(env.backend.requests.filter((r) => r.path === '/api/orders').map((r) => r.query.cursor)).toEqual([
    undefined,
    '10',
  ]);
});

test('"load more" can be tapped too, and its failure is shown in place with a retry', async () => {
  const env = pageEnv();
  env.backend.orders = twelveOrders();
  let failMore = true;
  env.backend.intercept((req) => (req.query.cursor && failMore ? { networkError: 'timeout' } : undefined));
  const page = renderPage(env.built, 'pages/orders/index');
  await waitFor(() => expect(exists(page, '.load-more')).toBe(true));
  await tap(page, '.load-more');
  await waitFor(() => expect(text(page, '.more-error')).toBe('网络连接失败，请检查网络后重试'));
  expect(page.querySelectorAll('.order')).toHaveLength(10);
  failMore = false;
  await tap(page, '.load-more');
  await waitFor(() => expect(page.querySelectorAll('.order')).toHaveLength(12));
});

test('pull down refreshes the list and stops the refresh animation', async () => {
  let stopped = 0;
  const env = pageEnv({
    stopPullDownRefresh: (() => {
      stopped += 1;
    }) as never,
  });
  env.backend.orders = [makeOrder({ id: orderId(1), description: '旧订单' })];
  const page = renderPage(env.built, 'pages/orders/index');
  await waitFor(() => expect(page.querySelectorAll('.order')).toHaveLength(1));

  env.backend.orders.unshift(makeOrder({ id: orderId(2), description: '新订单', status: 'PAID' }));
  env.backend.setStatus(orderId(1), 'CLOSED');
  (page.instance as { onPullDownRefresh(): void }).onPullDownRefresh();
  await waitFor(() => expect(stopped).toBe(1));
  const rows = page.querySelectorAll('.order');
  expect(rows.map((r) => textIn(r, '.order-desc'))).toEqual(['新订单', '旧订单']);
  expect(rows.map((r) => textIn(r, '.order-status'))).toEqual(['已支付', '已关闭']);
});

test('a refresh that fails keeps the list and says why', async () => {
  const env = pageEnv({ stopPullDownRefresh: (() => undefined) as never });
  env.backend.orders = [makeOrder({ id: orderId(1) })];
  const page = renderPage(env.built, 'pages/orders/index');
  await waitFor(() => expect(page.querySelectorAll('.order')).toHaveLength(1));
  env.backend.intercept(() => ({ networkError: 'offline' }));
  (page.instance as { onPullDownRefresh(): void }).onPullDownRefresh();
  await waitFor(() => expect(env.toasts).toEqual(['网络连接失败，请检查网络后重试']));
  expect(page.querySelectorAll('.order')).toHaveLength(1);
});

test('no orders yet: an empty state with a way to the shop', async () => {
  const env = pageEnv();
  const page = renderPage(env.built, 'pages/orders/index');
  await waitFor(() => expect(text(page, '.empty')).toContain('还没有订单'));
  await tap(page, '.shop');
  expect(env.nav).toEqual([{ api: 'reLaunch', url: '/pages/products/index' }]);
});

test('a failed first load shows the error and retries', async () => {
  const env = pageEnv();
  env.backend.orders = [makeOrder({ id: orderId(1) })];
  let down = true;
  env.backend.intercept(() => (down ? { networkError: 'offline' } : undefined));
  const page = renderPage(env.built, 'pages/orders/index');
  await waitFor(() => expect(text(page, '.error-text')).toBe('网络连接失败，请检查网络后重试'));
  down = false;
  await tap(page, '.retry');
  await waitFor(() => expect(page.querySelectorAll('.order')).toHaveLength(1));
});

test('tapping an order opens its detail', async () => {
  const env = pageEnv();
  env.backend.orders = [makeOrder({ id: orderId(2) }), makeOrder({ id: orderId(1) })];
  const page = renderPage(env.built, 'pages/orders/index');
  await waitFor(() => expect(page.querySelectorAll('.order')).toHaveLength(2));
  await tapElement(page.querySelectorAll('.order')[1]!);
  expect(env.nav).toEqual([
    { api: 'navigateTo', url: '/pages/order-detail/index?id=20261125143000mpTest0000000001' },
  ]);
});

// @vitest-environment jsdom
import { afterEach, expect, test } from 'vitest';
import { makeOrder, orderId } from '../support/fake-backend.ts';
import { cashier, uninstallWx, waitFor } from '../support/fake-wx.ts';
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
  await waitFor(() => expect(text(statusOf(page), '.empty-text')).toContain('还没有订单'));
  await tap(statusOf(page), '.empty-action');
  expect(env.nav).toEqual([{ api: 'reLaunch', url: '/pages/products/index' }]);
});

test('a failed first load shows the error and retries', async () => {
  const env = pageEnv();
  env.backend.orders = [makeOrder({ id: orderId(1) })];
  let down = true;
  env.backend.intercept(() => (down ? { networkError: 'offline' } : undefined));
  const page = renderPage(env.built, 'pages/orders/index');
  await waitFor(() => expect(text(statusOf(page), '.error-text')).toBe('网络连接失败，请检查网络后重试'));
  down = false;
  await tap(statusOf(page), '.retry');
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

type OrdersPage = { onShow(): void; onHide(): void; onReachBottom(): void };

function soon(ms: number): string {
  return new Date(Date.now() + ms).toISOString();
}

test('a pending order counts down to its expiry and ticks while shown; an expired one says it is closing', async () => {
  const env = pageEnv();
  env.backend.orders = [
    makeOrder({ id: orderId(1), expiresAt: soon(15 * 60 * 1000 - 500) }),
    makeOrder({ id: orderId(2), expiresAt: soon(-1000) }),
    makeOrder({ id: orderId(3), status: 'PAID', expiresAt: soon(60_000) }),
  ];
  const page = renderPage(env.built, 'pages/orders/index');
  await waitFor(() => expect(page.querySelectorAll('.order')).toHaveLength(3));
  const [live, expired, paid] = page.querySelectorAll('.order');
  expect(textIn(live!, '.countdown')).toBe('剩余 15:00');
  expect(textIn(expired!, '.countdown')).toBe('即将关闭');
  expect(existsIn(expired!, '.pay-again')).toBe(false);
  expect(existsIn(paid!, '.countdown')).toBe(false);
  const instance = page.instance as unknown as OrdersPage;
  instance.onShow();
  await waitFor(
    () => expect(textIn(page.querySelectorAll('.order')[0]!, '.countdown')).toBe('剩余 14:59'),
    3000,
  );
  instance.onHide();
  page.detach();
});

test('pay again from the list: a fresh launch, the cashier, then the result page; double taps ignored', async () => {
  const seen: object[] = [];
  const env = pageEnv(cashier('requestPayment:ok', seen));
  env.backend.orders = [makeOrder({ id: orderId(1), expiresAt: soon(600_000) })];
  const page = renderPage(env.built, 'pages/orders/index');
  await waitFor(() => expect(exists(page, '.pay-again')).toBe(true));
  await tap(page, '.pay-again');
  await tap(page, '.pay-again');
  await waitFor(() => expect(env.nav).toHaveLength(1));
  expect(env.nav[0]).toEqual({ api: 'navigateTo', url: `/pages/result/index?id=${orderId(1)}&client=ok` });
  expect(env.backend.requests.filter((r) => r.path === `/api/orders/${orderId(1)}/payment`)).toHaveLength(1);
  expect(seen).toHaveLength(1);
  // Not the detail page: the tap did not bubble to the card.
  expect(env.nav.some((n) => n.url.startsWith('/pages/order-detail'))).toBe(false);
});

test('pay again refused because the order was paid meanwhile: says so and shows the new state', async () => {
  const env = pageEnv(cashier('requestPayment:ok'));
  env.backend.orders = [makeOrder({ id: orderId(1), expiresAt: soon(600_000) })];
  const page = renderPage(env.built, 'pages/orders/index');
  await waitFor(() => expect(exists(page, '.pay-again')).toBe(true));
  env.backend.orders = [makeOrder({ id: orderId(1), status: 'PAID', expiresAt: soon(600_000) })];
  await tap(page, '.pay-again');
  await waitFor(() => expect(env.toasts).toHaveLength(1));
  expect(env.toasts[0]).toMatch(/^订单已支付，无需重复支付/);
  await waitFor(() => expect(text(page, '.order-status')).toBe('已支付'));
  expect(exists(page, '.pay-again')).toBe(false);
  expect(env.nav).toEqual([]);
});

test('the order number can be copied', async () => {
  const copied: string[] = [];
  const env = pageEnv({
    setClipboardData: ((opts: { data: string }) => {
      copied.push(opts.data);
    }) as never,
  });
  env.backend.orders = [makeOrder({ id: orderId(1) })];
  const page = renderPage(env.built, 'pages/orders/index');
  await waitFor(() => expect(exists(page, '.copy-no')).toBe(true));
  const no = text(page, '.order-no');
  expect(no).toMatch(/^\S{8,}$/);
  await tap(page, '.copy-no');
  expect(copied).toEqual([no]);
  expect(env.nav).toEqual([]);
});

test('coming back keeps every loaded page (and the place in the list), updating the orders in it', async () => {
  const env = pageEnv();
  env.backend.orders = twelveOrders();
  const page = renderPage(env.built, 'pages/orders/index');
  await waitFor(() => expect(page.querySelectorAll('.order')).toHaveLength(10));
  const instance = page.instance as unknown as OrdersPage;
  instance.onReachBottom();
  await waitFor(() => expect(page.querySelectorAll('.order')).toHaveLength(12));
  // Meanwhile: order 0 was paid, and a new order was placed.
  env.backend.orders[0] = { ...env.backend.orders[0]!, status: 'PAID' };
  env.backend.orders.unshift(makeOrder({ id: orderId(99), description: '新订单' }));
  instance.onShow();
  await waitFor(() => expect(page.querySelectorAll('.order')).toHaveLength(13));
  const rows = page.querySelectorAll('.order');
  expect(textIn(rows[0]!, '.order-desc')).toBe('新订单');
  expect(textIn(rows[1]!, '.order-status')).toBe('已支付');
  expect(textIn(rows[12]!, '.order-desc')).toBe('订单 11');
  instance.onHide();
  page.detach();
});

test('status tabs filter the loaded orders; an empty tab says so, and load more still works', async () => {
  const env = pageEnv();
  env.backend.orders = [
    ...twelveOrders().slice(0, 10),
    makeOrder({ id: orderId(50), status: 'REFUNDED', description: '已退的' }),
  ];
  const page = renderPage(env.built, 'pages/orders/index');
  await waitFor(() => expect(page.querySelectorAll('.order')).toHaveLength(10));
  expect(page.querySelectorAll('.tab').map((t) => t.dom.textContent?.trim())).toEqual([
    '全部',
    '待支付',
    '已支付',
    '已关闭',
    '退款',
  ]);
  const tabs = page.querySelectorAll('.tab');
  await tapElement(tabs[1]!);
  const pending = page.querySelectorAll('.order');
  expect(pending).toHaveLength(4);
  expect(pending.every((o) => textIn(o, '.order-status') === '待支付')).toBe(true);
  expect(text(page, '.tab-active')).toBe('待支付');
  await tapElement(tabs[4]!);
  expect(page.querySelectorAll('.order')).toHaveLength(0);
  expect(text(page, '.tab-empty')).toBe('已加载的订单中没有这类订单');
  await tap(page, '.load-more');
  await waitFor(() => expect(page.querySelectorAll('.order')).toHaveLength(1));
  expect(textIn(page.querySelectorAll('.order')[0]!, '.order-desc')).toBe('已退的');
  expect(exists(page, '.tab-empty')).toBe(false);
  await tapElement(tabs[0]!);
  expect(page.querySelectorAll('.order')).toHaveLength(11);
});

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

function ordersRequests(env: { backend: { requests: { path: string; query: Record<string, string> }[] } }) {
  return env.backend.requests
    .filter((r) => r.path === '/api/orders')
    .map((r) => ({ status: r.query.status, cursor: r.query.cursor }));
}

test('status tabs ask the server for that status, page by page with their own cursor', async () => {
  const env = pageEnv();
  env.backend.orders = [
    ...twelveOrders(),
    ...Array.from({ length: 11 }, (_, i) =>
      makeOrder({ id: orderId(60 + i), status: 'PENDING', description: `待付 ${i}` }),
    ),
    makeOrder({ id: orderId(50), status: 'REFUNDED', description: '已退的' }),
    makeOrder({ id: orderId(51), status: 'PARTIALLY_REFUNDED', description: '退了一部分' }),
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
  const tabs = () => page.querySelectorAll('.tab');
  await tapElement(tabs()[1]!);
  expect(text(page, '.tab-active')).toBe('待支付');
  await waitFor(() => expect(page.querySelectorAll('.order')).toHaveLength(10));
  expect(page.querySelectorAll('.order').every((o) => textIn(o, '.order-status') === '待支付')).toBe(true);
  // 4 pending among the twelve, 11 more: a second page of the filtered list, with the filter's cursor.
  await tap(page, '.load-more');
  await waitFor(() => expect(page.querySelectorAll('.order')).toHaveLength(15));
  expect(text(page, '.no-more')).toBe('没有更多订单了');

  await tapElement(tabs()[4]!);
  await waitFor(() => expect(page.querySelectorAll('.order')).toHaveLength(2));
  expect(page.querySelectorAll('.order').map((o) => textIn(o, '.order-status'))).toEqual([
    '已退款',
    '部分退款',
  ]);

  expect(ordersRequests(env)).toEqual([
    { status: undefined, cursor: undefined },
    { status: 'pending', cursor: undefined },
    { status: 'pending', cursor: '10' },
    { status: 'refund', cursor: undefined },
  ]);
});

test('a tab with no orders says so in its own words, without a way to the shop', async () => {
  const env = pageEnv();
  env.backend.orders = [makeOrder({ id: orderId(1), status: 'PAID' })];
  const page = renderPage(env.built, 'pages/orders/index');
  await waitFor(() => expect(page.querySelectorAll('.order')).toHaveLength(1));
  await tapElement(page.querySelectorAll('.tab')[1]!);
  await waitFor(() => expect(text(statusOf(page), '.empty-text')).toBe('没有待支付的订单'));
  expect(exists(statusOf(page), '.empty-action')).toBe(false);
  // The tabs stay, so the buyer can go back.
  await tapElement(page.querySelectorAll('.tab')[0]!);
  await waitFor(() => expect(page.querySelectorAll('.order')).toHaveLength(1));
});

test('switching back to a tab restores its loaded pages and scroll position, then refreshes it in place', async () => {
  const env = pageEnv();
  env.backend.orders = twelveOrders();
  const page = renderPage(env.built, 'pages/orders/index');
  const instance = page.instance as unknown as OrdersPage & {
    onPageScroll(e: { scrollTop: number }): void;
  };
  await waitFor(() => expect(page.querySelectorAll('.order')).toHaveLength(10));
  instance.onReachBottom();
  await waitFor(() => expect(page.querySelectorAll('.order')).toHaveLength(12));
  instance.onPageScroll({ scrollTop: 1234 });

  await tapElement(page.querySelectorAll('.tab')[2]!);
  await waitFor(() => expect(page.querySelectorAll('.order')).toHaveLength(4));
  expect(env.scrolls).toEqual([0]);
  env.backend.setStatus(orderId(0), 'CLOSED');

  await tapElement(page.querySelectorAll('.tab')[0]!);
  // At once: all twelve, where the buyer was.
  expect(page.querySelectorAll('.order')).toHaveLength(12);
  expect(env.scrolls).toEqual([0, 1234]);
  // Then the states are brought up to date without losing the loaded pages.
  await waitFor(() => expect(textIn(page.querySelectorAll('.order')[0]!, '.order-status')).toBe('已关闭'));
  expect(page.querySelectorAll('.order')).toHaveLength(12);
  expect(exists(page, '.no-more')).toBe(true);
});

test('an answer for the tab the buyer left is dropped', async () => {
  const env = pageEnv();
  env.backend.orders = twelveOrders();
  const page = renderPage(env.built, 'pages/orders/index');
  await waitFor(() => expect(page.querySelectorAll('.order')).toHaveLength(10));
  const gate = hold(env.backend, '/api/orders');
  await tapElement(page.querySelectorAll('.tab')[1]!);
  await tapElement(page.querySelectorAll('.tab')[3]!);
  gate.resolve();
  await waitFor(() => expect(page.querySelectorAll('.order')).toHaveLength(4));
  await new Promise((r) => setTimeout(r, 20));
  expect(page.querySelectorAll('.order').every((o) => textIn(o, '.order-status') === '已关闭')).toBe(true);
  expect(text(page, '.tab-active')).toBe('已关闭');
});

test('back from an order further down the list: that order is read again, the loaded pages and place kept', async () => {
  const env = pageEnv();
  env.backend.orders = twelveOrders();
  const page = renderPage(env.built, 'pages/orders/index');
  const instance = page.instance as unknown as OrdersPage;
  await waitFor(() => expect(page.querySelectorAll('.order')).toHaveLength(10));
  instance.onReachBottom();
  await waitFor(() => expect(page.querySelectorAll('.order')).toHaveLength(12));
  // The eleventh row came with the second page: the first page alone would never update it.
  const eleventh = page.querySelectorAll('.order')[10]!;
  expect(textIn(eleventh, '.order-desc')).toBe('订单 10');
  await tapElement(eleventh);
  expect(env.nav.at(-1)?.url).toBe(`/pages/order-detail/index?id=${orderId(10)}`);
  // On the detail page the buyer cancels it.
  env.backend.setStatus(orderId(10), 'CLOSED');
  instance.onShow();
  await waitFor(() => expect(textIn(page.querySelectorAll('.order')[10]!, '.order-status')).toBe('已关闭'));
  expect(page.querySelectorAll('.order')).toHaveLength(12);
  expect(env.backend.requests.filter((r) => r.path === `/api/orders/${orderId(10)}`)).toHaveLength(1);
  expect(env.scrolls).toEqual([]);
  instance.onHide();
  page.detach();
});

function modal(confirm: boolean, shown: string[] = []) {
  return {
    showModal: ((opts: WechatMiniprogram.ShowModalOption) => {
      shown.push(opts.content ?? '');
      setTimeout(() => opts.success?.({ confirm, cancel: !confirm, errMsg: 'showModal:ok', content: '' }), 0);
    }) as never,
  };
}

test('cancel a pending order from the list: asked once even on a double tap, 已关闭 at once', async () => {
  const shown: string[] = [];
  const env = pageEnv(modal(true, shown));
  env.backend.orders = [makeOrder({ id: orderId(1), expiresAt: soon(600_000) })];
  const page = renderPage(env.built, 'pages/orders/index');
  await waitFor(() => expect(exists(page, '.cancel')).toBe(true));
  expect(text(page, '.cancel')).toBe('取消订单');
  await tap(page, '.cancel');
  await tap(page, '.cancel');
  await waitFor(() => expect(text(page, '.order-status')).toBe('已关闭'));
  expect(shown).toEqual(['确定要取消这个订单吗？取消后无法再支付。']);
  expect(env.backend.requests.filter((r) => r.path === `/api/orders/${orderId(1)}/close`)).toHaveLength(1);
  expect(exists(page, '.cancel')).toBe(false);
  expect(exists(page, '.pay-again')).toBe(false);
  expect(env.toasts).toEqual(['订单已取消']);
  // The tap did not open the order.
  expect(env.nav).toEqual([]);
});

test('declining the cancel dialog changes nothing', async () => {
  const env = pageEnv(modal(false));
  env.backend.orders = [makeOrder({ id: orderId(1), expiresAt: soon(600_000) })];
  const page = renderPage(env.built, 'pages/orders/index');
  await waitFor(() => expect(exists(page, '.cancel')).toBe(true));
  await tap(page, '.cancel');
  await waitFor(() => expect(env.fake.calls).toContain('showModal'));
  await new Promise((r) => setTimeout(r, 20));
  expect(env.backend.requests.some((r) => r.path.endsWith('/close'))).toBe(false);
  expect(text(page, '.order-status')).toBe('待支付');
  // The guard is down again: a second tap asks again.
  await tap(page, '.cancel');
  await waitFor(() => expect(env.fake.calls.filter((c) => c === 'showModal')).toHaveLength(2));
});

test('a cancel refused because the order was paid meanwhile: the mapped message, and the list shows it paid', async () => {
  const env = pageEnv(modal(true));
  env.backend.orders = [makeOrder({ id: orderId(1), expiresAt: soon(600_000) })];
  const page = renderPage(env.built, 'pages/orders/index');
  await waitFor(() => expect(exists(page, '.cancel')).toBe(true));
  env.backend.setStatus(orderId(1), 'PAID');
  await tap(page, '.cancel');
  await waitFor(() => expect(env.toasts).toHaveLength(1));
  expect(env.toasts[0]).toBe('订单已支付，无需重复支付（请求号 req-order_already_paid）');
  await waitFor(() => expect(text(page, '.order-status')).toBe('已支付'));
  expect(exists(page, '.cancel')).toBe(false);
});

test('a network failure while cancelling keeps the order pending and cancellable', async () => {
  const env = pageEnv(modal(true));
  env.backend.orders = [makeOrder({ id: orderId(1), expiresAt: soon(600_000) })];
  env.backend.intercept((req) => (req.path.endsWith('/close') ? { networkError: 'timeout' } : undefined));
  const page = renderPage(env.built, 'pages/orders/index');
  await waitFor(() => expect(exists(page, '.cancel')).toBe(true));
  await tap(page, '.cancel');
  await waitFor(() => expect(env.toasts).toEqual(['网络连接失败，请检查网络后重试']));
  expect(text(page, '.order-status')).toBe('待支付');
  expect(exists(page, '.cancel')).toBe(true);
});

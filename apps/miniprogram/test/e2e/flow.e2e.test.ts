/**
 * End to end: the compiled pages and services of the mini-program, driven through a `wx` that does the real
 * thing (HTTP, sandbox login codes, sandbox payer), against a real server on Redis and a real sandbox.
 * Runs in Node (see dom.ts for why not in vitest's jsdom environment).
 */
import { uninstallDom } from '../support/dom-installed.ts';
import { startSandbox, type RunningSandbox } from '@mp-pay/sandbox';
import type { RunningServer } from '@mp-pay/server';
import { SANDBOX_DEMO_SUBSCRIBE_TEMPLATE } from '@mp-pay/shared/login';
import { SANDBOX_DEMO } from '@mp-pay/shared/wechatpay';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { ORDER_ID_RE, OUT_TRADE_NO_RE } from '../support/fake-backend.ts';
import { waitFor } from '../support/fake-wx.ts';
import { exists, renderPage, tap, tapElement, text, textIn } from '../support/pages.ts';
import { queryOf, type RealWx } from './real-wx.ts';
import { checkoutPaidInSheet, E2eStack, firstPaymentRequested, freePort, liveModeEnv } from './stack.ts';

const stack = new E2eStack();

interface SandboxOrder {
  state: string;
  closed_by?: string;
  total_fee: number;
  payments: { outcome: string }[];
  notifications: { outcome: string }[];
}

async function sandboxOrder(outTradeNo: string, on: RunningSandbox = stack.sandbox): Promise<SandboxOrder> {
  const res = await fetch(`${on.url}/sandbox/orders/${encodeURIComponent(outTradeNo)}`);
  expect(res.status).toBe(200);
  return (await res.json()) as SandboxOrder;
}

/** A fresh app launch; small pages, so a handful of orders already spans two of them (the server's cursors). */
function launch(server: RunningServer, user: string, on?: RunningSandbox): RealWx {
  return stack.launch(server, { user, on, ordersPageSize: 2 });
}

const follow = (wx: RealWx) => stack.follow(wx);

/** Products → confirmation for `productId`, quantity `quantity`, submitted: the confirmation page with its order. */
async function orderFromCatalogue(wx: RealWx, productId: string, quantity: number) {
  const products = renderPage(stack.built, 'pages/products/index');
  await waitFor(() => expect(products.querySelectorAll('.product')).toHaveLength(4), 10_000);
  const buy = products.querySelectorAll('.buy').find((b) => b.dom.getAttribute('data-id') === productId);
  if (!buy) throw new Error(`no buy button for ${productId}`);
  await tapElement(buy);
  await waitFor(() =>
    expect(wx.nav.at(-1)).toEqual({ api: 'navigateTo', url: `/pages/confirm/index?productId=${productId}` }),
  );

  const confirm = follow(wx);
  await waitFor(() => expect(exists(confirm, '.submit')).toBe(true), 10_000);
  for (let i = 1; i < quantity; i++) await tap(confirm, '.increase');
  await tap(confirm, '.submit');
  await waitFor(() => expect(exists(confirm, '.pay')).toBe(true), 10_000);
  // What the buyer sees is the WeChat out_trade_no: the 30-character order id plus the attempt's two digits.
  const outTradeNo = text(confirm, '.out-trade-no');
  expect(outTradeNo).toMatch(OUT_TRADE_NO_RE);
  return { confirm, outTradeNo };
}

beforeAll(async () => {
  await stack.start();
});

afterAll(async () => {
  await stack.stop();
  uninstallDom();
});

test('sandbox mode: order, cancel, pay again, a refund request, a dropped notification, and cancelling an order', async () => {
  const server = await stack.server('sandbox-mode');
  const wx = launch(server, 'unused');

  // 1. Browse, pick 2 × Longjing (38.00 each), submit: the server prices it.
  const first = await orderFromCatalogue(wx, 'green-tea', 2);
  expect(text(first.confirm, '.total')).toBe('¥76.00');
  expect((await sandboxOrder(first.outTradeNo)).total_fee).toBe(7600);

  // 2. Pay, but cancel in the sandbox sheet: the order stays pending and the result page says so.
  wx.sheetChoices.push(1);
  await tap(first.confirm, '.pay');
  await waitFor(() => expect(wx.nav.at(-1)?.api).toBe('redirectTo'), 10_000);
  expect(wx.nav.at(-1)?.url).toMatch(/^\/pages\/result\/index\?id=[^&]+&client=cancel$/);
  const result = follow(wx);
  const firstId = queryOf(wx.nav.at(-1)!.url).query.id ?? '';
  expect(firstId).toMatch(ORDER_ID_RE);
  // The order id and the out_trade_no are different things: the latter names one payment attempt of the former.
  expect(first.outTradeNo).toBe(`${firstId}01`);
  await waitFor(() => expect(text(result, '.result .title')).toBe('已取消支付'), 10_000);
  expect(text(result, '.order-status')).toBe('待支付');
  let trade = await sandboxOrder(first.outTradeNo);
  expect(trade.state).toBe('NOTPAY');
  expect(trade.payments.map((p) => p.outcome)).toEqual(['cancel']);

  // 3. Pay again from the result page, this time paying: "paid" only once the server has the notification.
  wx.sheetChoices.push(0);
  await tap(result, '.pay-again');
  await waitFor(() => expect(text(result, '.result .title')).toBe('支付成功'), 20_000);
  expect(text(result, '.total')).toBe('¥76.00');
  trade = await sandboxOrder(first.outTradeNo);
  expect(trade.state).toBe('SUCCESS');
  expect(trade.payments.map((p) => p.outcome)).toEqual(['cancel', 'success']);
  expect(trade.notifications.some((n) => n.outcome === 'acknowledged')).toBe(true);

  // 4. My orders shows it paid (one order: one page, nothing more to load).
  const orders = renderPage(stack.built, 'pages/orders/index');
  await waitFor(() => expect(orders.querySelectorAll('.order')).toHaveLength(1), 10_000);
  expect(exists(orders, '.load-more')).toBe(false);
  expect(textIn(orders.querySelectorAll('.order')[0]!, '.order-status')).toBe('已支付');
  expect(textIn(orders.querySelectorAll('.order')[0]!, '.order-total')).toBe('¥76.00');

  // 4b. From the list to the paid order, and a refund request: the server's default policy (review) leaves it
  //     waiting for the shop, and the order stays paid with no refund yet.
  await tapElement(orders.querySelectorAll('.order')[0]!);
  const paidDetail = follow(wx);
  await waitFor(() => expect(exists(paidDetail, '.ask-refund')).toBe(true), 10_000);
  expect(exists(paidDetail, '.refund-request')).toBe(false);
  wx.modalAnswers.push('  茶叶受潮了  ');
  await tap(paidDetail, '.ask-refund');
  await waitFor(() => expect(text(paidDetail, '.refund-request-state')).toBe('退款申请审核中'), 10_000);
  expect(text(paidDetail, '.refund-reason')).toBe('茶叶受潮了');
  expect(text(paidDetail, '.order-status')).toBe('已支付');
  expect(exists(paidDetail, '.ask-refund')).toBe(false);
  expect(exists(paidDetail, '.refunds')).toBe(false);
  expect(wx.toasts).toContain('退款申请已提交');
  // Opened again, the server says the same.
  const reopened = renderPage(stack.built, 'pages/order-detail/index', { id: firstId });
  await waitFor(() => expect(text(reopened, '.refund-request-state')).toBe('退款申请审核中'), 10_000);
  expect(exists(reopened, '.ask-refund')).toBe(false);

  // 5. A payment whose notifications are all lost: the result page keeps confirming until the server has
  //    asked WeChat (orderquery) itself, then shows it paid.
  const second = await orderFromCatalogue(wx, 'tea-cup', 1);
  const fault = await fetch(`${stack.sandbox.url}/sandbox/faults`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ out_trade_no: second.outTradeNo, faults: { dropNotifications: true } }),
  });
  expect(fault.ok).toBe(true);
  wx.sheetChoices.push(0);
  await tap(second.confirm, '.pay');
  await waitFor(() => expect(wx.nav.at(-1)?.url).toMatch(/client=ok$/), 10_000);
  const secondResult = follow(wx);
  await waitFor(() => expect(text(secondResult, '.result .title')).toBe('支付成功'), 20_000);
  trade = await sandboxOrder(second.outTradeNo);
  expect(trade.state).toBe('SUCCESS');
  expect(trade.notifications.length).toBeGreaterThan(0);
  expect(trade.notifications.every((n) => n.outcome === 'dropped')).toBe(true);

  // 6. An order left unpaid is cancelled from its detail page; WeChat's side is closed too.
  const third = await orderFromCatalogue(wx, 'sample', 1);
  expect(text(third.confirm, '.total')).toBe('¥0.01');
  const list = renderPage(stack.built, 'pages/orders/index');
  await waitFor(() => expect(list.querySelectorAll('.order')).toHaveLength(2), 10_000);
  await tap(list, '.load-more');
  await waitFor(() => expect(list.querySelectorAll('.order')).toHaveLength(3), 10_000);
  expect(text(list, '.no-more')).toBe('没有更多订单了');
  expect(list.querySelectorAll('.order').map((o) => textIn(o, '.order-total'))).toEqual([
    '¥0.01',
    '¥25.00',
    '¥76.00',
  ]);
  const newest = list.querySelectorAll('.order')[0]!;
  expect(textIn(newest, '.order-status')).toBe('待支付');
  await tapElement(newest);
  const detail = follow(wx);
  await waitFor(() => expect(exists(detail, '.cancel')).toBe(true), 10_000);
  expect(text(detail, '.out-trade-no')).toBe(third.outTradeNo);
  wx.modalAnswers.push(true);
  await tap(detail, '.cancel');
  await waitFor(() => expect(text(detail, '.order-status')).toBe('已关闭'), 10_000);
  expect(exists(detail, '.pay')).toBe(false);
  expect((await sandboxOrder(third.outTradeNo)).state).toBe('CLOSED');

  // Sandbox mode never touches the real cashier or wx.login, and nothing was refused as an unknown launch.
  expect(exists(first.confirm, '.pay-error')).toBe(false);
  expect(wx.calls).not.toContain('requestPayment');
  expect(wx.calls).not.toContain('login');
  expect(wx.calls.filter((c) => c === 'showActionSheet')).toHaveLength(3);
});

test('a multi-item cart: kept across a relaunch, total before submitting, one tap to the sandbox cashier', async () => {
  const server = await stack.server('cart');
  let wx = launch(server, 'unused');

  // 1. Add 2 × Longjing (38.00) and 3 × tea cups (25.00) from the catalogue.
  const products = renderPage(stack.built, 'pages/products/index');
  await waitFor(() => expect(products.querySelectorAll('.product')).toHaveLength(4), 10_000);
  const add = (id: string) => {
    const button = products.querySelectorAll('.add-cart').find((b) => b.dom.getAttribute('data-id') === id);
    if (!button) throw new Error(`no add-to-cart button for ${id}`);
    return tapElement(button);
  };
  await add('green-tea');
  await add('tea-cup');
  await add('green-tea');
  await add('tea-cup');
  await add('tea-cup');
  expect(text(products, '.cart-total')).toBe('合计 ¥151.00');

  // 2. A relaunch (new module state, same storage): the cart is still there.
  const storage = wx.storage;
  wx = launch(server, 'unused');
  for (const [k, v] of storage) wx.storage.set(k, v);
  const cart = renderPage(stack.built, 'pages/cart/index');
  await waitFor(() => expect(cart.querySelectorAll('.line')).toHaveLength(2), 10_000);
  expect(text(cart, '.total')).toBe('¥151.00');

  // 3. One tap: the order is created with both lines and the sandbox sheet (the cashier) opens; pay.
  const orderIdPaid = await checkoutPaidInSheet(wx, cart);
  const result = follow(wx);
  await waitFor(() => expect(text(result, '.result .title')).toBe('支付成功'), 20_000);
  expect(text(result, '.total')).toBe('¥151.00');
  const trade = await sandboxOrder(`${orderIdPaid}01`);
  expect(trade.total_fee).toBe(15100);
  expect(trade.state).toBe('SUCCESS');

  // 4. The ordered products left the cart.
  expect(wx.storage.get('mp-pay:cart')).toEqual([]);
});

test('live-mode client path against the sandbox: wx.login and wx.requestPayment with the five fields', async () => {
  // A server that reports live mode (as with WeChat's own hosts) while still talking to the sandbox, so the
  // mini-program takes its production path: no sheet, no sandbox login codes of its own.
  const port = await freePort();
  const server = await stack.server(
    'live-mode',
    // APIv2: the demo merchant's signing key, named instead of defaulted.
    { ...liveModeEnv(port), WECHATPAY_KEY: SANDBOX_DEMO.key },
    port,
  );
  const wx = launch(server, 'live-buyer');
  const { confirm, outTradeNo } = await orderFromCatalogue(wx, 'oolong', 1);
  expect(text(confirm, '.total')).toBe('¥66.00');
  await tap(confirm, '.pay');
  await waitFor(() => expect(wx.nav.at(-1)?.url).toMatch(/client=ok$/), 10_000);
  const result = follow(wx);
  await waitFor(() => expect(text(result, '.result .title')).toBe('支付成功'), 20_000);
  expect((await sandboxOrder(outTradeNo)).state).toBe('SUCCESS');

  expect(wx.calls).toContain('login');
  expect(wx.calls).not.toContain('showActionSheet');
  firstPaymentRequested(wx);
});

interface SandboxMessage {
  appid: string;
  touser: string;
  template_id: string;
  page?: string;
  data: Record<string, { value: string }>;
}

async function sandboxMessages(on: RunningSandbox, openid: string): Promise<SandboxMessage[]> {
  const res = await fetch(`${on.url}/sandbox/subscribe/messages?openid=${encodeURIComponent(openid)}`);
  expect(res.status).toBe(200);
  return ((await res.json()) as { messages: SandboxMessage[] }).messages;
}

test('product page → buy now, the "payment succeeded" subscribe message, cancel at once, and the status tabs', async () => {
  // A sandbox with WeChat's own rule that a trade younger than 5 minutes cannot be closed: cancelling an order
  // must not wait for WeChat.
  const strict = await startSandbox({ port: 0, timeScale: 1000 });
  stack.track(strict);
  const server = await stack.server('detail-subscribe', {}, 0, strict);
  const wx = launch(server, 'unused', strict);

  // 1. From the shop to the product page, two of them, buy now: the confirmation page with that quantity.
  const products = renderPage(stack.built, 'pages/products/index');
  await waitFor(() => expect(products.querySelectorAll('.product-info').length).toBeGreaterThan(0), 10_000);
  const info = products
    .querySelectorAll('.product-info')
    .find((b) => b.dom.getAttribute('data-id') === 'green-tea');
  if (!info) throw new Error('no green-tea in the shop');
  await tapElement(info);
  expect(wx.nav.at(-1)).toEqual({ api: 'navigateTo', url: '/pages/product-detail/index?id=green-tea' });
  const detail = follow(wx);
  await waitFor(() => expect(exists(detail, '.buy-now')).toBe(true), 10_000);
  expect(text(detail, '.product-price')).toBe('¥38.00');
  await tap(detail, '.increase');
  await tap(detail, '.buy-now');
  expect(wx.nav.at(-1)).toEqual({
    api: 'navigateTo',
    url: '/pages/confirm/index?productId=green-tea&quantity=2',
  });
  const confirm = follow(wx);
  await waitFor(() => expect(exists(confirm, '.submit')).toBe(true), 10_000);
  expect(text(confirm, '.quantity')).toBe('2');
  await tap(confirm, '.submit');
  await waitFor(() => expect(text(confirm, '.total')).toBe('¥76.00'), 10_000);
  // Buy now leaves the cart alone.
  expect(wx.storage.has('mp-pay:cart')).toBe(false);

  // 2. Pay, then subscribe to the "payment succeeded" message on the result page: the consent is recorded at
  //    the sandbox (as WeChat would), the answer goes to the server, and the sandbox receives one message.
  wx.sheetChoices.push(0);
  await tap(confirm, '.pay');
  await waitFor(() => expect(wx.nav.at(-1)?.url).toMatch(/client=ok$/), 10_000);
  const paidId = queryOf(wx.nav.at(-1)!.url).query.id ?? '';
  const result = follow(wx);
  await waitFor(() => expect(text(result, '.result .title')).toBe('支付成功'), 20_000);
  await waitFor(() => expect(exists(result, '.subscribe')).toBe(true), 10_000);
  wx.subscribeAnswers.push('accept');
  await tap(result, '.subscribe');
  await waitFor(() => expect(exists(result, '.paid-message-state')).toBe(true), 10_000);
  expect(['已订阅', '已发送']).toContain(text(result, '.paid-message-state'));
  expect(exists(result, '.subscribe-note')).toBe(false);
  expect(wx.subscriptionsAsked).toEqual([[SANDBOX_DEMO_SUBSCRIBE_TEMPLATE.id]]);
  const openid = wx.openid();
  if (!openid) throw new Error('the sandbox issued no openid');
  // The server sends it in the background: wait for it to reach the sandbox.
  const deadline = Date.now() + 10_000;
  while ((await sandboxMessages(strict, openid)).length === 0 && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 50));
  expect(await sandboxMessages(strict, openid)).toHaveLength(1);
  const [message] = await sandboxMessages(strict, openid);
  expect(message?.touser).toBe(openid);
  expect(message?.template_id).toBe(SANDBOX_DEMO_SUBSCRIBE_TEMPLATE.id);
  // The order page then says it was sent, and offers nothing more; no second message follows.
  const paidDetail = renderPage(stack.built, 'pages/order-detail/index', { id: paidId });
  await waitFor(() => expect(text(paidDetail, '.paid-message-state')).toBe('已发送'), 10_000);
  expect(exists(paidDetail, '.subscribe')).toBe(false);
  await new Promise((r) => setTimeout(r, 300));
  expect(await sandboxMessages(strict, openid)).toHaveLength(1);

  // 3. A fresh order cancelled from the list: 已关闭 at once, although WeChat refuses to close so young a trade
  //    (the server closes it there later).
  const fresh = await orderFromCatalogue(wx, 'sample', 1);
  const list = renderPage(stack.built, 'pages/orders/index');
  await waitFor(() => expect(list.querySelectorAll('.order')).toHaveLength(2), 10_000);
  const newest = list.querySelectorAll('.order')[0]!;
  expect(textIn(newest, '.order-no')).toBe(fresh.outTradeNo);
  expect(textIn(newest, '.order-status')).toBe('待支付');
  wx.modalAnswers.push(true);
  await tap(list, '.cancel');
  await waitFor(
    () => expect(textIn(list.querySelectorAll('.order')[0]!, '.order-status')).toBe('已关闭'),
    10_000,
  );
  expect(wx.toasts).toContain('订单已取消');
  expect((await sandboxOrder(fresh.outTradeNo, strict)).state).toBe('NOTPAY');
  // The server says so too.
  const reread = renderPage(stack.built, 'pages/order-detail/index', { id: fresh.outTradeNo.slice(0, -2) });
  await waitFor(() => expect(text(reread, '.order-status')).toBe('已关闭'), 10_000);

  // 4. One more order left pending, then the status tabs, each filtered by the server (pages of 2).
  const pending = await orderFromCatalogue(wx, 'tea-cup', 1);
  const tabs = renderPage(stack.built, 'pages/orders/index');
  await waitFor(() => expect(tabs.querySelectorAll('.order')).toHaveLength(2), 10_000);
  await tap(tabs, '.load-more');
  await waitFor(() => expect(tabs.querySelectorAll('.order')).toHaveLength(3), 10_000);
  const tab = async (i: number) => tapElement(tabs.querySelectorAll('.tab')[i]!);
  const rows = () =>
    tabs.querySelectorAll('.order').map((o) => [textIn(o, '.order-no'), textIn(o, '.order-status')]);
  await tab(1);
  await waitFor(() => expect(rows()).toEqual([[pending.outTradeNo, '待支付']]), 10_000);
  await tab(2);
  await waitFor(() => expect(rows()).toEqual([[`${paidId}01`, '已支付']]), 10_000);
  await tab(3);
  await waitFor(() => expect(rows()).toEqual([[fresh.outTradeNo, '已关闭']]), 10_000);
  await tab(4);
  await waitFor(
    () => expect(text(tabs.querySelector('.page-status')!, '.empty-text')).toBe('没有退款的订单'),
    10_000,
  );
  expect(tabs.querySelectorAll('.order')).toHaveLength(0);
  // Back to 全部: the three orders as they were left, scrolled back in place, and refreshed.
  await tab(0);
  expect(tabs.querySelectorAll('.order')).toHaveLength(3);
});

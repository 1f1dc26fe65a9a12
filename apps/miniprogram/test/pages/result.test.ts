// @vitest-environment jsdom
import { afterEach, expect, test, vi } from 'vitest';
import { makeOrder, orderId } from '../support/fake-backend.ts';
import { cashier, uninstallWx, waitFor } from '../support/fake-wx.ts';
import { exists, pageText, renderPage, statusOf, tap, text } from '../support/pages.ts';
import { pageEnv, type PageEnv } from './harness.ts';

afterEach(() => uninstallWx());

const O1 = orderId(1);

function withOrder(env: PageEnv, confirmTimeoutMs = 300) {
  env.backend.orders = [makeOrder({ id: O1, totalFen: 3980 })];
  env.config.paymentConfirm.timeoutMs = confirmTimeoutMs;
  return env;
}
function polls(env: PageEnv) {
  return env.backend.requests.filter((r) => r.method === 'GET' && r.path === `/api/orders/${O1}`).length;
}

test('client ok: a confirming spinner until the server says PAID, only then "paid"', async () => {
  const env = withOrder(pageEnv(), 10_000);
  const page = renderPage(env.built, 'pages/result/index', { id: O1, client: 'ok' });
  await waitFor(() => expect(polls(env)).toBeGreaterThanOrEqual(2));
  expect(text(page, '.confirming')).toContain('正在确认支付结果…');
  expect(exists(page, '.spinner')).toBe(true);
  expect(pageText(page)).not.toContain('支付成功');

  env.backend.setStatus(O1, 'PAID');
  await waitFor(() => expect(text(page, '.result .title')).toBe('支付成功'));
  expect(text(page, '.total')).toBe('¥39.80');
  expect(text(page, '.order-status')).toBe('已支付');
  expect(exists(page, '.pay-again')).toBe(false);
  await tap(page, '.view-order');
  expect(env.nav).toEqual([{ api: 'redirectTo', url: `/pages/order-detail/index?id=${O1}` }]);
});

test('leaving the page while confirming stops the polling', async () => {
  const env = withOrder(pageEnv(), 10_000);
  const page = renderPage(env.built, 'pages/result/index', { id: O1, client: 'ok' });
  await waitFor(() => expect(polls(env)).toBeGreaterThanOrEqual(2));
  (page.instance as { onUnload(): void }).onUnload();
  // At most the poll already under way completes; then nothing more is asked.
  await new Promise((r) => setTimeout(r, 60));
  const after = polls(env);
  await new Promise((r) => setTimeout(r, 200));
  expect(polls(env)).toBe(after);
});

test('client ok the server never confirms: "not confirmed yet, do not pay twice", no pay button', async () => {
  const env = withOrder(pageEnv());
  const page = renderPage(env.built, 'pages/result/index', { id: O1, client: 'ok' });
  await waitFor(() => expect(text(page, '.result .title')).toBe('暂未确认到账'));
  expect(text(page, '.result .message')).toBe('支付结果还在确认中，请稍后在订单中查看。请勿重复支付。');
  expect(text(page, '.order-status')).toBe('待支付');
  expect(exists(page, '.pay-again')).toBe(false);

  // Later the notification has arrived: asking again shows it.
  env.backend.setStatus(O1, 'PAID');
  await tap(page, '.check-again');
  await waitFor(() => expect(text(page, '.result .title')).toBe('支付成功'));
});

test('cancel: the order stays pending, the page says so and offers to pay again', async () => {
  const seen: object[] = [];
  const env = withOrder(pageEnv(cashier('requestPayment:ok', seen)), 10_000);
  const page = renderPage(env.built, 'pages/result/index', { id: O1, client: 'cancel' });
  await waitFor(() => expect(text(page, '.result .title')).toBe('已取消支付'));
  expect(text(page, '.result .message')).toBe('订单仍为待支付，可以重新支付。');
  expect(text(page, '.order-status')).toBe('待支付');
  expect(polls(env)).toBe(1);

  // Pay again: fresh parameters, the cashier, then the same confirmation as before.
  await tap(page, '.pay-again');
  await waitFor(() => expect(text(page, '.confirming')).toContain('正在确认支付结果…'));
  expect(
    env.backend.requests.some((r) => r.method === 'POST' && r.path === `/api/orders/${O1}/payment`),
  ).toBe(true);
  expect(seen).toHaveLength(1);
  env.backend.setStatus(O1, 'PAID');
  await waitFor(() => expect(text(page, '.result .title')).toBe('支付成功'));
});

test('failure: shows the detail, the order stays pending, pay again is offered', async () => {
  const env = withOrder(pageEnv(cashier('requestPayment:fail cancel')));
  const page = renderPage(env.built, 'pages/result/index', { id: O1, client: 'fail', detail: '余额不足' });
  await waitFor(() => expect(text(page, '.result .title')).toBe('支付失败'));
  expect(text(page, '.detail')).toBe('余额不足');
  expect(text(page, '.order-status')).toBe('待支付');
  // Paying again and cancelling this time ends up as "cancelled".
  await tap(page, '.pay-again');
  await waitFor(() => expect(text(page, '.result .title')).toBe('已取消支付'));
});

test('pay again on an order paid meanwhile shows it as paid', async () => {
  const env = withOrder(pageEnv());
  const page = renderPage(env.built, 'pages/result/index', { id: O1, client: 'cancel' });
  await waitFor(() => expect(exists(page, '.pay-again')).toBe(true));
  env.backend.setStatus(O1, 'PAID');
  await tap(page, '.pay-again');
  await waitFor(() => expect(text(page, '.result .title')).toBe('支付成功'));
  expect(env.toasts).toEqual(['订单已支付，无需重复支付（请求号 req-order_already_paid）']);
});

test('pay again with a launch the mini-program cannot open: a toast, no cashier, the page as it was', async () => {
  const seen: object[] = [];
  const logged = vi.spyOn(console, 'error').mockImplementation(() => undefined);
  const env = withOrder(pageEnv(cashier('requestPayment:ok', seen)));
  env.backend.paymentFor = () => ({ kind: 'native', codeUrl: 'weixin://wxpay/bizpayurl?pr=abc123' });
  const page = renderPage(env.built, 'pages/result/index', { id: O1, client: 'cancel' });
  await waitFor(() => expect(exists(page, '.pay-again')).toBe(true));
  await tap(page, '.pay-again');
  await waitFor(() => expect(env.toasts).toEqual(['暂时无法在小程序内完成这笔支付，请稍后重试或联系客服']));
  expect(seen).toEqual([]);
  expect(env.fake.calls).not.toContain('requestPayment');
  expect(text(page, '.result .title')).toBe('已取消支付');
  expect(exists(page, '.pay-again')).toBe(true);
  expect(logged).toHaveBeenCalledTimes(1);
  logged.mockRestore();
});

test('a closed order says so', async () => {
  const env = withOrder(pageEnv());
  env.backend.setStatus(O1, 'CLOSED');
  const page = renderPage(env.built, 'pages/result/index', { id: O1, client: 'cancel' });
  await waitFor(() => expect(text(page, '.result .title')).toBe('订单已关闭'));
  expect(exists(page, '.pay-again')).toBe(false);
  await tap(page, '.continue');
  expect(env.nav).toEqual([{ api: 'reLaunch', url: '/pages/products/index' }]);
});

test('a failed lookup shows the error and retries the same question', async () => {
  const env = withOrder(pageEnv());
  let down = true;
  env.backend.intercept((req) =>
    req.path === `/api/orders/${O1}` && down ? { networkError: 'offline' } : undefined,
  );
  const page = renderPage(env.built, 'pages/result/index', { id: O1, client: 'cancel' });
  await waitFor(() => expect(text(statusOf(page), '.error-text')).toBe('网络连接失败，请检查网络后重试'));
  down = false;
  await tap(statusOf(page), '.retry');
  await waitFor(() => expect(text(page, '.result .title')).toBe('已取消支付'));
});

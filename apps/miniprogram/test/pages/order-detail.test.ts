// @vitest-environment jsdom
import { afterEach, expect, test, vi } from 'vitest';
import { makeOrder, orderId, outTradeNoOf } from '../support/fake-backend.ts';
import { cashier, uninstallWx, waitFor } from '../support/fake-wx.ts';
import { exists, pageText, renderPage, tap, text, statusOf } from '../support/pages.ts';
import { pageEnv, type PageEnv } from './harness.ts';
import type { WxStubs } from '../support/fake-wx.ts';

afterEach(() => uninstallWx());

const O1 = orderId(1);

function modal(confirm: boolean, shown: string[] = []): WxStubs {
  return {
    showModal: ((opts: WechatMiniprogram.ShowModalOption) => {
      shown.push(opts.content ?? '');
      setTimeout(() => opts.success?.({ confirm, cancel: !confirm, errMsg: 'showModal:ok', content: '' }), 0);
    }) as never,
  };
}

function withOrder(env: PageEnv) {
  env.backend.orders = [
    makeOrder({
      id: O1,
      // Paid with a third attempt (after two that failed): the out_trade_no is the order id plus its number.
      outTradeNo: outTradeNoOf(O1, 3),
      items: [
        { productId: 'tea', name: '龙井茶', unitPriceFen: 1990, quantity: 2, subtotalFen: 3980 },
        { productId: 'cup', name: '茶杯', unitPriceFen: 1205, quantity: 1, subtotalFen: 1205 },
      ],
      totalFen: 5185,
    }),
  ];
  return env;
}

test('shows the order as the server has it, with pay and cancel while pending', async () => {
  const env = withOrder(pageEnv());
  const page = renderPage(env.built, 'pages/order-detail/index', { id: O1 });
  expect(pageText(page)).toContain('加载中…');
  await waitFor(() => expect(text(page, '.order-status')).toBe('待支付'));
  expect(text(page, '.out-trade-no')).toBe('20261125143000mpTest000000000103');
  expect(text(page, '.created-at')).toBe('2026-11-25 14:30');
  expect(page.querySelectorAll('.line').map((l) => l.dom.textContent?.replace(/\s+/g, ' ').trim())).toEqual([
    '龙井茶 × 2¥39.80',
    '茶杯 × 1¥12.05',
  ]);
  expect(text(page, '.total')).toBe('¥51.85');
  expect(text(page, '.pay')).toBe('去支付 ¥51.85');
  expect(exists(page, '.cancel')).toBe(true);
});

test('a paid order shows when it was paid and offers neither pay nor cancel', async () => {
  const env = withOrder(pageEnv());
  env.backend.setStatus(O1, 'PAID');
  const page = renderPage(env.built, 'pages/order-detail/index', { id: O1 });
  await waitFor(() => expect(text(page, '.order-status')).toBe('已支付'));
  expect(text(page, '.paid-at')).toBe('2026-11-25 14:31');
  expect(exists(page, '.pay')).toBe(false);
  expect(exists(page, '.cancel')).toBe(false);
});

test('pay again gets fresh parameters, opens the cashier and goes to the result page', async () => {
  const seen: object[] = [];
  const env = withOrder(pageEnv(cashier('requestPayment:fail cancel', seen)));
  const page = renderPage(env.built, 'pages/order-detail/index', { id: O1 });
  await waitFor(() => expect(exists(page, '.pay')).toBe(true));
  await tap(page, '.pay');
  await waitFor(() =>
    expect(env.nav).toEqual([{ api: 'redirectTo', url: `/pages/result/index?id=${O1}&client=cancel` }]),
  );
  expect(seen).toHaveLength(1);
  expect(env.backend.requests.filter((r) => r.path === `/api/orders/${O1}/payment`)).toHaveLength(1);
});

test('pay again with a launch the mini-program cannot open says so and stays on the order', async () => {
  const seen: object[] = [];
  const logged = vi.spyOn(console, 'error').mockImplementation(() => undefined);
  const env = withOrder(pageEnv(cashier('requestPayment:ok', seen)));
  env.backend.paymentFor = () => ({
    kind: 'h5',
    redirectUrl: 'https://wx.tenpay.com/checkmweb?prepay_id=wx1',
  });
  const page = renderPage(env.built, 'pages/order-detail/index', { id: O1 });
  await waitFor(() => expect(exists(page, '.pay')).toBe(true));
  await tap(page, '.pay');
  await waitFor(() =>
    expect(text(page, '.action-error')).toBe('暂时无法在小程序内完成这笔支付，请稍后重试或联系客服'),
  );
  expect(seen).toEqual([]);
  expect(env.fake.calls).not.toContain('requestPayment');
  expect(env.nav).toEqual([]);
  expect(text(page, '.order-status')).toBe('待支付');
  expect(exists(page, '.pay')).toBe(true);
  expect(logged).toHaveBeenCalledTimes(1);
  logged.mockRestore();
});

test('pay again on an order paid meanwhile says so and shows it paid', async () => {
  const env = withOrder(pageEnv());
  const page = renderPage(env.built, 'pages/order-detail/index', { id: O1 });
  await waitFor(() => expect(exists(page, '.pay')).toBe(true));
  env.backend.setStatus(O1, 'PAID');
  await tap(page, '.pay');
  await waitFor(() => expect(text(page, '.order-status')).toBe('已支付'));
  expect(text(page, '.action-error')).toContain('订单已支付，无需重复支付');
  expect(env.nav).toEqual([]);
});

test('cancel asks first, then closes the order on the server', async () => {
  const shown: string[] = [];
  const env = withOrder(pageEnv(modal(true, shown)));
  const page = renderPage(env.built, 'pages/order-detail/index', { id: O1 });
  await waitFor(() => expect(exists(page, '.cancel')).toBe(true));
  await tap(page, '.cancel');
  await waitFor(() => expect(text(page, '.order-status')).toBe('已关闭'));
  expect(shown).toEqual(['确定要取消这个订单吗？取消后无法再支付。']);
  expect(text(page, '.closed-at')).toBe('2026-11-25 14:40');
  expect(exists(page, '.pay')).toBe(false);
  expect(env.toasts).toEqual(['订单已取消']);
});

test('declining the confirmation leaves the order alone', async () => {
  const env = withOrder(pageEnv(modal(false)));
  const page = renderPage(env.built, 'pages/order-detail/index', { id: O1 });
  await waitFor(() => expect(exists(page, '.cancel')).toBe(true));
  await tap(page, '.cancel');
  await waitFor(() => expect(env.fake.calls).toContain('showModal'));
  await new Promise((r) => setTimeout(r, 20));
  expect(env.backend.requests.some((r) => r.path === `/api/orders/${O1}/close`)).toBe(false);
  expect(text(page, '.order-status')).toBe('待支付');
});

test('a refused cancel explains why and keeps the order payable', async () => {
  const env = withOrder(pageEnv(modal(true)));
  env.backend.intercept((req) =>
    req.path === `/api/orders/${O1}/close`
      ? { status: 409, body: { error: 'order_not_closable', message: 'too young', requestId: 'r1' } }
      : undefined,
  );
  const page = renderPage(env.built, 'pages/order-detail/index', { id: O1 });
  await waitFor(() => expect(exists(page, '.cancel')).toBe(true));
  await tap(page, '.cancel');
  await waitFor(() =>
    expect(text(page, '.action-error')).toBe('订单刚创建，暂时无法取消，请稍后再试（请求号 r1）'),
  );
  expect(text(page, '.order-status')).toBe('待支付');
  expect(exists(page, '.pay')).toBe(true);
});

test('an unknown order shows an error with retry', async () => {
  const env = pageEnv();
  const page = renderPage(env.built, 'pages/order-detail/index', { id: orderId(99) });
  await waitFor(() =>
    expect(text(statusOf(page), '.error-text')).toBe('订单不存在（请求号 req-order_not_found）'),
  );
  expect(exists(statusOf(page), '.retry')).toBe(true);
});

test("a malformed order id (an old link, say) is the server's bad request, shown as an error", async () => {
  const env = pageEnv();
  const page = renderPage(env.built, 'pages/order-detail/index', { id: 'MP20261125ABC' });
  await waitFor(() =>
    expect(text(statusOf(page), '.error-text')).toBe('请求有误，请返回重试（请求号 req-invalid_request）'),
  );
});

test('the order number can be copied', async () => {
  const copied: string[] = [];
  const env = withOrder(
    pageEnv({
      setClipboardData: ((opts: { data: string }) => {
        copied.push(opts.data);
      }) as never,
    }),
  );
  const page = renderPage(env.built, 'pages/order-detail/index', { id: O1 });
  await waitFor(() => expect(exists(page, '.copy-no')).toBe(true));
  await tap(page, '.copy-no');
  expect(copied).toEqual([outTradeNoOf(O1, 3)]);
  expect(text(page, '.out-trade-no')).toBe(outTradeNoOf(O1, 3));
});

test('a double tap on cancel opens one dialog and closes the order once', async () => {
  const shown: string[] = [];
  const env = withOrder(pageEnv(modal(true, shown)));
  const page = renderPage(env.built, 'pages/order-detail/index', { id: O1 });
  await waitFor(() => expect(exists(page, '.cancel')).toBe(true));
  await tap(page, '.cancel');
  await tap(page, '.cancel');
  await waitFor(() => expect(text(page, '.order-status')).toBe('已关闭'));
  expect(shown).toHaveLength(1);
  expect(env.backend.requests.filter((r) => r.path === `/api/orders/${O1}/close`)).toHaveLength(1);
});

test('back on the page after paying elsewhere (onShow): the order is read again and shows paid', async () => {
  const env = withOrder(pageEnv());
  const page = renderPage(env.built, 'pages/order-detail/index', { id: O1 });
  await waitFor(() => expect(text(page, '.order-status')).toBe('待支付'));
  env.backend.setStatus(O1, 'PAID');
  (page.instance as unknown as { onShow(): void }).onShow();
  await waitFor(() => expect(text(page, '.order-status')).toBe('已支付'));
  expect(exists(page, '.cancel')).toBe(false);
});

// @vitest-environment jsdom
import { afterEach, expect, test } from 'vitest';
import type { Order, OrderStatus, RefundState } from '@mp-pay/shared/api';
import { makeOrder, orderId, outRefundNoOf, outTradeNoOf } from '../support/fake-backend.ts';
import { uninstallWx, waitFor, type WxStubs } from '../support/fake-wx.ts';
import { exists, pageText, renderPage, tap, text, textIn } from '../support/pages.ts';
import { hold, pageEnv, type PageEnv } from './harness.ts';

afterEach(() => uninstallWx());

const O1 = orderId(1);
const REFUND_PATH = `/api/orders/${O1}/refund-requests`;

/** The reason dialog: answers with `content` (confirm) or backs out (null), recording what it was opened with. */
function reasonPrompt(answers: (string | null)[], shown: WechatMiniprogram.ShowModalOption[] = []): WxStubs {
  return {
    showModal: ((opts: WechatMiniprogram.ShowModalOption) => {
      shown.push(opts);
      const answer = answers.shift() ?? null;
      setTimeout(
        () =>
          opts.success?.({
            confirm: answer !== null,
            cancel: answer === null,
            content: answer ?? '',
            errMsg: 'showModal:ok',
          }),
        0,
      );
    }) as never,
  };
}

/** One order O1 (¥51.85) in `status`, paid unless pending or closed. */
function withOrder(env: PageEnv, status: OrderStatus, extra: Partial<Order> = {}) {
  env.backend.orders = [
    makeOrder({
      id: O1,
      items: [
        { productId: 'tea', name: '龙井茶', unitPriceFen: 1990, quantity: 2, subtotalFen: 3980 },
        { productId: 'cup', name: '茶杯', unitPriceFen: 1205, quantity: 1, subtotalFen: 1205 },
      ],
      totalFen: 5185,
      status,
      ...(status === 'PENDING' || status === 'CLOSED' ? {} : { paidAt: '2026-11-25T06:31:00.000Z' }),
      ...extra,
    }),
  ];
  return env;
}

function refundRequests(env: PageEnv) {
  return env.backend.requests.filter((r) => r.path === REFUND_PATH);
}

test.each<[string, OrderStatus, Partial<Order>, boolean]>([
  ['a pending order', 'PENDING', {}, false],
  ['a closed order', 'CLOSED', {}, false],
  ['a paid order', 'PAID', {}, true],
  ['a partially refunded order', 'PARTIALLY_REFUNDED', {}, true],
  ['a refunded order', 'REFUNDED', {}, false],
  [
    'a paid order with a request waiting for the shop',
    'PAID',
    { refundRequest: { state: 'REQUESTED', reason: '不想要了', requestedAt: '2026-11-26T01:00:00.000Z' } },
    false,
  ],
  [
    'a paid order whose request was turned down (the buyer may ask again)',
    'PAID',
    {
      refundRequest: {
        state: 'REJECTED',
        reason: '不想要了',
        requestedAt: '2026-11-26T01:00:00.000Z',
        decidedAt: '2026-11-26T02:00:00.000Z',
      },
    },
    true,
  ],
])('%s: refund button shown = %s', async (_what, status, extra, shown) => {
  const env = withOrder(pageEnv(), status, extra);
  const page = renderPage(env.built, 'pages/order-detail/index', { id: O1 });
  await waitFor(() => expect(exists(page, '.order-status')).toBe(true));
  expect(exists(page, '.ask-refund')).toBe(shown);
});

test('no button while a refund is still on its way (it may hold all that remains)', async () => {
  const env = withOrder(pageEnv(), 'PARTIALLY_REFUNDED');
  env.backend.addRefund(O1, { refundFen: 1205, state: 'SUCCESS', settledAt: '2026-11-26T02:05:00.000Z' });
  env.backend.addRefund(O1, { refundFen: 3980, state: 'PROCESSING', createdAt: '2026-11-26T03:00:00.000Z' });
  const page = renderPage(env.built, 'pages/order-detail/index', { id: O1 });
  await waitFor(() => expect(page.querySelectorAll('.refund-line')).toHaveLength(2));
  expect(exists(page, '.ask-refund')).toBe(false);
});

test('asking sends the reason (trimmed) and shows the request waiting for the shop', async () => {
  const shown: WechatMiniprogram.ShowModalOption[] = [];
  const env = withOrder(pageEnv(reasonPrompt(['  茶叶受潮了  '], shown)), 'PAID');
  const page = renderPage(env.built, 'pages/order-detail/index', { id: O1 });
  await waitFor(() => expect(exists(page, '.ask-refund')).toBe(true));
  expect(text(page, '.ask-refund')).toBe('申请退款');
  expect(exists(page, '.refund-request')).toBe(false);
  await tap(page, '.ask-refund');
  await waitFor(() => expect(text(page, '.refund-request-state')).toBe('退款申请审核中'));

  expect(shown).toHaveLength(1);
  expect(shown[0]).toMatchObject({ title: '申请退款', editable: true });
  const sent = refundRequests(env);
  expect(sent).toHaveLength(1);
  expect(sent[0]?.method).toBe('POST');
  expect(sent[0]?.data).toEqual({ reason: '茶叶受潮了' });
  expect(sent[0]?.header.Authorization).toBe('Bearer t');
  expect(text(page, '.refund-reason')).toBe('茶叶受潮了');
  expect(text(page, '.requested-at')).toBe('2026-11-26 09:00');
  expect(exists(page, '.decided-at')).toBe(false);
  // The order itself is still paid, and nothing more can be asked until the shop decides.
  expect(text(page, '.order-status')).toBe('已支付');
  expect(exists(page, '.ask-refund')).toBe(false);
  expect(exists(page, '.refunds')).toBe(false);
  expect(exists(page, '.action-error')).toBe(false);
  expect(env.toasts).toEqual(['退款申请已提交']);
});

test('while the request is in flight the button spins and a second tap sends nothing', async () => {
  const env = withOrder(pageEnv(reasonPrompt(['不想要了', '又一次'])), 'PAID');
  const gate = hold(env.backend, REFUND_PATH);
  const page = renderPage(env.built, 'pages/order-detail/index', { id: O1 });
  await waitFor(() => expect(exists(page, '.ask-refund')).toBe(true));
  await tap(page, '.ask-refund');
  await waitFor(() => expect(page.data.acting).toBe('refund'));
  await tap(page, '.ask-refund');
  await new Promise((r) => setTimeout(r, 20));
  expect(env.fake.calls.filter((c) => c === 'showModal')).toHaveLength(1);
  gate.resolve();
  await waitFor(() => expect(text(page, '.refund-request-state')).toBe('退款申请审核中'));
  expect(refundRequests(env)).toHaveLength(1);
});

test('a server that refunds at once: the request is approved and the refund is on its way', async () => {
  const env = withOrder(pageEnv(reasonPrompt(['拍错了'])), 'PAID');
  env.backend.refundPolicy = 'auto';
  const page = renderPage(env.built, 'pages/order-detail/index', { id: O1 });
  await waitFor(() => expect(exists(page, '.ask-refund')).toBe(true));
  await tap(page, '.ask-refund');
  await waitFor(() => expect(text(page, '.refund-request-state')).toBe('已同意退款'));
  const lines = page.querySelectorAll('.refund-line');
  expect(lines).toHaveLength(1);
  expect(textIn(lines[0]!, '.refund-amount')).toBe('¥51.85');
  expect(textIn(lines[0]!, '.refund-state')).toBe('退款中');
  expect(exists(page, '.ask-refund')).toBe(false);
});

test('an approved request with a settled refund shows 已退款, the amount and the times', async () => {
  const env = withOrder(pageEnv(), 'PAID', {
    refundRequest: { state: 'REQUESTED', reason: '不想要了', requestedAt: '2026-11-26T01:00:00.000Z' },
  });
  const refund = env.backend.decideRefundRequest(O1, true, '2026-11-26T02:00:00.000Z');
  env.backend.settleRefund(refund!.outRefundNo, 'SUCCESS', '2026-11-26T02:05:00.000Z');
  const page = renderPage(env.built, 'pages/order-detail/index', { id: O1 });
  await waitFor(() => expect(text(page, '.order-status')).toBe('已退款'));
  expect(text(page, '.refund-request-state')).toBe('已同意退款');
  expect(text(page, '.decided-at')).toBe('2026-11-26 10:00');
  const lines = page.querySelectorAll('.refund-line');
  expect(lines).toHaveLength(1);
  expect(textIn(lines[0]!, '.refund-amount')).toBe('¥51.85');
  expect(textIn(lines[0]!, '.refund-state')).toBe('已退款');
  expect(textIn(lines[0]!, '.refund-created-at')).toBe('2026-11-26 10:00');
  expect(textIn(lines[0]!, '.refund-settled-at')).toBe('2026-11-26 10:05');
  expect(exists(page, '.ask-refund')).toBe(false);
});

test('a rejected request says so and lets the buyer ask again', async () => {
  const env = withOrder(pageEnv(reasonPrompt(['再申请一次'])), 'PAID', {
    refundRequest: { state: 'REQUESTED', reason: '不想要了', requestedAt: '2026-11-26T01:00:00.000Z' },
  });
  env.backend.decideRefundRequest(O1, false);
  const page = renderPage(env.built, 'pages/order-detail/index', { id: O1 });
  await waitFor(() => expect(text(page, '.refund-request-state')).toBe('退款申请未通过'));
  await tap(page, '.ask-refund');
  await waitFor(() => expect(text(page, '.refund-request-state')).toBe('退款申请审核中'));
  expect(text(page, '.refund-reason')).toBe('再申请一次');
});

test('every refund state reads as the buyer should understand it', async () => {
  const env = withOrder(pageEnv(), 'PARTIALLY_REFUNDED');
  const states: RefundState[] = ['SUCCESS', 'PENDING', 'PROCESSING', 'CLOSED', 'ABNORMAL'];
  for (const [i, state] of states.entries()) env.backend.addRefund(O1, { refundFen: 100 * (i + 1), state });
  const page = renderPage(env.built, 'pages/order-detail/index', { id: O1 });
  await waitFor(() => expect(page.querySelectorAll('.refund-line')).toHaveLength(5));
  expect(
    page
      .querySelectorAll('.refund-line')
      .map((l) => [textIn(l, '.refund-amount'), textIn(l, '.refund-state')]),
  ).toEqual([
    ['¥1.00', '已退款'],
    ['¥2.00', '退款中'],
    ['¥3.00', '退款中'],
    ['¥4.00', '退款关闭'],
    ['¥5.00', '退款异常，请联系客服'],
  ]);
  expect(env.backend.refunds.get(O1)?.[0]?.outRefundNo).toBe(outRefundNoOf(outTradeNoOf(O1), 1));
});

test('refund_not_allowed shows its message and the order as it now stands', async () => {
  const env = withOrder(pageEnv(reasonPrompt(['不想要了'])), 'PAID');
  const page = renderPage(env.built, 'pages/order-detail/index', { id: O1 });
  await waitFor(() => expect(exists(page, '.ask-refund')).toBe(true));
  // Refunded in full by the shop meanwhile: the server no longer takes a request.
  env.backend.addRefund(O1, { refundFen: 5185, state: 'SUCCESS', settledAt: '2026-11-26T02:05:00.000Z' });
  await tap(page, '.ask-refund');
  await waitFor(() =>
    expect(text(page, '.action-error')).toBe('这笔订单目前无法退款（请求号 req-refund_not_allowed）'),
  );
  await waitFor(() => expect(text(page, '.order-status')).toBe('已退款'));
  expect(exists(page, '.ask-refund')).toBe(false);
  expect(env.toasts).toEqual([]);
});

test.each([
  ['empty', ''],
  ['only spaces', '   '],
])('an %s reason is refused before anything is sent', async (_what, answer) => {
  const env = withOrder(pageEnv(reasonPrompt([answer])), 'PAID');
  const page = renderPage(env.built, 'pages/order-detail/index', { id: O1 });
  await waitFor(() => expect(exists(page, '.ask-refund')).toBe(true));
  await tap(page, '.ask-refund');
  await waitFor(() => expect(text(page, '.action-error')).toBe('请填写退款原因'));
  expect(refundRequests(env)).toEqual([]);
  expect(exists(page, '.ask-refund')).toBe(true);
  expect(exists(page, '.refund-request')).toBe(false);
});

test('a reason over 80 characters is refused; exactly 80 goes through', async () => {
  const env = withOrder(pageEnv(reasonPrompt(['退'.repeat(81), '退'.repeat(80)])), 'PAID');
  const page = renderPage(env.built, 'pages/order-detail/index', { id: O1 });
  await waitFor(() => expect(exists(page, '.ask-refund')).toBe(true));
  await tap(page, '.ask-refund');
  await waitFor(() => expect(text(page, '.action-error')).toBe('退款原因不能超过 80 个字'));
  expect(refundRequests(env)).toEqual([]);
  await tap(page, '.ask-refund');
  await waitFor(() => expect(text(page, '.refund-request-state')).toBe('退款申请审核中'));
  expect(refundRequests(env).map((r) => r.data)).toEqual([{ reason: '退'.repeat(80) }]);
  expect(exists(page, '.action-error')).toBe(false);
});

test('backing out of the reason dialog sends nothing', async () => {
  const env = withOrder(pageEnv(reasonPrompt([null])), 'PAID');
  const page = renderPage(env.built, 'pages/order-detail/index', { id: O1 });
  await waitFor(() => expect(exists(page, '.ask-refund')).toBe(true));
  await tap(page, '.ask-refund');
  await waitFor(() => expect(env.fake.calls).toContain('showModal'));
  await new Promise((r) => setTimeout(r, 20));
  expect(refundRequests(env)).toEqual([]);
  expect(exists(page, '.action-error')).toBe(false);
  expect(pageText(page)).not.toContain('退款申请');
});

test('a network failure while asking is explained and the button stays', async () => {
  const env = withOrder(pageEnv(reasonPrompt(['不想要了'])), 'PAID');
  env.backend.intercept((req) => (req.path === REFUND_PATH ? { networkError: 'timeout' } : undefined));
  const page = renderPage(env.built, 'pages/order-detail/index', { id: O1 });
  await waitFor(() => expect(exists(page, '.ask-refund')).toBe(true));
  await tap(page, '.ask-refund');
  await waitFor(() => expect(text(page, '.action-error')).toBe('网络连接失败，请检查网络后重试'));
  expect(exists(page, '.ask-refund')).toBe(true);
  expect(page.data.acting).toBe('');
});

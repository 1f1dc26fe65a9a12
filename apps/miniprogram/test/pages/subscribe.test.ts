// @vitest-environment jsdom
/**
 * The "payment succeeded" subscribe message on the result page and the order page: offered only when the
 * server names a template, asked from the tap itself, the answer posted, the state shown; a failed consent
 * call explained without blocking anything.
 */
import { afterEach, expect, test } from 'vitest';
import { makeOrder, orderId } from '../support/fake-backend.ts';
import { subscribeDialog, uninstallWx, waitFor, type WxStubs } from '../support/fake-wx.ts';
import { exists, renderPage, tap, text, type Rendered } from '../support/pages.ts';
import { pageEnv, type PageEnv } from './harness.ts';

afterEach(() => uninstallWx());

const O1 = orderId(1);
const TEMPLATE = 'tmpl-paid-0001';

function paidEnv(stubs: WxStubs, template: string | null = TEMPLATE): PageEnv {
  const env = pageEnv(stubs);
  env.backend.mode = template
    ? { mode: 'live', subscribeTemplates: { paymentSucceeded: template } }
    : { mode: 'live' };
  env.backend.orders = [makeOrder({ id: O1 })];
  env.backend.setStatus(O1, 'PAID');
  env.config.paymentConfirm.timeoutMs = 5_000;
  return env;
}

function subscriptionPosts(env: PageEnv) {
  return env.backend.requests.filter((r) => r.path === `/api/orders/${O1}/subscriptions`).map((r) => r.data);
}

async function paidResult(env: PageEnv): Promise<Rendered> {
  const page = renderPage(env.built, 'pages/result/index', { id: O1, client: 'ok' });
  await waitFor(() => expect(text(page, '.result .title')).toBe('支付成功'));
  return page;
}

test('result page: accept → the answer goes to the server, the message is 已发送', async () => {
  const asked: string[][] = [];
  const env = paidEnv(subscribeDialog('accept', asked));
  const page = await paidResult(env);
  await waitFor(() => expect(exists(page, '.subscribe')).toBe(true));
  expect(text(page, '.subscribe')).toBe('订阅支付结果通知');
  await tap(page, '.subscribe');
  await waitFor(() => expect(text(page, '.paid-message-state')).toBe('已发送'));
  expect(asked).toEqual([[TEMPLATE]]);
  expect(subscriptionPosts(env)).toEqual([{ templateId: TEMPLATE, answer: 'accept' }]);
  expect(exists(page, '.subscribe')).toBe(false);
  // Nothing else on the page changed: the order is still paid, the way on still there.
  expect(text(page, '.order-status')).toBe('已支付');
  expect(exists(page, '.view-order')).toBe(true);
  // The template came with the one /api/config of the launch.
  expect(env.backend.requests.filter((r) => r.path === '/api/config')).toHaveLength(1);
});

test.each([
  ['reject', '未订阅'],
  ['ban', '未订阅'],
  ['filter', '未订阅'],
] as const)('result page: %s is posted as it is and shows %s', async (answer, shown) => {
  const env = paidEnv(subscribeDialog(answer));
  const page = await paidResult(env);
  await waitFor(() => expect(exists(page, '.subscribe')).toBe(true));
  await tap(page, '.subscribe');
  await waitFor(() => expect(text(page, '.paid-message-state')).toBe(shown));
  expect(subscriptionPosts(env)).toEqual([{ templateId: TEMPLATE, answer }]);
});

test('result page: WeChat refused the message → 发送失败', async () => {
  const env = paidEnv(subscribeDialog('accept'));
  env.backend.paidMessageSend = { state: 'FAILED', reason: '43101' };
  const page = await paidResult(env);
  await waitFor(() => expect(exists(page, '.subscribe')).toBe(true));
  await tap(page, '.subscribe');
  await waitFor(() => expect(text(page, '.paid-message-state')).toBe('发送失败'));
});

test('no template in the server config: nothing is offered and WeChat is never asked', async () => {
  const env = paidEnv(subscribeDialog('accept'), null);
  const page = await paidResult(env);
  await new Promise((r) => setTimeout(r, 20));
  expect(exists(page, '.paid-message')).toBe(false);
  expect(env.fake.calls).not.toContain('requestSubscribeMessage');
});

test('the consent dialog opens inside the tap handler (no await before it), and a double tap asks once', async () => {
  const asked: string[][] = [];
  const env = paidEnv(subscribeDialog('accept', asked));
  const page = await paidResult(env);
  await waitFor(() => expect(exists(page, '.subscribe')).toBe(true));
  const instance = page.instance as unknown as { onSubscribe(): void };
  instance.onSubscribe();
  // Synchronously: WeChat refuses the dialog once the tap's call stack is gone.
  expect(asked).toEqual([[TEMPLATE]]);
  instance.onSubscribe();
  await waitFor(() => expect(text(page, '.paid-message-state')).toBe('已发送'));
  expect(asked).toHaveLength(1);
  expect(subscriptionPosts(env)).toHaveLength(1);
});

test.each([
  [20004, '你已关闭本小程序的订阅消息，可在右上角 ··· → 设置 → 订阅消息 中打开', false],
  [20005, '小程序暂时无法发送订阅消息，可在订单中查看支付结果', false],
  [20001, '暂时无法订阅支付结果通知，可在订单中查看支付结果', false],
  [10002, '网络不佳，订阅未完成，请稍后重试', true],
  [10003, '网络不佳，订阅未完成，请稍后重试', true],
])(
  'requestSubscribeMessage fails with %i: explained, nothing posted, nothing blocked',
  async (errCode, note, retry) => {
    const env = paidEnv(subscribeDialog({ errCode }));
    const page = await paidResult(env);
    const warned = console.warn;
    console.warn = () => undefined;
    try {
      await waitFor(() => expect(exists(page, '.subscribe')).toBe(true));
      await tap(page, '.subscribe');
      await waitFor(() => expect(text(page, '.subscribe-note')).toBe(note));
    } finally {
      console.warn = warned;
    }
    expect(subscriptionPosts(env)).toEqual([]);
    expect(exists(page, '.subscribe')).toBe(retry);
    expect(exists(page, '.view-order')).toBe(true);
    expect(exists(page, '.continue')).toBe(true);
  },
);

test('the server refuses the subscription: its mapped message, and the buyer may try again', async () => {
  const env = paidEnv(subscribeDialog('accept'));
  env.backend.intercept((req) =>
    req.path.endsWith('/subscriptions')
      ? { status: 409, body: { error: 'subscription_not_allowed', message: 'no', requestId: 'r9' } }
      : undefined,
  );
  const page = await paidResult(env);
  await waitFor(() => expect(exists(page, '.subscribe')).toBe(true));
  await tap(page, '.subscribe');
  await waitFor(() =>
    expect(text(page, '.subscribe-note')).toBe('这笔订单暂时无法订阅支付结果通知（请求号 r9）'),
  );
  expect(exists(page, '.subscribe')).toBe(true);
});

test('a cancelled payment offers no subscription', async () => {
  const env = paidEnv(subscribeDialog('accept'));
  env.backend.setStatus(O1, 'PENDING');
  const page = renderPage(env.built, 'pages/result/index', { id: O1, client: 'cancel' });
  await waitFor(() => expect(text(page, '.result .title')).toBe('已取消支付'));
  await new Promise((r) => setTimeout(r, 20));
  expect(exists(page, '.paid-message')).toBe(false);
});

test('order page: a paid order without an answer offers it; accepting shows 已发送', async () => {
  const asked: string[][] = [];
  const env = paidEnv(subscribeDialog('accept', asked));
  const page = renderPage(env.built, 'pages/order-detail/index', { id: O1 });
  await waitFor(() => expect(exists(page, '.subscribe')).toBe(true));
  await tap(page, '.subscribe');
  await waitFor(() => expect(text(page, '.paid-message-state')).toBe('已发送'));
  expect(asked).toEqual([[TEMPLATE]]);
});

test('order page: an answered order shows its state, an ACCEPTED one turning 已发送 on the next show', async () => {
  const env = paidEnv(subscribeDialog('accept'));
  env.backend.orders[0]!.paidMessage = {
    state: 'ACCEPTED',
    templateId: TEMPLATE,
    answeredAt: '2026-11-25T06:32:00.000Z',
  };
  const page = renderPage(env.built, 'pages/order-detail/index', { id: O1 });
  await waitFor(() => expect(text(page, '.paid-message-state')).toBe('已订阅'));
  expect(exists(page, '.subscribe')).toBe(false);
  env.backend.orders[0]!.paidMessage = {
    state: 'SENT',
    templateId: TEMPLATE,
    answeredAt: '2026-11-25T06:32:00.000Z',
    sentAt: '2026-11-25T06:32:05.000Z',
  };
  (page.instance as unknown as { onShow(): void }).onShow();
  await waitFor(() => expect(text(page, '.paid-message-state')).toBe('已发送'));
});

test('order page: a pending order offers no subscription', async () => {
  const env = paidEnv(subscribeDialog('accept'));
  env.backend.setStatus(O1, 'PENDING');
  const page = renderPage(env.built, 'pages/order-detail/index', { id: O1 });
  await waitFor(() => expect(text(page, '.order-status')).toBe('待支付'));
  await new Promise((r) => setTimeout(r, 20));
  expect(exists(page, '.paid-message')).toBe(false);
});

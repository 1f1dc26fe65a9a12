// @vitest-environment jsdom
import { afterEach, expect, test, vi } from 'vitest';
import type { PaymentLaunch } from '@mp-pay/shared/api';
import { orderId, OUT_TRADE_NO_RE, outTradeNoOf } from '../support/fake-backend.ts';
import { cashier, uninstallWx, waitFor } from '../support/fake-wx.ts';
import { exists, pageText, renderPage, tap, text, statusOf } from '../support/pages.ts';
import { hold, pageEnv } from './harness.ts';

afterEach(() => uninstallWx());

/** The first order the fake server creates. */
const O1 = orderId(1);

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
  // The buyer sees the out_trade_no WeChat shows in its payment record: the 30-character order id plus the
  // attempt's two digits.
  expect(text(page, '.out-trade-no')).toBe(outTradeNoOf(O1));
  expect(text(page, '.out-trade-no')).toMatch(OUT_TRADE_NO_RE);
  expect(text(page, '.pay')).toBe('确认支付 ¥59.70');
  expect(exists(page, '.stepper')).toBe(false);
  expect(orderPosts(env)[0]?.data).toEqual({
    items: [{ productId: 'tea', quantity: 3 }],
    channel: 'miniprogram',
  });
});

test('the total shown is the server total, whatever the client would have computed', async () => {
  const env = pageEnv();
  // The server prices the order, here with a discount the client knows nothing about.
  env.backend.intercept((req) => {
    if (req.method !== 'POST' || req.path !== '/api/orders') return undefined;
    const order = {
      id: orderId(42),
      outTradeNo: outTradeNoOf(orderId(42)),
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
  ['requestPayment:ok', `/pages/result/index?id=${O1}&client=ok`],
  ['requestPayment:fail cancel', `/pages/result/index?id=${O1}&client=cancel`],
  [
    'requestPayment:fail 余额不足',
    `/pages/result/index?id=${O1}&client=fail&detail=${encodeURIComponent('余额不足')}`,
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
  expect(seen).toHaveLength(1);
  expect(seen[0]).toMatchObject({
    package: `prepay_id=wx${outTradeNoOf(O1)}1`,
    signType: 'MD5',
    paySign: 'SIGN1',
  });
  // The server's launch also carries kind and appId; wx.requestPayment gets neither.
  expect(
    Object.keys(seen[0] ?? {})
      .filter((k) => typeof seen[0]?.[k] !== 'function')
      .sort(),
  ).toEqual(['nonceStr', 'package', 'paySign', 'signType', 'timeStamp']);
  // The page never decides "paid" itself: it only reports what the client saw.
  expect(pageText(page)).not.toContain('支付成功');
});

test.each<PaymentLaunch>([
  { kind: 'native', codeUrl: 'weixin://wxpay/bizpayurl?pr=abc123' },
  { kind: 'h5', redirectUrl: 'https://wx.tenpay.com/cgi-bin/mmpayweb-bin/checkmweb?prepay_id=wx1' },
  {
    kind: 'app',
    appId: 'wxmobileapp',
    partnerId: '1900000109',
    prepayId: 'wx123',
    package: 'Sign=WXPay',
    nonceStr: 'n0nce',
    timeStamp: '1764052200',
    sign: 'ABCDEF',
  },
])('a $kind launch is refused in place: no cashier, no result page, a message', async (launch) => {
  const seen: Record<string, unknown>[] = [];
  const logged = vi.spyOn(console, 'error').mockImplementation(() => undefined);
  const env = pageEnv(cashier('requestPayment:ok', seen));
  env.backend.paymentFor = () => launch;
  const page = renderPage(env.built, 'pages/confirm/index', { productId: 'tea' });
  await waitFor(() => expect(exists(page, '.submit')).toBe(true));
  await tap(page, '.submit');
  await waitFor(() => expect(exists(page, '.pay')).toBe(true));
  expect(exists(page, '.pay-error')).toBe(false);
  await tap(page, '.pay');
  await waitFor(() =>
    expect(text(page, '.pay-error')).toBe('暂时无法在小程序内完成这笔支付，请稍后重试或联系客服'),
  );
  expect(text(page, '.pay')).toBe('确认支付 ¥19.90');
  expect(seen).toEqual([]);
  expect(env.fake.calls).not.toContain('requestPayment');
  expect(env.nav).toEqual([]);
  expect(logged).toHaveBeenCalledWith(expect.stringContaining(`'${launch.kind}' payment launch`));
  logged.mockRestore();
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
  // The quantity is locked while a submission is in flight: wait for the second failure to come back.
  await waitFor(() => expect(text(page, '.submit-error')).toBe('网络连接失败，请检查网络后重试'));
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
  await waitFor(() => expect(text(statusOf(page), '.error-text')).toBe('商品不存在或已下架'));
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

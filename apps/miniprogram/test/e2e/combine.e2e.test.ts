/**
 * End to end, combine (合单) payments: the compiled pages and services against a real server in APIv3 mode (the
 * sandbox's two demo sub-merchants configured), a real sandbox and Redis. A cart of the shop's own tea and the
 * teaware merchant's teapot becomes one order paid by one combine; and a combine whose sub-order fails at WeChat
 * is shown as an incomplete payment and ends refunded. Runs in Node (see dom.ts for why not in jsdom).
 */
import { uninstallDom } from '../support/dom-installed.ts';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunningServer } from '@mp-pay/server';
import type { Order } from '@mp-pay/shared/api';
import { SANDBOX_DEMO_COMBINE_SUB_MERCHANTS, SANDBOX_DEMO_V3 } from '@mp-pay/shared/wechatpay';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { ORDER_ID_RE } from '../support/fake-backend.ts';
import { waitFor } from '../support/fake-wx.ts';
import { exists, renderPage, tap, tapElement, text, textIn, type Rendered } from '../support/pages.ts';
import { queryOf, type RealWx } from './real-wx.ts';
import { checkoutPaidInSheet, E2eStack, firstPaymentRequested, freePort, liveModeEnv } from './stack.ts';

const stack = new E2eStack();
/** Key files of the live-mode server (APIv3 reads keys from files only). */
const keyDir = mkdtempSync(join(tmpdir(), 'mp-pay-combine-e2e-'));

/** The sandbox's teaware merchant (SANDBOX_DEMO_COMBINE_SUB_MERCHANTS[0]), which sells the teapot. */
const TEAWARE_MCHID = '1900000209';

/**
 * The settings of a live-mode server on APIv3 (see liveModeEnv): the sandbox's demo merchant's APIv3 keys and
 * its two demo sub-merchants, named in files instead of defaulted.
 */
function liveV3Env(port: number): Record<string, string> {
  const file = (name: string, content: string) => {
    const path = join(keyDir, name);
    writeFileSync(path, content, { mode: 0o600 });
    return path;
  };
  const names = ['teaware', 'snacks'] as const;
  const titles = ['Longquan teaware studio', 'West Lake tea snacks'] as const;
  const subs = SANDBOX_DEMO_COMBINE_SUB_MERCHANTS.map((sub, i) => ({
    seller: names[i],
    name: titles[i],
    mchId: sub.mchId,
    apiV3Key: sub.apiV3Key,
    privateKey: file(`${sub.mchId}-key.pem`, sub.mchPrivateKey),
    certSerial: sub.mchCertSerial,
  }));
  return {
    ...liveModeEnv(port),
    WECHATPAY_APIV3_KEY: SANDBOX_DEMO_V3.apiV3Key,
    WECHATPAY_PRIVATE_KEY: file('main-key.pem', SANDBOX_DEMO_V3.mchPrivateKey),
    WECHATPAY_CERT_SERIAL: SANDBOX_DEMO_V3.mchCertSerial,
    WECHATPAY_PUBLIC_KEY: file('platform-public.pem', SANDBOX_DEMO_V3.platformPublicKey),
    WECHATPAY_PUBLIC_KEY_ID: SANDBOX_DEMO_V3.platformPublicKeyId,
    WECHATPAY_SUB_MERCHANTS: file('sub-merchants.json', JSON.stringify(subs)),
  };
}

/** A server on APIv3 (sandbox mode unless `extra` says otherwise): it sells for the shop and two demo merchants. */
function v3Server(label: string, extra: Record<string, string> = {}, port = 0): Promise<RunningServer> {
  return stack.server(label, { WECHATPAY_API_VERSION: 'v3', ...extra }, port);
}

const launch = (server: RunningServer) => stack.launch(server);
const follow = (wx: RealWx) => stack.follow(wx);

/** The order as the server reports it to its buyer (the app's own session token, from its storage). */
async function serverOrder(server: RunningServer, wx: RealWx, id: string): Promise<Order> {
  const token = String(wx.storage.get('mp-pay:token') ?? '');
  const res = await fetch(`${server.url}/api/orders/${id}`, {
    headers: { authorization: `Bearer ${token}` },
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { order: Order }).order;
}

function subOrderRows(page: Rendered): string[][] {
  return page
    .querySelectorAll('.sub-order')
    .map((row) => [
      textIn(row, '.sub-order-merchant'),
      textIn(row, '.sub-order-amount'),
      textIn(row, '.sub-order-state'),
    ]);
}

/**
 * The shop with its sellers named, then a cart of `adds` (product ids, one tap each), kept across a relaunch:
 * the cart page of the new launch, grouped by merchant.
 */
async function twoMerchantCart(
  server: RunningServer,
  adds: string[],
): Promise<{ wx: RealWx; cart: Rendered }> {
  let wx = launch(server);
  const products = renderPage(stack.built, 'pages/products/index');
  await waitFor(() => expect(products.querySelectorAll('.product').length).toBeGreaterThan(4), 10_000);
  const row = (id: string) => {
    const found = products
      .querySelectorAll('.product')
      .find((p) => p.dom.querySelector('.main--buy')?.getAttribute('data-id') === id);
    if (!found) throw new Error(`no ${id} in the shop`);
    return found;
  };
  // Several merchants in the catalogue: each product names its seller.
  expect(textIn(row('green-tea'), '.product-merchant')).toBe('mp-pay tea house');
  expect(textIn(row('teapot'), '.product-merchant')).toBe('Longquan teaware studio');
  for (const id of adds) {
    const button = products.querySelectorAll('.add-cart').find((b) => b.dom.getAttribute('data-id') === id);
    if (!button) throw new Error(`no add-to-cart button for ${id}`);
    await tapElement(button);
  }

  // A relaunch (new module state, same storage): the cart is still there.
  const storage = wx.storage;
  wx = launch(server);
  for (const [k, v] of storage) wx.storage.set(k, v);
  const cart = renderPage(stack.built, 'pages/cart/index');
  await waitFor(() => expect(cart.querySelectorAll('.merchant-group')).toHaveLength(2), 10_000);
  return { wx, cart };
}

beforeAll(async () => {
  await stack.start();
});

afterAll(async () => {
  await stack.stop();
  rmSync(keyDir, { recursive: true, force: true });
  uninstallDom();
});

test('a two-merchant cart across a relaunch, paid with one tap by one combine: PAID, both sub-orders PAID', async () => {
  const server = await v3Server('combine');
  // 2 × Longjing (38.00, the shop's own) and a teapot (128.00, the teaware merchant).
  const { wx, cart } = await twoMerchantCart(server, ['green-tea', 'teapot', 'green-tea']);

  // 1. The cart, grouped by merchant with subtotals, says it is one payment split between them.
  const groups = cart.querySelectorAll('.merchant-group');
  expect(groups.map((g) => [textIn(g, '.merchant-name'), textIn(g, '.merchant-subtotal')])).toEqual([
    ['mp-pay tea house', '小计 ¥76.00'],
    ['Longquan teaware studio', '小计 ¥128.00'],
  ]);
  expect(text(cart, '.combine-note')).toContain('合并支付');
  expect(text(cart, '.total')).toBe('¥204.00');

  // 2. One tap: the order is created and the sandbox cashier opens once; pay.
  const id = await checkoutPaidInSheet(wx, cart);
  // One payment for both merchants: one launch, an APIv3 (RSA-signed) prepay_id.
  expect(wx.payerRequests).toHaveLength(1);
  expect(wx.payerRequests[0]).toMatchObject({ signType: 'RSA', outcome: 'success' });
  expect(String(wx.payerRequests[0]?.package)).toMatch(/^prepay_id=/);
  expect(id).toMatch(ORDER_ID_RE);
  const result = follow(wx);
  await waitFor(() => expect(text(result, '.result .title')).toBe('支付成功'), 20_000);
  expect(text(result, '.total')).toBe('¥204.00');
  expect(wx.storage.get('mp-pay:cart')).toEqual([]);

  // 3. The order page: PAID, and each merchant's part paid.
  const detail = renderPage(stack.built, 'pages/order-detail/index', { id });
  await waitFor(() => expect(text(detail, '.order-status')).toBe('已支付'), 10_000);
  expect(text(detail, '.sub-orders .card-title')).toBe('合并支付 · 2 家商户');
  expect(subOrderRows(detail)).toEqual([
    ['mp-pay tea house', '¥76.00', '已支付'],
    ['Longquan teaware studio', '¥128.00', '已支付'],
  ]);
  expect(exists(detail, '.partial-notice')).toBe(false);
  expect(exists(detail, '.ask-refund')).toBe(true);

  // The server agrees: two sub-orders, each its merchant's trade with a transaction of its own.
  const order = await serverOrder(server, wx, id);
  expect(order.subOrders?.map((s) => [s.totalFen, s.state])).toEqual([
    [7600, 'PAID'],
    [12800, 'PAID'],
  ]);
  expect(new Set(order.subOrders?.map((s) => s.transactionId)).size).toBe(2);
  expect(order.partiallyPaidFen).toBeUndefined();
  expect(wx.calls).not.toContain('requestPayment');
});

test('a combine whose sub-order fails: the incomplete-payment notice, the paid part refunded, 已退款', async () => {
  const server = await v3Server('combine-partial');
  const { wx, cart } = await twoMerchantCart(server, ['green-tea', 'teapot']);
  expect(text(cart, '.total')).toBe('¥166.00');

  // 1. Check out but cancel in the cashier: a pending combine, its sub-orders listed on the order page.
  wx.sheetChoices.push(1);
  await tap(cart, '.checkout');
  await waitFor(() => expect(wx.nav.at(-1)?.url).toMatch(/client=cancel$/), 10_000);
  const id = queryOf(wx.nav.at(-1)!.url).query.id ?? '';
  const result = follow(wx);
  await waitFor(() => expect(text(result, '.result .title')).toBe('已取消支付'), 10_000);
  const pending = renderPage(stack.built, 'pages/order-detail/index', { id });
  await waitFor(() => expect(text(pending, '.order-status')).toBe('待支付'), 10_000);
  expect(subOrderRows(pending)).toEqual([
    ['mp-pay tea house', '¥38.00', '待支付'],
    ['Longquan teaware studio', '¥128.00', '待支付'],
  ]);

  // 2. Pay again; at WeChat the shop's own sub-order fails while the teapot's is paid.
  const before = await serverOrder(server, wx, id);
  const failing = before.subOrders?.find((s) => s.mchid !== TEAWARE_MCHID)?.outTradeNo;
  if (!failing) throw new Error(`no sub-order of the shop in ${JSON.stringify(before.subOrders)}`);
  wx.payerExtras.fail_sub_order = failing;
  wx.sheetChoices.push(0);
  await tap(result, '.pay-again');
  await waitFor(() => expect(wx.payerRequests).toHaveLength(2), 10_000);
  expect(wx.payerRequests.at(-1)).toMatchObject({ signType: 'RSA', fail_sub_order: failing });

  // 3. Not a success to the buyer: the result page and the order page say the payment was incomplete and
  //    the amount taken goes back.
  await waitFor(() => expect(text(result, '.result .title')).toBe('支付未完成'), 20_000);
  expect(text(result, '.result .partial-notice')).toBe('支付未完成，已付金额原路退回（¥128.00）');
  const detail = renderPage(stack.built, 'pages/order-detail/index', { id });
  await waitFor(() => expect(exists(detail, '.partial-notice')).toBe(true), 10_000);
  expect(text(detail, '.partial-title')).toBe('支付未完成，已付金额原路退回');
  expect(text(detail, '.partially-paid')).toBe('¥128.00');
  expect(exists(detail, '.ask-refund')).toBe(false);

  // 4. The refund settles (the sandbox's refund runs on its own clock): the order ends 已退款, the teapot's
  //    part refunded, the failed part never paid.
  const deadline = Date.now() + 20_000;
  while ((await serverOrder(server, wx, id)).status !== 'REFUNDED' && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 100));
  const reopened = renderPage(stack.built, 'pages/order-detail/index', { id });
  await waitFor(() => expect(text(reopened, '.order-status')).toBe('已退款'), 10_000);
  expect(text(reopened, '.partial-title')).toBe('支付未完成，已付金额原路退回');
  const states = Object.fromEntries(subOrderRows(reopened).map(([name, , state]) => [name, state]));
  expect(states['Longquan teaware studio']).toBe('已退款');
  expect(states['mp-pay tea house']).toBe('已关闭');
  expect(text(reopened, '.refund-amount')).toBe('¥128.00');
  expect(text(reopened, '.refund-state')).toBe('已退款');
});

test('live-mode client path on APIv3: one wx.requestPayment with the five fields, signType RSA, pays the combine', async () => {
  const port = await freePort();
  const server = await v3Server('combine-live', liveV3Env(port), port);
  const { wx, cart } = await twoMerchantCart(server, ['teapot', 'oolong']);
  expect(text(cart, '.total')).toBe('¥194.00');

  await tap(cart, '.checkout');
  await waitFor(() => expect(wx.nav.at(-1)?.url).toMatch(/client=ok$/), 10_000);
  const id = queryOf(wx.nav.at(-1)!.url).query.id ?? '';
  const result = follow(wx);
  await waitFor(() => expect(text(result, '.result .title')).toBe('支付成功'), 20_000);

  // WeChat's own cashier, once, with exactly the five signed fields of an APIv3 (RSA) launch.
  expect(wx.calls).toContain('login');
  expect(wx.calls).not.toContain('showActionSheet');
  expect(wx.paymentsRequested).toHaveLength(1);
  const passed = firstPaymentRequested(wx);
  expect(passed.signType).toBe('RSA');

  const detail = renderPage(stack.built, 'pages/order-detail/index', { id });
  await waitFor(() => expect(text(detail, '.order-status')).toBe('已支付'), 10_000);
  // Both merchants' parts paid (in the order the server lists them).
  expect(subOrderRows(detail).map(([, amount, state]) => [amount, state])).toEqual(
    expect.arrayContaining([
      ['¥128.00', '已支付'],
      ['¥66.00', '已支付'],
    ]),
  );
  expect(subOrderRows(detail)).toHaveLength(2);
});

/**
 * The web checkout of a two-merchant cart in Chromium (docs/combine.md, APIv3): the shop names each product's
 * merchant, the cart is grouped by merchant with subtotals, checkout in WeChat's browser places one combine
 * payment that the WeixinJSBridge stand-in pays, and the result page shows PAID with both merchants' sub-orders,
 * each as the server reports it. A combine WeChat pays only in part shows the incomplete-payment notice.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { CreateOrderResponse, Order, ProductListResponse } from '@mp-pay/shared/api';
import { SANDBOX_DEMO, SANDBOX_DEMO_COMBINE_SUB_MERCHANTS } from '@mp-pay/shared/wechatpay';
import { bearer, json, type Stack } from '../helpers/stack.ts';
import {
  addToCart,
  FLOW_TIMEOUT,
  launchBrowser,
  payInJsBridgeSheet,
  phoneContext,
  screenshot,
  shopUrl,
  skipBrowserSuites,
  startShopStack,
  textOf,
  USER_AGENTS,
  withContext,
} from './support.ts';

const TEAWARE = SANDBOX_DEMO_COMBINE_SUB_MERCHANTS[0]?.mchId as string;

let browser: Browser;
let stack: Stack;

beforeAll(async () => {
  if (skipBrowserSuites) return;
  browser = await launchBrowser();
  stack = await startShopStack('browser-combine', { WECHATPAY_API_VERSION: 'v3' });
});
afterAll(async () => {
  await browser?.close();
  await stack?.close();
});

describe.skipIf(skipBrowserSuites)('web checkout of a two-merchant cart in Chromium (APIv3 combine)', () => {
  test(
    "WeChat's browser: merchants shown, cart grouped, one combine paid through WeixinJSBridge, sub-orders PAID",
    async () => {
      const { products } = await json<ProductListResponse>(await fetch(`${stack.server.url}/api/products`));
      const merchantName = (mchid: string) =>
        products.find((p) => p.merchant?.mchid === mchid)?.merchant?.name;
      const shopName = merchantName(SANDBOX_DEMO.mchId);
      const teawareName = merchantName(TEAWARE);
      expect(shopName).toBeTruthy();
      expect(teawareName).toBeTruthy();

      await withContext(
        () => phoneContext(browser, USER_AGENTS.wechatAndroid),
        async (_context, page) => {
          await page.goto(shopUrl(stack));
          await page.waitForSelector('#products .product');
          expect(await page.getAttribute('#channel', 'data-channel')).toBe('official_account');
          // Each product names its merchant once the catalogue holds several.
          expect(await textOf(page, '.product[data-product-id="teapot"] .product-merchant')).toBe(
            teawareName,
          );
          expect(await textOf(page, '.product[data-product-id="green-tea"] .product-merchant')).toBe(
            shopName,
          );

          await addToCart(page, { 'green-tea': 2, teapot: 1 });
          // One group per merchant, in the cart's order, each with its subtotal; the total is their sum.
          const groups = await page.$$eval('#cart-lines .merchant-group', (els) =>
            els.map((el) => [
              el.getAttribute('data-mchid'),
              el.querySelector('.group-merchant')?.textContent,
              el.querySelector('.group-subtotal')?.textContent,
              [...el.querySelectorAll('.line')].map((l) => l.getAttribute('data-product-id')),
            ]),
          );
          expect(groups).toEqual([
            [SANDBOX_DEMO.mchId, shopName, '¥76.00', ['green-tea']],
            [TEAWARE, teawareName, '¥128.00', ['teapot']],
          ]);
          expect(await textOf(page, '#cart-total')).toBe('¥204.00');
          await screenshot(page, 'combine-shop');

          await page.click('#checkout');
          const orderId = await payInJsBridgeSheet(page, stack, 'combine');
          expect(await textOf(page, '#order-total')).toBe('¥204.00');
          expect(await page.isHidden('#partial-notice')).toBe(true);
          expect(await textOf(page, '#status')).toBe('支付成功 / Paid');

          // What the server says of the sub-orders, and what the page shows of them: the same, row for row.
          const token = (await page.evaluate("sessionStorage.getItem('mp-pay:oa-session')")) as string;
          const order = (
            await json<{ order: Order }>(
              await fetch(`${stack.server.url}/api/orders/${orderId}`, { headers: bearer(token) }),
            )
          ).order;
          expect(order.subOrders?.map((s) => [s.mchid, s.totalFen, s.state])).toEqual([
            [SANDBOX_DEMO.mchId, 7600, 'PAID'],
            [TEAWARE, 12800, 'PAID'],
          ]);
          expect(order.subOrders?.every((s) => /^\d{28}$/.test(s.transactionId ?? ''))).toBe(true);
          await page.waitForSelector('#sub-orders-box:not([hidden])');
          const rows = await page.$$eval('#sub-orders .sub-order', (els) =>
            els.map((el) => [
              el.getAttribute('data-mchid'),
              el.getAttribute('data-status'),
              el.getAttribute('data-out-trade-no'),
              el.querySelector('.sub-order-merchant')?.textContent,
              el.querySelector('.sub-order-amount')?.textContent,
              el.querySelector('.sub-order-state')?.textContent,
            ]),
          );
          expect(rows).toEqual(
            (order.subOrders ?? []).map((s) => [
              s.mchid,
              'PAID',
              s.outTradeNo,
              s.merchantName,
              s.mchid === TEAWARE ? '¥128.00' : '¥76.00',
              '已支付 / Paid',
            ]),
          );
          expect(rows.map((r) => r[3])).toEqual([shopName, teawareName]);
          // Shown, not merely present.
          expect(await page.isVisible('#sub-orders .sub-order[data-mchid="' + TEAWARE + '"]')).toBe(true);
          expect(await page.locator('#sub-orders .sub-order:visible').count()).toBe(2);
          await screenshot(page, 'combine-result');
        },
      );
    },
    FLOW_TIMEOUT,
  );

  test(
    'a combine paid only in part: the result page says so, with the failed sub-order not paid',
    async () => {
      await withContext(
        () => phoneContext(browser, USER_AGENTS.wechatAndroid),
        async (_context, page) => {
          await page.goto(shopUrl(stack));
          await addToCart(page, { 'green-tea': 2, teapot: 1 });
          const placed = page.waitForResponse(
            (res) => res.request().method() === 'POST' && new URL(res.url()).pathname === '/api/orders',
          );
          await page.click('#checkout');
          const { order } = (await (await placed).json()) as CreateOrderResponse;
          const teapot = order.subOrders?.find((s) => s.mchid === TEAWARE);
          expect(teapot?.state).toBe('PENDING');
          // WeChat fails the teaware merchant's part and takes the rest: the sandbox's fail_sub_order, added to
          // what the WeixinJSBridge stand-in sends (apps/sandbox/README.md "Combine payments").
          await failSubOrderOnPay(page, teapot?.outTradeNo ?? '');
          await page.waitForSelector('#sandbox-jsbridge-pay');
          await page.click('#sandbox-jsbridge-pay');

          await page.waitForURL(/\/shop\/result\.html\?order=/);
          await page.waitForSelector('#partial-notice:not([hidden])', { timeout: 20_000 });
          expect(await textOf(page, '#partial-notice')).toContain('¥76.00');
          expect(await textOf(page, '#partial-notice')).toContain('¥204.00');
          expect(await textOf(page, '#status')).toBe('支付未完成 / Payment incomplete');
          expect(await page.getAttribute('#status', 'data-partial')).toBe('');
          // Taken, then refunded in full at once: PAID until the refund settles.
          expect(['PAID', 'PARTIALLY_REFUNDED', 'REFUNDED']).toContain(
            await page.getAttribute('#status', 'data-status'),
          );
          const states = await page.$$eval('#sub-orders .sub-order', (els) =>
            els.map((el) => [el.getAttribute('data-mchid'), el.getAttribute('data-status')]),
          );
          expect(states.map(([mchid]) => mchid)).toEqual([SANDBOX_DEMO.mchId, TEAWARE]);
          expect(states[1]?.[1]).not.toBe('PAID');
          expect(['PAID', 'PARTIALLY_REFUNDED', 'REFUNDED']).toContain(states[0]?.[1]);
          await screenshot(page, 'combine-partial-result');
        },
      );
    },
    FLOW_TIMEOUT,
  );
});

/** Adds `fail_sub_order` to the pay sheet's POST /sandbox/pay (the stand-in has no button for it). */
async function failSubOrderOnPay(page: Page, outTradeNo: string): Promise<void> {
  expect(outTradeNo).not.toBe('');
  await page.route(`${stack.sandbox.url}/sandbox/pay`, async (route) => {
    const request = route.request();
    if (request.method() !== 'POST') return route.continue();
    const body = JSON.parse(request.postData() ?? '{}') as Record<string, unknown>;
    await route.continue({ postData: JSON.stringify({ ...body, fail_sub_order: outTradeNo }) });
  });
}

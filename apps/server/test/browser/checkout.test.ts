/**
 * The web checkout in a real browser (docs/channels.md "Web checkout"), one suite per channel, each ending on
 * a page that says "paid" only because the server does: desktop → Native QR → sandbox scanner; phone → H5 →
 * the sandbox cashier → back to result.html; WeChat's browser → OAuth → WeixinJSBridge stand-in → result.html.
 * Also the H5 cashier's refusal when the shop is not the Referer, and the Native flow once in APIv3.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { CreateOrderResponse } from '@mp-pay/shared/api';
import { bearer, json, post, storedStatus, type Stack } from '../helpers/stack.ts';
import {
  addToCart,
  desktopContext,
  FLOW_TIMEOUT,
  launchBrowser,
  orderIdOf,
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

let browser: Browser;

beforeAll(async () => {
  if (!skipBrowserSuites) browser = await launchBrowser();
});
afterAll(async () => browser?.close());

/** Desktop: cart → checkout → QR → the sandbox scanner pays → the checkout page turns to paid by itself. */
async function nativeFlow(stack: Stack, shot: string, mode1 = false): Promise<void> {
  await withContext(
    () => desktopContext(browser),
    async (context, page) => {
      await page.goto(shopUrl(stack));
      expect(await page.getAttribute('#channel', 'data-channel')).toBe('native');
      await addToCart(page, { 'green-tea': 1, sample: 2 });
      expect(await textOf(page, '#cart-total')).toBe('¥38.02');
      expect(await textOf(page, '.line[data-product-id="sample"] .quantity')).toBe('2');

      await page.click('#checkout');
      await page.waitForURL(/\/shop\/pay\.html\?order=/);
      const orderId = orderIdOf(page);
      // The QR code is the server's SVG, fetched with the bearer token and shown from a blob: URL.
      await page.waitForSelector('#qr-image[src^="blob:"]');
      // (Page code as a string: this package's TypeScript has no DOM types.)
      await page.waitForFunction(
        "(() => { const img = document.querySelector('#qr-image'); return img && img.complete && img.naturalWidth > 0; })()",
      );
      const codeUrl = await page.getAttribute('#qr', 'data-code-url');
      expect(codeUrl).toMatch(/^weixin:\/\/wxpay\/bizpayurl\?/);
      expect(await textOf(page, '#order-total')).toBe('¥38.02');
      expect(await storedStatus(stack.server, orderId)).toBe('PENDING');

      await screenshot(page, `${shot}-qr`);
      const scanHref = await page.getAttribute('#sandbox-scan-link', 'href');
      expect(scanHref).toBe(`${stack.sandbox.url}/sandbox/scan?url=${encodeURIComponent(codeUrl ?? '')}`);

      // The buyer's phone: the sandbox scanner, in another tab.
      const phone = await context.newPage();
      await phone.goto(scanHref ?? '');
      // Mode 2: the trade exists and shows its amount; mode 1: it is placed when the buyer pays (scan callback).
      const mode = await phone.getAttribute('#sandbox-scan', 'data-mode');
      expect(mode).toBe(mode1 ? '1' : '2');
      if (!mode1) expect(await textOf(phone, '#sandbox-scan-amount')).toBe('¥38.02');
      await phone.click('#sandbox-scan-pay');
      await phone.waitForSelector('#sandbox-scan-result[data-outcome="success"]');
      await screenshot(phone, `${shot}-scanner`);

      // Nobody touches the checkout page: it polls and turns to paid by itself.
      await page.waitForSelector('section[data-state="paid"]:not([hidden])', { timeout: 20_000 });
      expect(await textOf(page, '#paid-total')).toBe('¥38.02');
      expect(await storedStatus(stack.server, orderId)).toBe('PAID');
      await screenshot(page, shot);
    },
  );
}

describe.skipIf(skipBrowserSuites)('web checkout in Chromium (APIv2)', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startShopStack('browser-v2');
  });
  afterAll(async () => stack?.close());

  test(
    'desktop: Native QR code, paid through the sandbox scanner',
    () => nativeFlow(stack, 'native-v2'),
    FLOW_TIMEOUT,
  );

  test(
    'phone: H5 through the sandbox cashier, back to the result page, paid',
    () =>
      withContext(
        () => phoneContext(browser, USER_AGENTS.iphoneSafari),
        async (_context, page) => {
          await page.goto(shopUrl(stack));
          expect(await page.getAttribute('#channel', 'data-channel')).toBe('h5');
          await addToCart(page, { oolong: 1 });
          expect(await textOf(page, '#cart-total')).toBe('¥66.00');
          await screenshot(page, 'h5-shop');
          await page.click('#checkout');

          // WeChat's cashier (the mweb_url), reached from the shop: the Referer is the shop's.
          await page.waitForSelector('#sandbox-h5-cashier');
          expect(new URL(page.url()).origin).toBe(new URL(stack.sandbox.url).origin);
          expect(await textOf(page, '#sandbox-h5-amount')).toBe('¥66.00');
          await screenshot(page, 'h5-cashier');
          await page.click('#sandbox-h5-pay');

          await page.waitForURL(/\/shop\/result\.html\?order=/);
          const orderId = orderIdOf(page);
          await page.waitForSelector('#status[data-status="PAID"]', { timeout: 20_000 });
          expect(await textOf(page, '#order-total')).toBe('¥66.00');
          expect(await page.isHidden('#pending-actions')).toBe(true);
          expect(await storedStatus(stack.server, orderId)).toBe('PAID');
          await screenshot(page, 'h5-result');
        },
      ),
    FLOW_TIMEOUT,
  );

  test(
    "WeChat's browser: OAuth, the WeixinJSBridge pay sheet, then the result page asks the server",
    () =>
      withContext(
        () => phoneContext(browser, USER_AGENTS.wechatAndroid),
        async (_context, page) => {
          const visited: string[] = [];
          // Every hop, the HTTP redirects included.
          page.on('request', (req) => {
            if (req.isNavigationRequest() && req.frame() === page.mainFrame()) visited.push(req.url());
          });
          await page.goto(shopUrl(stack));
          // Sent through /web/oauth/start to the sandbox's authorize page, which comes straight back.
          await page.waitForSelector('#products .product');
          expect(visited.some((u) => u.startsWith(`${stack.sandbox.url}/connect/oauth2/authorize?`))).toBe(
            true,
          );
          expect(visited.some((u) => u.startsWith(`${stack.server.url}/web/oauth/callback?`))).toBe(true);
          expect(await page.getAttribute('#channel', 'data-channel')).toBe('official_account');
          // The token was taken from the fragment, which is gone from the address bar.
          expect(new URL(page.url()).hash).toBe('');
          expect(await page.evaluate("sessionStorage.getItem('mp-pay:oa-session')")).toMatch(/\S{16,}/);

          await addToCart(page, { 'tea-cup': 2 });
          expect(await textOf(page, '#cart-total')).toBe('¥50.00');
          await page.click('#checkout');

          await payInJsBridgeSheet(page, stack, 'jsapi');
          await screenshot(page, 'jsapi-result');
        },
      ),
    FLOW_TIMEOUT,
  );

  test(
    'phone: a cancelled H5 payment leaves the order pending; 重新支付 pays it again; the cart survives a reload',
    () =>
      withContext(
        () => phoneContext(browser, USER_AGENTS.iphoneSafari),
        async (_context, page) => {
          await page.goto(shopUrl(stack));
          await addToCart(page, { sample: 3 });
          await page.reload();
          await page.waitForSelector('#products .product');
          expect(await textOf(page, '.line[data-product-id="sample"] .quantity')).toBe('3');
          expect(await textOf(page, '#cart-total')).toBe('¥0.03');
          await page.click('#checkout');

          await page.waitForSelector('#sandbox-h5-cashier');
          await page.click('#sandbox-h5-cancel');
          await page.waitForURL(/\/shop\/result\.html\?order=/);
          const orderId = orderIdOf(page);
          await page.waitForSelector('#status[data-status="PENDING"]');
          expect(await page.isVisible('#pending-actions')).toBe(true);
          // 我已支付 asks the server again: still pending.
          await page.click('#recheck');
          await page.waitForSelector('#recheck:not([disabled])');
          expect(await page.getAttribute('#status', 'data-status')).toBe('PENDING');

          await page.click('#pay-again');
          await page.waitForSelector('#sandbox-h5-cashier');
          await page.click('#sandbox-h5-pay');
          await page.waitForURL(/\/shop\/result\.html\?order=/);
          expect(orderIdOf(page)).toBe(orderId);
          await page.waitForSelector('#status[data-status="PAID"]', { timeout: 20_000 });
          expect(await storedStatus(stack.server, orderId)).toBe('PAID');
          // The order took the cart's items: the shop starts empty again.
          await page.goto(shopUrl(stack));
          await page.waitForSelector('#products .product');
          expect(await page.isHidden('#cart')).toBe(true);
        },
      ),
    FLOW_TIMEOUT,
  );

  test(
    "the server's errors are shown as it gave them (error id, message, request id)",
    () =>
      withContext(
        () => desktopContext(browser),
        async (_context, page) => {
          await page.goto(`${shopUrl(stack)}result.html?order=20260101000000NoSuchOrder00000`);
          await page.waitForSelector('#error:not([hidden])');
          expect(await page.getAttribute('#error', 'data-error')).toBe('order_not_found');
          expect(await textOf(page, '#error-message')).toBe('No such order.');
          expect(await textOf(page, '#error-details')).toMatch(/^order_not_found · request \S+$/);
          await screenshot(page, 'error-order-not-found');
        },
      ),
    FLOW_TIMEOUT,
  );

  test(
    "the mweb_url opened without the shop's Referer shows WeChat's 商家参数格式有误",
    () =>
      withContext(
        () => phoneContext(browser, USER_AGENTS.iphoneSafari),
        async (_context, page) => {
          const guest = await json<{ token: string }>(
            await fetch(`${stack.server.url}/api/session/guest`, post({})),
          );
          const res = await fetch(
            `${stack.server.url}/api/orders`,
            post({ items: [{ productId: 'sample', quantity: 1 }], channel: 'h5' }, bearer(guest.token)),
          );
          expect(res.status).toBe(201);
          const { order, payment } = await json<CreateOrderResponse>(res);
          if (payment.kind !== 'h5') throw new Error(`expected an h5 launch, got ${payment.kind}`);

          // Typed into the address bar (or shared): no Referer at all.
          await page.goto(payment.redirectUrl);
          await page.waitForSelector('#sandbox-h5-error');
          expect(await textOf(page, '#sandbox-h5-error')).toContain('商家参数格式有误');
          expect(await storedStatus(stack.server, order.id)).toBe('PENDING');
          await screenshot(page, 'h5-no-referer');
        },
      ),
    FLOW_TIMEOUT,
  );
});

describe.skipIf(skipBrowserSuites)('web checkout in Chromium (APIv3)', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startShopStack('browser-v3', { WECHATPAY_API_VERSION: 'v3' });
  });
  afterAll(async () => stack?.close());

  test(
    'desktop: Native QR code, paid through the sandbox scanner',
    () => nativeFlow(stack, 'native-v3'),
    FLOW_TIMEOUT,
  );
});

describe.skipIf(skipBrowserSuites)('web checkout in Chromium (APIv2, Native mode 1)', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startShopStack('browser-mode1', {}, { nativeMode1: true });
  });
  afterAll(async () => stack?.close());

  test(
    'desktop: the signed long link as a QR code; the scan calls the server back, then pays',
    () => nativeFlow(stack, 'native-mode1', true),
    FLOW_TIMEOUT,
  );
});

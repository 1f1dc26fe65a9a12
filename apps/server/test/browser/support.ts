/**
 * Browser tests of the web checkout: Debian's chromium-headless-shell driven by playwright-core against a real
 * sandbox and a real server on Redis (test/helpers/stack.ts, ports 0, a prefix of their own).
 *
 * Without the browser, the suites are skipped with a message, except under CI=true where a missing browser
 * fails (.ci/run installs it).
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { freePort } from '../helpers/free-port.ts';
import { expect } from 'vitest';
import { startStack, storedStatus, type Stack } from '../helpers/stack.ts';

export const CHROMIUM = '/usr/bin/chromium-headless-shell';
const chromiumMissing = !existsSync(CHROMIUM);
const onCi = process.env.CI === 'true' || process.env.CI === '1';

/** True only when the browser is missing locally; under CI the suites run and fail in `launchBrowser`. */
export const skipBrowserSuites = chromiumMissing && !onCi;
if (skipBrowserSuites) {
  console.warn(
    `[browser tests] SKIPPED: ${CHROMIUM} not found. Install it with ` +
      '`apt-get install chromium-headless-shell fonts-noto-cjk` to run the web checkout in a real browser.',
  );
}

export async function launchBrowser(): Promise<Browser> {
  if (chromiumMissing) {
    throw new Error(`${CHROMIUM} is missing: CI must install chromium-headless-shell (see .ci/run)`);
  }
  return chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
}

/** User agents as the real browsers send them. */
export const USER_AGENTS = {
  desktopChrome:
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36',
  iphoneSafari:
    'Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Mobile/15E148 Safari/604.1',
  wechatAndroid:
    'Mozilla/5.0 (Linux; Android 13; Pixel 7 Build/TQ3A.230805.001; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/116.0.0.0 Mobile Safari/537.36 XWEB/1160065 MMWEBSDK/20231202 MMWEBID/2247 MicroMessenger/8.0.47.2560(0x28002F30) WeChat/arm64 Weixin NetType/WIFI Language/zh_CN ABI/arm64',
} as const;

export function desktopContext(browser: Browser): Promise<BrowserContext> {
  return browser.newContext({
    userAgent: USER_AGENTS.desktopChrome,
    viewport: { width: 1280, height: 800 },
    locale: 'zh-CN',
  });
}

/** A phone: small viewport, touch, mobile user agent (Safari, or WeChat's in-app browser). */
export function phoneContext(browser: Browser, userAgent: string): Promise<BrowserContext> {
  return browser.newContext({
    userAgent,
    viewport: { width: 390, height: 844 },
    deviceScaleFactor: 2,
    isMobile: true,
    hasTouch: true,
    locale: 'zh-CN',
  });
}

/**
 * The stack for the browser suites: the sandbox reaches the server's notify URL at its listening address.
 * Native mode 1 also needs the scan callback, which the sandbox (like WeChat's merchant platform) must know before
 * the server starts: the server gets a free port chosen up front.
 */
export async function startShopStack(
  label: string,
  env: Record<string, string> = {},
  options: { nativeMode1?: boolean } = {},
): Promise<Stack> {
  const stackEnv = { ORDER_REFRESH_AFTER_MS: '1000', ...env };
  if (!options.nativeMode1) return startStack({ label, env: stackEnv });
  const port = await freePort();
  return startStack({
    label,
    env: { ...stackEnv, WECHATPAY_NATIVE_MODE: '1' },
    serverPorts: [port],
    sandbox: { nativeCallbackUrl: `http://127.0.0.1:${port}/wechatpay/native-scan` },
  });
}

export const shopUrl = (stack: Stack) => `${stack.server.url}/shop/`;

const SCREENSHOTS = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'test-results', 'screenshots');

/** Saves the final page as test-results/screenshots/<name>.png (for people looking at a failed or green run). */
export async function screenshot(page: Page, name: string): Promise<string> {
  await mkdir(SCREENSHOTS, { recursive: true });
  const path = join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/** Puts products in the cart by clicking their Add buttons. */
export async function addToCart(page: Page, items: Record<string, number>): Promise<void> {
  await page.waitForSelector('#products .product');
  for (const [productId, quantity] of Object.entries(items)) {
    for (let i = 0; i < quantity; i++) await page.click(`.product[data-product-id="${productId}"] .add`);
  }
}

export async function textOf(page: Page, selector: string): Promise<string> {
  return ((await page.textContent(selector)) ?? '').trim();
}

/** Collects what the page logs as errors and its failed requests, to make a failure readable. */
export function watchPage(page: Page): string[] {
  const problems: string[] = [];
  page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error') problems.push(`console: ${msg.text()}`);
  });
  page.on('requestfailed', (req) => problems.push(`requestfailed: ${req.url()} ${req.failure()?.errorText}`));
  return problems;
}

/** How long one browser flow (shop → cashier → result) may take. */
export const FLOW_TIMEOUT = 60_000;

/** A fresh browser profile per test, closed afterwards; a failure message carries what the page complained of. */
export async function withContext<T>(
  open: () => Promise<BrowserContext>,
  run: (context: BrowserContext, page: Page, problems: string[]) => Promise<T>,
): Promise<T> {
  const context = await open();
  const page = await context.newPage();
  const problems = watchPage(page);
  try {
    return await run(context, page, problems);
  } catch (err) {
    if (problems.length > 0 && err instanceof Error)
      err.message += `\npage problems:\n${problems.join('\n')}`;
    throw err;
  } finally {
    await context.close();
  }
}

/** The order id in `?order=` of the page's address. */
export function orderIdOf(page: Page): string {
  const id = new URL(page.url()).searchParams.get('order');
  if (!id) throw new Error(`no ?order= in ${page.url()}`);
  return id;
}

/**
 * WeChat's browser after checkout: the WeixinJSBridge stand-in's pay sheet (saved as `<shot>-pay-sheet`), paid,
 * then the result page, PAID because the server stores it so. Returns the order id.
 */
export async function payInJsBridgeSheet(page: Page, stack: Stack, shot: string): Promise<string> {
  await page.waitForSelector('#sandbox-jsbridge-pay');
  await screenshot(page, `${shot}-pay-sheet`);
  await page.click('#sandbox-jsbridge-pay');

  await page.waitForURL(/\/shop\/result\.html\?order=/);
  const orderId = orderIdOf(page);
  await page.waitForSelector('#status[data-status="PAID"]', { timeout: 20_000 });
  expect(await storedStatus(stack.server, orderId)).toBe('PAID');
  return orderId;
}

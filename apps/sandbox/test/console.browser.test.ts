/**
 * The sandbox console in a real browser: Debian's chromium-headless-shell driven by playwright-core against a
 * sandbox on port 0 and a merchant notify receiver. The page must follow a v2 payment live (no reload), and
 * its "drop next notification" button must make the next payment's first attempt get lost, then show the
 * retry. The merchant's reply carries HTML that must show as text. Screenshots go to
 * apps/sandbox/test-results/screenshots/ (gitignored).
 *
 * Without the browser the suite is skipped with a message, except under CI=true where a missing browser fails.
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { pay, placeOrder, postJson, useSandboxAndReceiver } from './helpers.ts';

const CHROMIUM = '/usr/bin/chromium-headless-shell';
const onCi = process.env.CI === 'true' || process.env.CI === '1';
const skip = !existsSync(CHROMIUM) && !onCi;
if (skip) {
  console.warn(
    `[browser tests] SKIPPED: ${CHROMIUM} not found. Install it with ` +
      '`apt-get install chromium-headless-shell fonts-noto-cjk` to run the sandbox console in a real browser.',
  );
}
const FLOW_TIMEOUT = 60_000;
const SCREENSHOTS = join(dirname(fileURLToPath(import.meta.url)), '..', 'test-results', 'screenshots');

/** Untrusted text from the merchant: a success reply whose return_msg is markup that would run if parsed. */
const HOSTILE_REPLY =
  '<xml><return_code><![CDATA[SUCCESS]]></return_code>' +
  '<return_msg><![CDATA[<img src=x onerror="window.__pwned=1">]]></return_msg></xml>';

const ctx = useSandboxAndReceiver({ timeScale: 1000 });
let browser: Browser | undefined;

beforeAll(async () => {
  if (skip) return;
  if (!existsSync(CHROMIUM))
    throw new Error(`${CHROMIUM} is missing: CI must install chromium-headless-shell`);
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
});
afterAll(async () => browser?.close());

async function screenshot(page: Page, name: string): Promise<void> {
  await mkdir(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

const orderCard = (outTradeNo: string) => `article.order[data-out-trade-no="${outTradeNo}"]`;

describe.skipIf(skip)('the sandbox console in Chromium', () => {
  test(
    'follows a payment live, then drops the next notification with a button and shows the retry',
    async () => {
      ctx.receiver.reply = () => ({ body: HOSTILE_REPLY });
      const context = await (browser as Browser).newContext({ viewport: { width: 1280, height: 900 } });
      const page = await context.newPage();
      const problems: string[] = [];
      page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
      page.on('console', (msg) => {
        if (msg.type() === 'error') problems.push(`console: ${msg.text()}`);
      });
      // Nothing may leave the sandbox's origin: the page must work without network access.
      const origin = new URL(ctx.sb.url).origin;
      const foreign: string[] = [];
      page.on('request', (req) => {
        if (!req.url().startsWith(origin)) foreign.push(req.url());
      });
      try {
        await page.goto(`${ctx.sb.url}/`);
        await page.waitForSelector('#live-status[data-mode="live"]');
        expect(await page.locator('#merchants tbody tr').count()).toBe(3);
        // Set on the page once: still there at the end means no reload happened.
        await page.evaluate(() => ((globalThis as unknown as { __loaded: number }).__loaded = 1));

        // 1. An order placed through the API the way the demo does (v2 unifiedorder, demo key), paid as the buyer.
        const first = await placeOrder(ctx.sb, ctx.receiver.url);
        await page.waitForSelector(`${orderCard(first.outTradeNo)}[data-state="NOTPAY"]`);
        expect((await pay(ctx.sb, first)).status).toBe(200);
        await page.waitForSelector(`${orderCard(first.outTradeNo)}[data-state="SUCCESS"]`);
        await page.waitForSelector(`${orderCard(first.outTradeNo)} li.attempt[data-outcome="acknowledged"]`);
        await screenshot(page, 'console-paid');

        // 2. A new order; the page's button drops its next notification; paid, the first attempt is lost and
        // the retry (15 s ÷ time scale later) is acknowledged.
        const second = await placeOrder(ctx.sb, ctx.receiver.url);
        const card = orderCard(second.outTradeNo);
        await page.waitForSelector(`${card}[data-state="NOTPAY"]`);
        await page.click(`${card} button.drop-next`);
        await expect
          .poll(async () => {
            const res = await fetch(`${ctx.sb.url}/sandbox/faults`);
            return ((await res.json()) as { orders: Record<string, unknown> }).orders[second.outTradeNo];
          })
          .toEqual({ dropNotifications: 1 });
        expect((await pay(ctx.sb, second)).status).toBe(200);
        await page.waitForSelector(`${card} li.attempt[data-attempt="2"][data-outcome="acknowledged"]`);
        const attempts = await page
          .locator(`${card} > .notifications li.attempt`)
          .evaluateAll((items) =>
            items.map((li) => [li.getAttribute('data-attempt'), li.getAttribute('data-outcome')]),
          );
        expect(attempts).toEqual([
          ['1', 'dropped'],
          ['2', 'acknowledged'],
        ]);

        // The retry's details: the request, the exact signed string (key withheld) and the reply, as text.
        const retry = page.locator(`${card} li.attempt[data-attempt="2"]`);
        await retry.locator('summary').click();
        await expect
          .poll(() => retry.locator('pre.signed').textContent())
          .toMatch(/&key=<APIv2 key, not shown>$/);
        expect(await retry.locator('pre.body').textContent()).toContain(
          `<out_trade_no>${second.outTradeNo}</out_trade_no>`,
        );
        expect(await retry.locator('pre.reply').textContent()).toBe(HOSTILE_REPLY);
        expect(await page.locator('main img').count()).toBe(0);
        expect(
          await page.evaluate(() => (globalThis as unknown as { __pwned?: number }).__pwned),
        ).toBeUndefined();
        await screenshot(page, 'console-dropped-retry');

        // 3. The page's own trigger: pay a pending order with its button; advance the clock with another.
        const third = await placeOrder(ctx.sb, ctx.receiver.url);
        await page.click(`${orderCard(third.outTradeNo)}[data-state="NOTPAY"] button.pay`);
        await page.waitForSelector(`${orderCard(third.outTradeNo)}[data-state="SUCCESS"]`);
        // A refund from the page, ending as its button says (the refundOutcome fault, then a console refund).
        await page.click(`${orderCard(third.outTradeNo)} button.refund-abnormal`);
        await page.waitForSelector(`${orderCard(third.outTradeNo)} .refund[data-status="CHANGE"]`);
        await page.click('button[data-advance="3600000"]');
        await expect.poll(() => page.locator('#clock-offset').textContent()).toBe('(+3600 s)');
        const clock = await postJson(`${ctx.sb.url}/sandbox/clock`, { advance_ms: 0 });
        expect(clock.json.offset_ms).toBe(3_600_000);

        // 4. Clicks as people make them: pressed for 150 ms while the page is live. The page only redraws what
        // changed, so a button stays the same element between press and release, even when another order
        // changes meanwhile.
        let older = '';
        for (let i = 0; i < 3; i++) {
          const pending = await placeOrder(ctx.sb, ctx.receiver.url);
          older = pending.outTradeNo;
          const button = `${orderCard(pending.outTradeNo)}[data-state="NOTPAY"] button.pay`;
          await page.waitForSelector(button);
          await page.click(button, { delay: 150 });
          await page.waitForSelector(`${orderCard(pending.outTradeNo)}[data-state="SUCCESS"]`);
        }
        const held = await placeOrder(ctx.sb, ctx.receiver.url);
        const heldButton = page.locator(
          `${orderCard(held.outTradeNo)}[data-state="NOTPAY"] button.drop-next`,
        );
        await heldButton.waitFor();
        const box = await heldButton.boundingBox();
        if (!box) throw new Error('the drop-next button is not on screen');
        const renders = async () => Number(await page.locator('body').getAttribute('data-renders'));
        const before = await renders();
        await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
        await page.mouse.down();
        // Another order (further down, so nothing moves under the pointer) changes while the button is held
        // down: the page redraws that card, this one stays.
        const changed = await postJson(`${ctx.sb.url}/sandbox/faults`, {
          out_trade_no: older,
          faults: { duplicateNotifications: 2 },
        });
        expect(changed.status).toBe(200);
        await expect.poll(renders).toBeGreaterThan(before);
        await page.mouse.up();
        await expect
          .poll(async () => {
            const res = await fetch(`${ctx.sb.url}/sandbox/faults`);
            return ((await res.json()) as { orders: Record<string, unknown> }).orders[held.outTradeNo];
          })
          .toEqual({ dropNotifications: 1 });
        // A change elsewhere does not redraw a card: a selection in it survives a new order arriving.
        const other = await placeOrder(ctx.sb, ctx.receiver.url);
        await page.waitForSelector(orderCard(other.outTradeNo));
        await page.locator(`${orderCard(other.outTradeNo)} .out-trade-no`).selectText();
        const selection = () => page.evaluate<string>('String(getSelection())');
        const selected = await selection();
        expect(selected).toBe(other.outTradeNo);
        const another = await placeOrder(ctx.sb, ctx.receiver.url);
        await page.waitForSelector(orderCard(another.outTradeNo));
        expect(await selection()).toBe(other.outTradeNo);

        expect(await page.evaluate(() => (globalThis as unknown as { __loaded?: number }).__loaded)).toBe(1);
        expect(foreign).toEqual([]);
        expect(problems).toEqual([]);
        await screenshot(page, 'console-final');
      } catch (err) {
        await screenshot(page, 'console-failure').catch(() => {});
        if (problems.length > 0 && err instanceof Error)
          err.message += `\npage problems:\n${problems.join('\n')}`;
        throw err;
      } finally {
        await context.close();
      }
    },
    FLOW_TIMEOUT,
  );
});

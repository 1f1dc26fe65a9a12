/**
 * The H5 cashier behind mweb_url / h5_url (docs/channels.md): WeChat's checks on the visit (link, Referer,
 * WeChat's own browser, age, visitor IP, redirect_url), the pay form, and the return to redirect_url.
 */
import { describe, expect, it } from 'vitest';
import { inspect, postJson, sandbox, useSandboxAndReceiver } from './helpers.ts';
import {
  cashierLink,
  openCashier,
  payCashier,
  placeV2Channel,
  placeV3Channel,
  submitCashier,
  v2NotificationFor,
} from './channel-helpers.ts';

const ctx = useSandboxAndReceiver();
const clocked = useSandboxAndReceiver({ timeScale: 1 }); // moved only by /sandbox/clock
const BACK = 'http://127.0.0.1:3000/shop/result.html?order=7';

async function mweb(overrides: Record<string, string | number | undefined> = {}, sb = ctx.sb) {
  const placed = await placeV2Channel(sb, 'MWEB', ctx.receiver.url, overrides);
  return { ...placed, url: String(placed.reply.mweb_url), link: cashierLink(String(placed.reply.mweb_url)) };
}

function expectError(html: string, message: string) {
  expect(html).toContain('id="sandbox-h5-error"');
  expect(html).toContain(message);
  expect(html).not.toContain('id="sandbox-h5-pay"');
}

describe('GET /cgi-bin/mmpayweb-bin/checkmweb', () => {
  it('shows the amount, the description (escaped) and the pay button to a visit from a registered domain', async () => {
    const order = await mweb({ body: '<b>礼物</b> & more' });
    const page = await openCashier(order.url);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(page.html).toContain('id="sandbox-h5-amount">¥25.00<');
    expect(page.html).toContain('&lt;b&gt;礼物&lt;/b&gt; &amp; more');
    expect(page.html).toContain('id="sandbox-h5-pay"');
    expect(page.html).toContain('name="viewport"');
    expect(page.html).not.toMatch(/<(link|img)\b|src=/);
  });

  it.each([
    ['no Referer', null],
    ['a Referer from an unregistered domain', 'https://evil.example/pay.html'],
    ['a Referer that is not a URL', 'nonsense'],
  ])('answers %s with 商家参数格式有误', async (_what, referer) => {
    const order = await mweb();
    expectError((await openCashier(order.url, { referer })).html, '商家参数格式有误');
  });

  it('answers a visitor from another IP than spbill_create_ip with 网络环境未能通过安全验证', async () => {
    const order = await mweb({ spbill_create_ip: '198.51.100.23' });
    const page = await openCashier(order.url);
    expectError(page.html, '网络环境未能通过安全验证');
    expect(page.html).toContain('198.51.100.23');
  });

  it('treats every loopback address as one machine (::1 placed, 127.0.0.1 visits)', async () => {
    const order = await mweb({ spbill_create_ip: '::1' });
    expect((await openCashier(order.url)).html).toContain('id="sandbox-h5-pay"');
  });

  it("refuses WeChat's own browser: H5 is for other browsers", async () => {
    const order = await mweb();
    const page = await openCashier(order.url, { userAgent: 'Mozilla/5.0 (iPhone) MicroMessenger/8.0.50' });
    expectError(page.html, '请在微信外打开订单，进行支付');
  });

  it('refuses an edited link (package, prepay_id) and a redirect_url that is not an http(s) URL', async () => {
    const order = await mweb();
    const tampered = new URL(order.url);
    tampered.searchParams.set('package', '1234567890');
    expectError((await openCashier(tampered.toString())).html, '商家参数格式有误');
    const unknown = new URL(order.url);
    unknown.searchParams.set('prepay_id', 'wx00000000000000aaaaaaaaaaaaaaaaaaaaaa');
    expectError((await openCashier(unknown.toString())).html, '商家参数格式有误');
    expectError(
      (await openCashier(order.url, { redirectUrl: 'javascript:alert(1)' })).html,
      '商家参数格式有误',
    );
  });

  it.each([
    ['an unregistered host', 'https://evil.example/steal?order=7'],
    ['a registered host as a suffix only', 'http://127.0.0.1.evil.example/result.html'],
    ['credentials before an unregistered host', 'http://127.0.0.1@evil.example/result.html'],
  ])('refuses a redirect_url on %s with 商家存在未配置的参数', async (_what, redirectUrl) => {
    const order = await mweb();
    const page = await openCashier(order.url, { redirectUrl });
    expectError(page.html, '商家存在未配置的参数，请联系商家解决');
    expect(page.html).toContain('evil.example');
    expect(page.html).not.toContain('name="redirect_url"');
  });

  it('takes a redirect_url on any registered H5 domain, whatever its port and scheme', async () => {
    const order = await mweb();
    for (const redirectUrl of ['https://localhost:8443/shop/result.html', 'http://LOCALHOST/r?a=1&b=2']) {
      expect((await openCashier(order.url, { redirectUrl })).html, redirectUrl).toContain(
        'id="sandbox-h5-pay"',
      );
    }
  });

  it('refuses the mweb_url of a NATIVE trade', async () => {
    const native = await placeV2Channel(ctx.sb, 'NATIVE', ctx.receiver.url);
    const url = `${ctx.sb.url}/cgi-bin/mmpayweb-bin/checkmweb?prepay_id=${native.reply.prepay_id}&package=1`;
    expectError((await openCashier(url)).html, '商家参数格式有误');
  });

  it('expires 5 minutes after it was issued', async () => {
    const order = await mweb({}, clocked.sb);
    expect((await openCashier(order.url)).html).toContain('sandbox-h5-pay');
    await postJson(`${clocked.sb.url}/sandbox/clock`, { advance_ms: 5 * 60_000 + 1 });
    expectError((await openCashier(order.url)).html, '支付请求已失效');
  });

  it('a v3 h5_url expires the same way', async () => {
    const placed = await placeV3Channel(clocked.sb, 'h5', clocked.receiver.url);
    const url = String(placed.json.h5_url);
    expect((await openCashier(url)).html).toContain('sandbox-h5-pay');
    await postJson(`${clocked.sb.url}/sandbox/clock`, { advance_ms: 5 * 60_000 + 1 });
    expectError((await openCashier(url)).html, '支付请求已失效');
    expectError((await payCashier(clocked.sb, url)).html, '支付请求已失效');
  });
});

describe('POST /sandbox/h5/pay', () => {
  it('pays, notifies, and goes back to redirect_url; the page then says the order is paid', async () => {
    const order = await mweb();
    const page = await openCashier(order.url, { redirectUrl: BACK });
    expect(page.html).toContain(`name="redirect_url" value="${BACK.replace('&', '&amp;')}"`);
    const done = await payCashier(ctx.sb, order.url, { redirect_url: BACK });
    expect(done).toMatchObject({ status: 302, location: BACK });
    const notification = await v2NotificationFor(ctx.receiver, order.outTradeNo);
    expect(notification).toMatchObject({ trade_type: 'MWEB', result_code: 'SUCCESS' });
    expect(notification.openid).toMatch(/^o.{27}$/);
    expectError((await openCashier(order.url)).html, '该订单已支付');
    // A second submission is refused and recorded; WeChat still returns to the merchant's page.
    await payCashier(ctx.sb, order.url);
    const seen = await inspect(ctx.sb, order.outTradeNo);
    expect(seen.payments.map((p) => p.outcome)).toEqual(['success', 'refused']);
  });

  it('cancel leaves the trade unpaid and still returns to redirect_url', async () => {
    const order = await mweb();
    const done = await payCashier(ctx.sb, order.url, { redirect_url: BACK, outcome: 'cancel' });
    expect(done).toMatchObject({ status: 302, location: BACK });
    const seen = await inspect(ctx.sb, order.outTradeNo);
    expect(seen.state).toBe('NOTPAY');
    expect(seen.payments.map((p) => p.outcome)).toEqual(['cancel']);
  });

  it('without redirect_url shows a result page', async () => {
    const order = await mweb();
    const done = await payCashier(ctx.sb, order.url);
    expect(done.status).toBe(200);
    expect(done.html).toContain('id="sandbox-h5-result" data-outcome="success"');
  });

  it('never sends the buyer to an unregistered redirect_url, even from a forged form', async () => {
    const order = await mweb();
    const done = await payCashier(ctx.sb, order.url, { redirect_url: 'https://evil.example/' });
    expect(done.status).toBe(200);
    expect(done.location).toBeNull();
    expectError(done.html, '商家存在未配置的参数');
    expect((await inspect(ctx.sb, order.outTradeNo)).state).toBe('NOTPAY');
  });

  it('refuses to pay once the mweb_url is older than 5 minutes on the sandbox clock', async () => {
    const order = await mweb({}, clocked.sb);
    await postJson(`${clocked.sb.url}/sandbox/clock`, { advance_ms: 5 * 60_000 - 1_000 });
    expect((await openCashier(order.url)).html).toContain('id="sandbox-h5-pay"');
    await postJson(`${clocked.sb.url}/sandbox/clock`, { advance_ms: 2_000 });
    expectError((await payCashier(clocked.sb, order.url)).html, '支付请求已失效');
    expect((await inspect(clocked.sb, order.outTradeNo)).state).toBe('NOTPAY');
  });

  it('checks the link and the IP again', async () => {
    const order = await mweb({ spbill_create_ip: '198.51.100.23' });
    const done = await payCashier(ctx.sb, order.url);
    expectError(done.html, '网络环境未能通过安全验证');
    const forged = await submitCashier(ctx.sb, { prepay_id: order.link.prepayId, package: '1' });
    expectError(forged.html, '商家参数格式有误');
    expect((await inspect(ctx.sb, order.outTradeNo)).state).toBe('NOTPAY');
  });
});

describe('configuration', () => {
  it('SANDBOX_H5_DOMAINS decides the Referer hosts; SANDBOX_PUBLIC_URL the mweb_url host', async () => {
    const strict = await sandbox({ h5Domains: ['shop.example'], publicUrl: 'http://192.0.2.10:4010' });
    try {
      const order = await mweb({}, strict);
      expect(order.url.startsWith('http://192.0.2.10:4010/cgi-bin/mmpayweb-bin/checkmweb?')).toBe(true);
      const local = new URL(order.url.replace('http://192.0.2.10:4010', strict.url));
      expectError((await openCashier(local.toString())).html, '商家参数格式有误');
      const ok = await openCashier(local.toString(), { referer: 'https://shop.example/shop/pay.html' });
      expect(ok.html).toContain('sandbox-h5-pay');
    } finally {
      await strict.close();
    }
  });
});

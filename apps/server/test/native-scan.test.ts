/**
 * Native QR codes (docs/channels.md "Native"): the QR endpoint (owner only, an SVG of the open Native attempt's
 * code), and mode 1 (APIv2): a signed long link first, then the scan callback POST /wechatpay/native-scan that
 * places the trade when a buyer scans. Against the sandbox's scanner over HTTP, and with scans we sign
 * ourselves for what the scanner cannot be asked to send (forged signatures, scans of unpayable orders).
 */
import QRCode from 'qrcode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildNativeScanXml,
  parseNativeLongLink,
  parseNativeScanReply,
  parseXml,
  SANDBOX_DEMO,
  signV2,
  verifyNativeLongLink,
} from '@mp-pay/shared/wechatpay';
import { channelOrder, guestToken, launchOf, paymentFor, scan } from './helpers/channels.ts';
import { freePort } from './helpers/free-port.ts';
import {
  bearer,
  paidEvents,
  post,
  sandboxOrder,
  startStack,
  waitForStatus,
  type Stack,
} from './helpers/stack.ts';

async function qr(stack: Stack, orderId: string, token?: string) {
  const res = await fetch(`${stack.server.url}/api/orders/${orderId}/payment/qr.svg`, {
    headers: token ? bearer(token) : {},
  });
  return {
    status: res.status,
    type: res.headers.get('content-type'),
    cache: res.headers.get('cache-control'),
    text: await res.text(),
  };
}

describe('GET /api/orders/:id/payment/qr.svg', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ label: 'native-qr' });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it("draws the open Native attempt's code_url for the owner only", async () => {
    const token = await guestToken(stack.server);
    const { order, payment } = await channelOrder(stack.server, token, 'native');
    const { codeUrl } = launchOf(payment, 'native');
    const res = await qr(stack, order.id, token);
    expect(res.status).toBe(200);
    expect(res.type).toMatch(/^image\/svg\+xml/);
    expect(res.cache).toBe('no-store');
    expect(res.text.startsWith('<svg')).toBe(true);
    // The modules of the code for exactly this URL (level M), plus a 2-module margin on each side.
    const size = QRCode.create(codeUrl, { errorCorrectionLevel: 'M' }).modules.size;
    expect(res.text).toContain(`viewBox="0 0 ${size + 4} ${size + 4}"`);
    expect(res.text).toMatch(/<path[^>]+d="M[^"]{200,}"/);
    expect(res.text).toBe(
      await QRCode.toString(codeUrl, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 }),
    );

    // Someone else, or nobody, gets nothing.
    const other = await guestToken(stack.server);
    expect((await qr(stack, order.id, other)).status).toBe(404);
    expect(JSON.parse((await qr(stack, order.id, other)).text).error).toBe('order_not_found');
    expect((await qr(stack, order.id)).status).toBe(401);
  });

  it('has nothing to draw for an order paid another way', async () => {
    const token = await guestToken(stack.server);
    const { order } = await channelOrder(stack.server, token, 'app');
    const res = await qr(stack, order.id, token);
    expect(res.status).toBe(404);
    expect(JSON.parse(res.text).error).toBe('not_found');
    expect(JSON.parse(res.text).message).toMatch(/channel native/);
  });

  it('has nothing to draw once the order is paid', async () => {
    const token = await guestToken(stack.server);
    const { order, payment } = await channelOrder(stack.server, token, 'native');
    await scan(stack, launchOf(payment, 'native').codeUrl);
    await waitForStatus(stack.server, order.id, 'PAID');
    const res = await qr(stack, order.id, token);
    expect(res.status).toBe(409);
    expect(JSON.parse(res.text).error).toBe('order_already_paid');
  });

  it('has no scan callback in mode 2 of APIv3', async () => {
    const v3 = await startStack({ label: 'native-v3', env: { WECHATPAY_API_VERSION: 'v3' } });
    try {
      const res = await fetch(`${v3.server.url}/wechatpay/native-scan`, { method: 'POST', body: '<xml/>' });
      expect(res.status).toBe(404);
    } finally {
      await v3.close();
    }
  });
});

describe('Native mode 1 (APIv2): signed long link and scan callback', () => {
  let stack: Stack;
  const key = SANDBOX_DEMO.key;
  beforeAll(async () => {
    // WeChat takes the scan callback URL from the merchant platform; the sandbox from its config, up front.
    const port = await freePort();
    stack = await startStack({
      label: 'native-mode1',
      env: { WECHATPAY_NATIVE_MODE: '1' },
      serverPorts: [port],
      sandbox: { nativeCallbackUrl: `http://127.0.0.1:${port}/wechatpay/native-scan` },
    });
  });
  afterAll(async () => {
    await stack?.close();
  });

  const scanXml = (productId: string, options: { key?: string; openid?: string } = {}) =>
    buildNativeScanXml({
      appId: stack.server.config.wechat.appId,
      mchId: stack.server.config.wechatpay.mchId,
      key: options.key ?? key,
      openid: options.openid ?? 'oScanBuyer0000000000000000001',
      productId,
    });
  const postScan = async (xml: string) => {
    const res = await fetch(`${stack.server.url}/wechatpay/native-scan`, {
      method: 'POST',
      headers: { 'content-type': 'text/xml' },
      body: xml,
    });
    return { status: res.status, body: await res.text() };
  };

  const reasonOf = async (productId: string) => {
    const reply = parseNativeScanReply((await postScan(scanXml(productId))).body, key);
    return reply.resultCode === 'FAIL' ? reply.errCodeDes : reply.prepayId;
  };

  it('launches a signed long link naming the order, and places nothing yet', async () => {
    const token = await guestToken(stack.server);
    const { order, payment } = await channelOrder(stack.server, token, 'native');
    const { codeUrl } = launchOf(payment, 'native');
    const link = parseNativeLongLink(codeUrl);
    expect(link.mode).toBe(1);
    if (link.mode !== 1) return;
    expect(link.productId).toBe(order.id);
    expect(link.appId).toBe(stack.server.config.wechat.appId);
    expect(verifyNativeLongLink(codeUrl, key)).toBeUndefined();
    const res = await fetch(`${stack.sandbox.url}/sandbox/orders/${order.outTradeNo}`);
    expect(res.status).toBe(404);
    // The QR endpoint draws the long link.
    const svg = await qr(stack, order.id, token);
    expect(svg.text).toBe(
      await QRCode.toString(codeUrl, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 }),
    );
  });

  it('the buyer scans: WeChat asks our callback, we place the trade, the buyer pays, PAID once', async () => {
    const token = await guestToken(stack.server);
    const { order, payment } = await channelOrder(stack.server, token, 'native');
    const scanned = await scan(stack, launchOf(payment, 'native').codeUrl);
    expect(scanned.status, JSON.stringify(scanned.body)).toBe(200);
    expect(scanned.body).toMatchObject({ mode: 1, out_trade_no: order.outTradeNo });
    await waitForStatus(stack.server, order.id, 'PAID');
    expect(await paidEvents(stack.server, order.id)).toHaveLength(1);
    expect((await sandboxOrder(stack, order.outTradeNo)).state).toBe('SUCCESS');
  });

  it('a second scan (another buyer) gets the same trade: same prepay_id, same out_trade_no', async () => {
    const token = await guestToken(stack.server);
    const { order } = await channelOrder(stack.server, token, 'native');
    const first = parseNativeScanReply((await postScan(scanXml(order.id))).body, key);
    const second = parseNativeScanReply(
      (await postScan(scanXml(order.id, { openid: 'oScanBuyer0000000000000000002' }))).body,
      key,
    );
    expect(first.resultCode).toBe('SUCCESS');
    expect(second).toMatchObject({ resultCode: 'SUCCESS' });
    if (first.resultCode !== 'SUCCESS' || second.resultCode !== 'SUCCESS') return;
    expect(second.prepayId).toBe(first.prepayId);
    const attempts = await stack.server.store.attempts.listAttempts(order.id);
    expect(attempts).toHaveLength(1);
    expect(attempts[0]?.prepared?.prepayId).toBe(first.prepayId);
    // The long link stays the code the page shows.
    expect(attempts[0]?.prepared?.link).toMatch(/^weixin:\/\/wxpay\/bizpayurl\?sign=/);
    const atWechat = await sandboxOrder(stack, order.outTradeNo);
    expect(atWechat.state).toBe('NOTPAY');
  });

  it('a forged scan (wrong key, or no sign) gets HTTP 400 and the FAIL XML; nothing is placed', async () => {
    const token = await guestToken(stack.server);
    const { order } = await channelOrder(stack.server, token, 'native');
    const forged = await postScan(scanXml(order.id, { key: 'f'.repeat(32) }));
    expect(forged.status).toBe(400);
    expect(forged.body).toMatch(/<return_code>(<!\[CDATA\[)?FAIL(\]\]>)?<\/return_code>/);
    expect(forged.body).not.toMatch(/prepay_id/);
    const unsigned = await postScan(scanXml(order.id).replace(/<sign>.*<\/sign>/, ''));
    expect(unsigned.status).toBe(400);
    const hostile = await postScan('<!DOCTYPE x [<!ENTITY a "b">]><xml><a>&a;</a></xml>');
    expect(hostile.status).toBe(400);
    expect((await fetch(`${stack.sandbox.url}/sandbox/orders/${order.outTradeNo}`)).status).toBe(404);
    expect(
      (await stack.server.store.attempts.getAttempt(order.outTradeNo))?.prepared?.prepayId,
    ).toBeUndefined();
  });

  it('an order that cannot be paid gets result_code FAIL with the reason, signed', async () => {
    const token = await guestToken(stack.server);
    const reason = async (productId: string) => {
      const res = await postScan(scanXml(productId));
      expect(res.status).toBe(200);
      const reply = parseNativeScanReply(res.body, key);
      expect(reply.resultCode).toBe('FAIL');
      return reply.resultCode === 'FAIL' ? reply.errCodeDes : '';
    };
    expect(await reason('20260101000000abcdef0123')).toBe('订单不存在');
    expect(await reason('not-an-order')).toBe('订单不存在');

    // Paid.
    const paid = await channelOrder(stack.server, token, 'native');
    await scan(stack, launchOf(paid.payment, 'native').codeUrl);
    await waitForStatus(stack.server, paid.order.id, 'PAID');
    expect(await reason(paid.order.id)).toBe('订单已支付');

    // Switched to another channel: its open attempt is not a Native one.
    const switched = await channelOrder(stack.server, token, 'app');
    expect(await reason(switched.order.id)).toBe('订单已更换支付方式');

    // Closed by the buyer (the attempt was never placed, so it closes at once).
    const closed = await channelOrder(stack.server, token, 'native');
    const res = await fetch(
      `${stack.server.url}/api/orders/${closed.order.id}/close`,
      post({}, bearer(token)),
    );
    expect(res.status).toBe(200);
    expect(await reason(closed.order.id)).toBe('订单已关闭');
    expect((await fetch(`${stack.sandbox.url}/sandbox/orders/${closed.order.outTradeNo}`)).status).toBe(404);
  });

  it('two concurrent scans of one link place one trade and get the same prepay_id', async () => {
    const token = await guestToken(stack.server);
    const { order, payment } = await channelOrder(stack.server, token, 'native');
    const replies = await Promise.all(
      ['oScanBuyer0000000000000000003', 'oScanBuyer0000000000000000004', undefined].map((openid) =>
        postScan(scanXml(order.id, openid === undefined ? {} : { openid })),
      ),
    );
    const ids = replies.map((r) => {
      const reply = parseNativeScanReply(r.body, key);
      expect(reply.resultCode).toBe('SUCCESS');
      return reply.resultCode === 'SUCCESS' ? reply.prepayId : '';
    });
    expect(new Set(ids).size).toBe(1);
    const attempt = await stack.server.store.attempts.getAttempt(order.outTradeNo);
    expect(attempt?.prepared).toMatchObject({ prepayId: ids[0], link: launchOf(payment, 'native').codeUrl });
    expect(await stack.server.store.attempts.listAttempts(order.id)).toHaveLength(1);
    expect((await sandboxOrder(stack, order.outTradeNo)).state).toBe('NOTPAY');
    // And the scanner's own scans, at once: one payment, through that one trade.
    const scans = await Promise.all([
      scan(stack, attempt?.prepared?.link ?? ''),
      scan(stack, attempt?.prepared?.link ?? ''),
    ]);
    expect(scans.some((s) => s.status === 200)).toBe(true);
    for (const s of scans)
      if (s.status === 200) expect(s.body).toMatchObject({ out_trade_no: order.outTradeNo });
    await waitForStatus(stack.server, order.id, 'PAID');
    expect(await paidEvents(stack.server, order.id)).toHaveLength(1);
  });

  it("a scan of a superseded attempt's link is refused and places nothing", async () => {
    const token = await guestToken(stack.server);
    const { order, payment } = await channelOrder(stack.server, token, 'native');
    const link = launchOf(payment, 'native').codeUrl;
    const switched = await paymentFor(stack.server, token, order.id, { channel: 'app' });
    expect(switched.status).toBe(200);
    const scanned = await scan(stack, link);
    expect(scanned.status).toBe(409);
    expect(JSON.stringify(scanned.body)).toMatch(/订单已更换支付方式/);
    expect((await fetch(`${stack.sandbox.url}/sandbox/orders/${order.outTradeNo}`)).status).toBe(404);
    const [first, second] = await stack.server.store.attempts.listAttempts(order.id);
    expect(first).toMatchObject({ state: 'ENDED', endReason: 'superseded' });
    expect(first?.prepared?.prepayId).toBeUndefined();
    expect((await sandboxOrder(stack, second?.outTradeNo ?? '')).trade_type).toBe('APP');
  });

  it('a close ends a link-only attempt first, like one never placed: WeChat not knowing it proves nothing yet', async () => {
    const token = await guestToken(stack.server);
    const { order } = await channelOrder(stack.server, token, 'native');
    const res = await fetch(`${stack.server.url}/api/orders/${order.id}/close`, post({}, bearer(token)));
    expect(res.status).toBe(200);
    // Not CLOSED on WeChat's "unknown trade": a scan's placing may still be in flight, so it is checked again.
    expect(await stack.server.store.attempts.getAttempt(order.outTradeNo)).toMatchObject({
      state: 'ENDED',
      endReason: 'closing',
    });
    // A scan that read the attempt OPEN just before records nothing: the compare-and-set refuses.
    expect(
      await stack.server.store.attempts.setScanPrepay(order.outTradeNo, 'wx-late', Date.now()),
    ).toMatchObject({
      kind: 'not_open',
    });
    expect(await reasonOf(order.id)).toBe('订单已关闭');
  });

  it('close racing scans: the cancel always takes effect, and no scan after it gets a prepay_id', async () => {
    // The scans start from 0 to 15 ms after the close, so that either side wins some rounds.
    const token = await guestToken(stack.server); // one buyer: guest sessions are rate-limited per address
    for (let round = 0; round < 16; round++) {
      const { order, payment } = await channelOrder(stack.server, token, 'native');
      const link = launchOf(payment, 'native').codeUrl;
      const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));
      const [close, , scanned] = await Promise.all([
        fetch(`${stack.server.url}/api/orders/${order.id}/close`, post({}, bearer(token))),
        delay(round).then(() => postScan(scanXml(order.id))),
        delay(round).then(() => scan(stack, link)),
        delay(round / 2).then(() => postScan(scanXml(order.id, { openid: 'oScanBuyer0000000000000000005' }))),
      ]);
      if (close.status !== 200) {
        // Only a payment that landed first stops a cancel (a trade too young to close at WeChat is closed later).
        expect(close.status, `round ${round}`).toBe(409);
        await waitForStatus(stack.server, order.id, 'PAID');
        continue;
      }
      // After the cancel, no scan is answered with a prepay_id.
      const after = await postScan(scanXml(order.id, { openid: 'oScanBuyer0000000000000000006' }));
      expect(parseNativeScanReply(after.body, key).resultCode, `round ${round}`).not.toBe('SUCCESS');
      if (scanned.status === 200) {
        // The scanner paid with a prepay_id answered before the cancel landed: WeChat took the money, so the
        // order is PAID (mark-paid.lua), once.
        await waitForStatus(stack.server, order.id, 'PAID');
        expect(await paidEvents(stack.server, order.id)).toHaveLength(1);
      } else {
        await delay(50);
        expect((await stack.server.store.orders.getOrder(order.id))?.status, `round ${round}`).toBe('CLOSED');
        expect(await paidEvents(stack.server, order.id)).toHaveLength(0);
      }
    }
  });
});

describe('Native mode 1 with WECHATPAY_SIGN_TYPE=HMAC-SHA256', () => {
  let stack: Stack;
  beforeAll(async () => {
    const port = await freePort();
    stack = await startStack({
      label: 'native-mode1-hmac',
      env: { WECHATPAY_NATIVE_MODE: '1', WECHATPAY_SIGN_TYPE: 'HMAC-SHA256' },
      serverPorts: [port],
      sandbox: { nativeCallbackUrl: `http://127.0.0.1:${port}/wechatpay/native-scan` },
    });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('signs the long link and the scan reply with MD5 (they carry no sign_type), so WeChat accepts both', async () => {
    const token = await guestToken(stack.server);
    const { order, payment } = await channelOrder(stack.server, token, 'native');
    const link = launchOf(payment, 'native').codeUrl;
    expect(verifyNativeLongLink(link, SANDBOX_DEMO.key)).toBeUndefined();
    const parsed = parseNativeLongLink(link);
    if (parsed.mode !== 1) throw new Error('expected a mode-1 long link');
    expect(parsed.params.sign).toBe(signV2(parsed.params, SANDBOX_DEMO.key, 'MD5'));
    // The scan reply too (a scan signed as WeChat does, with MD5).
    const res = await fetch(`${stack.server.url}/wechatpay/native-scan`, {
      method: 'POST',
      headers: { 'content-type': 'text/xml' },
      body: buildNativeScanXml({
        appId: stack.server.config.wechat.appId,
        mchId: stack.server.config.wechatpay.mchId,
        key: SANDBOX_DEMO.key,
        openid: 'oScanBuyer0000000000000000009',
        productId: order.id,
      }),
    });
    const reply = parseXml(await res.text());
    expect(reply.prepay_id).toBeTruthy();
    expect(reply.sign).toBe(signV2(reply, SANDBOX_DEMO.key, 'MD5'));
    const scanned = await scan(stack, link);
    expect(scanned.status, JSON.stringify(scanned.body)).toBe(200);
    await waitForStatus(stack.server, order.id, 'PAID');
    expect(await paidEvents(stack.server, order.id)).toHaveLength(1);
  });
});

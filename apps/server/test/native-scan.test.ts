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
  SANDBOX_DEMO,
  verifyNativeLongLink,
} from '@mp-pay/shared/wechatpay';
import { channelOrder, guestToken, launchOf, scan } from './helpers/channels.ts';
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
    expect(attempts[0]?.prepared?.codeUrl).toMatch(/^weixin:\/\/wxpay\/bizpayurl\?sign=/);
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
});

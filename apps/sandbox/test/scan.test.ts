/**
 * The scanner (docs/channels.md): mode-2 code_urls pay their trade; mode-1 long links are verified, the
 * merchant's scan callback (a real HTTP server here, playing the merchant with @mp-pay/shared's Native
 * helpers and a real NATIVE unifiedorder) is called with the signed scan XML, its signed reply verified and
 * its prepay_id paid.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nativeLongLink, nativeScanReplyXml, verifyNativeScan, type XmlMap } from '@mp-pay/shared/wechatpay';
import type { RunningSandbox } from '../src/index.ts';
import {
  callV2,
  DEMO,
  inspect,
  loginCode,
  NotifyReceiver,
  postJson,
  sandbox,
  useSandboxAndReceiver,
} from './helpers.ts';
import { placeV2Channel, placeV3Channel, scanCode, scanPage, v2NotificationFor } from './channel-helpers.ts';

type MerchantMode = 'place' | 'fail' | 'bad-sign' | 'jsapi-prepay' | 'http-500';

let sb: RunningSandbox;
let receiver: NotifyReceiver;
let merchant: Server;
let merchantMode: MerchantMode = 'place';
const scans: Array<{ raw: XmlMap; body: string }> = [];
const placedFor = new Map<string, string>(); // product_id → out_trade_no

beforeAll(async () => {
  receiver = await NotifyReceiver.start();
  // The merchant's POST /wechatpay/native-scan, as docs/channels.md describes the server's.
  merchant = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const scan = verifyNativeScan(body, { key: DEMO.key, appId: DEMO.appId, mchId: DEMO.mchId });
        scans.push({ raw: { ...scan.raw }, body });
        const reply = (xml: string) => {
          res.writeHead(200, { 'content-type': 'text/xml' });
          res.end(xml);
        };
        if (merchantMode === 'http-500') {
          res.writeHead(500);
          return res.end('oops');
        }
        if (merchantMode === 'fail') {
          return reply(
            nativeScanReplyXml({
              appId: DEMO.appId,
              mchId: DEMO.mchId,
              key: DEMO.key,
              errCodeDes: '订单已失效',
            }),
          );
        }
        let prepayId: string;
        if (merchantMode === 'jsapi-prepay') {
          const { openid } = await loginCode(sb, 'scan-merchant');
          const placed = await callV2(sb, '/pay/unifiedorder', {
            body: 'jsapi',
            out_trade_no: `J${Date.now()}`,
            total_fee: 1,
            spbill_create_ip: '127.0.0.1',
            notify_url: receiver.url,
            trade_type: 'JSAPI',
            openid,
          });
          prepayId = String(placed.prepay_id);
        } else {
          const placed = await placeV2Channel(sb, 'NATIVE', receiver.url, {
            product_id: scan.productId,
            total_fee: 4200,
          });
          placedFor.set(scan.productId, placed.outTradeNo);
          prepayId = String(placed.reply.prepay_id);
        }
        const key = merchantMode === 'bad-sign' ? 'k'.repeat(32) : DEMO.key;
        reply(nativeScanReplyXml({ appId: DEMO.appId, mchId: DEMO.mchId, key, prepayId }));
      })();
    });
  });
  await new Promise<void>((resolve) => merchant.listen(0, '127.0.0.1', resolve));
  const { port } = merchant.address() as AddressInfo;
  sb = await sandbox({ nativeCallbackUrl: `http://127.0.0.1:${port}/wechatpay/native-scan` });
});
afterAll(async () => {
  await sb.close();
  await receiver.close();
  merchant.closeAllConnections();
  await new Promise((resolve) => merchant.close(resolve));
});

const scan = (body: Record<string, unknown>) => scanCode(sb, body);
const longLink = (productId: string, key: string = DEMO.key) =>
  nativeLongLink({ appId: DEMO.appId, mchId: DEMO.mchId, productId, key });

describe('mode 2: code_url', () => {
  it('the page shows the amount and merchant, with the pay button and the result area', async () => {
    const placed = await placeV2Channel(sb, 'NATIVE', receiver.url, { body: '<咖啡>' });
    const res = await fetch(
      `${sb.url}/sandbox/scan?url=${encodeURIComponent(String(placed.reply.code_url))}`,
    );
    const html = await res.text(); // fetched here, not with scanPage: the cookie header is checked too
    expect(html).toContain('id="sandbox-scan-amount">¥25.00<');
    expect(html).toContain('&lt;咖啡&gt;');
    expect(html).toContain(`id="sandbox-scan-merchant">${DEMO.mchId}<`);
    expect(html).toContain('id="sandbox-scan-pay"');
    expect(html).toContain('id="sandbox-scan-result"');
    expect(res.headers.get('set-cookie')).toMatch(/^sandbox_wx_user=/);
  });

  it('pays with a given openid (issued for that AppID) or refuses one that was not issued', async () => {
    const placed = await placeV2Channel(sb, 'NATIVE', receiver.url);
    const refused = await scan({ url: placed.reply.code_url, openid: 'o'.repeat(28) });
    expect(refused.status).toBe(400);
    expect(refused.json).toMatchObject({ error: 'OPENID_INVALID' });
    const { openid } = await loginCode(sb, 'scanner-bob');
    const paid = await scan({ url: placed.reply.code_url, openid });
    expect(paid.json).toMatchObject({ mode: 2, outcome: 'success', openid });
    const again = await scan({ url: placed.reply.code_url });
    expect(again).toMatchObject({ status: 409, json: { message: '该订单已支付' } });
  });

  it('cancel leaves the trade unpaid', async () => {
    const placed = await placeV2Channel(sb, 'NATIVE', receiver.url);
    const res = await scan({ url: placed.reply.code_url, outcome: 'cancel' });
    expect(res.json).toMatchObject({ outcome: 'cancel' });
    expect((await inspect(sb, placed.outTradeNo)).state).toBe('NOTPAY');
  });

  it.each([
    ['no url', {}, 400, 'BAD_LINK'],
    ['a web URL', { url: 'https://example.com/pay' }, 400, 'BAD_LINK'],
    ['an unknown pr', { url: 'weixin://wxpay/bizpayurl?pr=ZZZZZZZZ' }, 404, 'CODE_NOT_FOUND'],
    [
      'an unknown outcome',
      { url: 'weixin://wxpay/bizpayurl?pr=ZZZZZZZZ', outcome: 'maybe' },
      400,
      'BAD_REQUEST',
    ],
  ])('answers %s with %i %s', async (_what, body, status, id) => {
    const res = await scan(body);
    expect(res.status).toBe(status);
    expect(res.json).toMatchObject({ error: id });
  });

  it('the page explains a code it cannot read', async () => {
    const html = await scanPage(sb, '<x>');
    expect(html).toContain('id="sandbox-scan-error"');
    expect(html).not.toContain('<x>');
  });
});

describe('mode 2: a code_url that can no longer be paid', () => {
  const clocked = useSandboxAndReceiver({ timeScale: 1 }); // moved only by /sandbox/clock
  const TWO_HOURS = 2 * 60 * 60_000;
  const expectRefusedPage = (html: string, message: string) => {
    expect(html).toContain('id="sandbox-scan-error"');
    expect(html).toContain(message);
    expect(html).not.toContain('id="sandbox-scan-pay"');
  };

  it('the page of a paid code says so instead of offering to pay again', async () => {
    const placed = await placeV2Channel(sb, 'NATIVE', receiver.url);
    expect((await scan({ url: placed.reply.code_url })).status).toBe(200);
    expectRefusedPage(await scanPage(sb, placed.reply.code_url), '该订单已支付');
  });

  it('the page and the scan of a closed code answer 订单已关闭, and the refusal is recorded', async () => {
    const placed = await placeV2Channel(sb, 'NATIVE', receiver.url);
    await callV2(sb, '/pay/closeorder', { out_trade_no: placed.outTradeNo });
    expectRefusedPage(await scanPage(sb, placed.reply.code_url), '订单已关闭');
    expect(await scan({ url: placed.reply.code_url })).toMatchObject({
      status: 409,
      json: { error: 'NOT_PAYABLE', message: '订单已关闭' },
    });
    expect((await inspect(sb, placed.outTradeNo)).payments.map((p) => p.outcome)).toEqual(['refused']);
  });

  it('a code_url lives 2 hours on the sandbox clock', async () => {
    const placed = await placeV2Channel(clocked.sb, 'NATIVE', clocked.receiver.url);
    await postJson(`${clocked.sb.url}/sandbox/clock`, { advance_ms: TWO_HOURS - 60_000 });
    expect(await scanPage(clocked.sb, placed.reply.code_url)).toContain('id="sandbox-scan-pay"');
    await postJson(`${clocked.sb.url}/sandbox/clock`, { advance_ms: 60_000 });
    expectRefusedPage(await scanPage(clocked.sb, placed.reply.code_url), '二维码已过期');
    const res = await scanCode(clocked.sb, { url: placed.reply.code_url });
    expect(res).toMatchObject({ status: 409, json: { error: 'NOT_PAYABLE' } });
    expect((res.json as { message: string }).message).toMatch(/^二维码已过期/);
    const seen = await inspect(clocked.sb, placed.outTradeNo);
    expect(seen.state).toBe('NOTPAY');
    expect(seen.payments.map((p) => p.outcome)).toEqual(['refused']);
  });

  it('a v3 native code_url lives 2 hours too', async () => {
    const placed = await placeV3Channel(clocked.sb, 'native', clocked.receiver.url);
    await postJson(`${clocked.sb.url}/sandbox/clock`, { advance_ms: TWO_HOURS });
    expectRefusedPage(await scanPage(clocked.sb, placed.json.code_url), '二维码已过期');
    expect((await scanCode(clocked.sb, { url: placed.json.code_url })).status).toBe(409);
  });

  it('a code scanned just in time still pays', async () => {
    const placed = await placeV2Channel(clocked.sb, 'NATIVE', clocked.receiver.url);
    await postJson(`${clocked.sb.url}/sandbox/clock`, { advance_ms: TWO_HOURS - 60_000 });
    const res = await scanCode(clocked.sb, { url: placed.reply.code_url });
    expect(res).toMatchObject({ status: 200, json: { mode: 2, outcome: 'success' } });
  });
});

describe('mode 1: the signed long link and the merchant scan callback', () => {
  it('verifies the link, posts the signed scan XML, pays the prepay_id the merchant answers', async () => {
    merchantMode = 'place';
    const productId = `P${Date.now()}`;
    const before = scans.length;
    const res = await scan({ url: longLink(productId) });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ mode: 1, outcome: 'success', product_id: productId, total_fee: 4200 });
    const received = scans[before];
    expect(Object.keys(received?.raw ?? {}).sort()).toEqual(
      ['appid', 'is_subscribe', 'mch_id', 'nonce_str', 'openid', 'product_id', 'sign'].sort(),
    );
    expect(received?.raw).toMatchObject({
      appid: DEMO.appId,
      mch_id: DEMO.mchId,
      product_id: productId,
      is_subscribe: 'N',
    });
    expect(received?.raw.openid).toBe(res.json.openid);
    const outTradeNo = String(placedFor.get(productId));
    expect(res.json.out_trade_no).toBe(outTradeNo);
    const notification = await v2NotificationFor(receiver, outTradeNo);
    expect(notification).toMatchObject({ trade_type: 'NATIVE', openid: res.json.openid });
  });

  it('the page of a long link names the product and the merchant', async () => {
    const html = await scanPage(sb, longLink('SKU-9'));
    expect(html).toContain('data-mode="1"');
    expect(html).toContain('SKU-9');
  });

  it('refuses a link signed with another key without calling the merchant', async () => {
    const before = scans.length;
    const res = await scan({ url: longLink('SKU-1', 'k'.repeat(32)) });
    expect(res).toMatchObject({ status: 400, json: { error: 'SIGN_ERROR' } });
    const tampered = longLink('SKU-1').replace('product_id=SKU-1', 'product_id=SKU-2');
    expect((await scan({ url: tampered })).json).toMatchObject({ error: 'SIGN_ERROR' });
    expect(scans.length).toBe(before);
  });

  it.each([
    ['fail', 409, 'MERCHANT_FAIL', '订单已失效'],
    ['bad-sign', 502, 'BAD_REPLY', 'signature'],
    ['jsapi-prepay', 502, 'BAD_REPLY', 'NATIVE'],
    ['http-500', 502, 'MERCHANT_ERROR', 'HTTP 500'],
  ] as const)('a merchant answering %s: %i %s', async (mode, status, id, text) => {
    merchantMode = mode;
    try {
      const res = await scan({ url: longLink(`M${Date.now()}`) });
      expect(res.status).toBe(status);
      expect(res.json).toMatchObject({ error: id, message: expect.stringContaining(text) });
    } finally {
      merchantMode = 'place';
    }
  });

  it('POST /sandbox/native-callback changes the callback URL at run time', async () => {
    const lonely = await sandbox({ nativeCallbackUrl: 'http://127.0.0.1:9/wechatpay/native-scan' });
    try {
      const current = sb.config.nativeCallbackUrl;
      expect((await postJson(`${lonely.url}/sandbox/native-callback`, { url: 'nope' })).status).toBe(400);
      expect(await postJson(`${lonely.url}/sandbox/native-callback`, { url: current })).toEqual({
        status: 200,
        json: { url: current },
      });
      // The merchant places its trade on `sb`, so the scan of `lonely` gets a prepay_id it does not know.
      merchantMode = 'place';
      const res = await scanCode(lonely, { url: longLink(`R${Date.now()}`) });
      expect(res).toMatchObject({ status: 502, json: { error: 'BAD_REPLY' } });
    } finally {
      await lonely.close();
    }
  });

  it('an unreachable scan callback is 502 MERCHANT_UNREACHABLE', async () => {
    const lonely = await sandbox({ nativeCallbackUrl: 'http://127.0.0.1:9/wechatpay/native-scan' });
    try {
      const res = await scanCode(lonely, { url: longLink('SKU-1') });
      expect(res).toMatchObject({ status: 502, json: { error: 'MERCHANT_UNREACHABLE' } });
    } finally {
      await lonely.close();
    }
  });
});

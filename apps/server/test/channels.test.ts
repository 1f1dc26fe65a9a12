/**
 * Every payment channel end to end, APIv2 and APIv3 (docs/channels.md), against the real sandbox over HTTP and
 * real Redis: the order is placed for the channel, the launch has the channel's kind and AppID, the buyer pays
 * through the sandbox's stand-in for their WeChat (APP payer, scanner, H5 cashier, JSAPI after OAuth), and the
 * notification makes the order PAID exactly once. Plus who may pay through which channel, and switching
 * channels on an open order.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClientConfigResponse, PaymentChannel } from '@mp-pay/shared/api';
import {
  channelOrder,
  guestToken,
  launchOf,
  oauthSignIn,
  payApp,
  payH5,
  payJsapi,
  paymentFor,
  placeChannelOrder,
  scan,
} from './helpers/channels.ts';
import { SANDBOX_DEMO } from '@mp-pay/shared/wechatpay';
import { startServer } from '../src/index.ts';
import { notificationXml, postNotification, SUCCESS_REPLY } from './helpers/notification.ts';
import { TEST_REDIS_URL, waitFor } from './helpers/redis.ts';
import {
  bearer,
  json,
  paidEvents,
  sandboxOrder,
  signIn,
  startStack,
  storedStatus,
  waitForStatus,
  type Stack,
} from './helpers/stack.ts';

describe.each(['v2', 'v3'] as const)('every channel in API%s', (version) => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ label: `channels-${version}`, env: { WECHATPAY_API_VERSION: version } });
  });
  afterAll(async () => {
    await stack?.close();
  });

  const appIds = () => stack.server.config.channels;

  /** The order became PAID once, with one order.paid event, and WeChat got its acknowledgement. */
  async function paidOnce(orderId: string, outTradeNo: string) {
    await waitForStatus(stack.server, orderId, 'PAID');
    expect(await paidEvents(stack.server, orderId)).toHaveLength(1);
    const view = await sandboxOrder(stack, outTradeNo);
    expect(view.state).toBe('SUCCESS');
    // The notification (naming the channel's AppID) was verified and acknowledged, through the one path.
    await waitFor(
      async () =>
        (await sandboxOrder(stack, outTradeNo)).notifications.some(
          (n) => n.kind === 'genuine' && n.outcome === 'acknowledged',
        ),
      `the notification of ${outTradeNo} to be acknowledged`,
    );
    expect(await paidEvents(stack.server, orderId)).toHaveLength(1);
    const stored = await stack.server.store.orders.getOrder(orderId);
    expect(stored?.paidAttempt).toBe(outTradeNo);
  }

  it('APP: a guest pays through the OpenSDK fields signed for the app AppID', async () => {
    const token = await guestToken(stack.server);
    const { order, payment } = await channelOrder(stack.server, token, 'app');
    const app = launchOf(payment, 'app');
    expect(app.appId).toBe(appIds().app?.appId);
    expect(app.partnerId).toBe(stack.server.config.wechatpay.mchId);
    expect(app.package).toBe('Sign=WXPay');
    const paid = await payApp(stack, payment);
    expect(paid.body).toMatchObject({ errCode: 0 });
    await paidOnce(order.id, order.outTradeNo);
  });

  it('Native: a guest gets a code_url, the buyer scans it, the order is paid', async () => {
    const token = await guestToken(stack.server);
    const { order, payment } = await channelOrder(stack.server, token, 'native');
    const native = launchOf(payment, 'native');
    expect(native.codeUrl).toMatch(/^weixin:\/\/wxpay\/bizpayurl\?pr=/);
    const scanned = await scan(stack, native.codeUrl);
    expect(scanned.status).toBe(200);
    await paidOnce(order.id, order.outTradeNo);
  });

  it('H5: the cashier opened from our page pays and returns the buyer to the result page', async () => {
    const token = await guestToken(stack.server);
    const { order, payment } = await channelOrder(stack.server, token, 'h5');
    const h5 = launchOf(payment, 'h5');
    const resultPage = `${stack.server.url}/shop/result.html?order=${order.id}`;
    expect(h5.redirectUrl.endsWith(`&redirect_url=${encodeURIComponent(resultPage)}`)).toBe(true);
    const back = await payH5(stack, payment);
    expect(back.status).toBe(302);
    expect(back.location).toBe(resultPage);
    await paidOnce(order.id, order.outTradeNo);
  });

  it('official account: OAuth sign-in, then JSAPI with the official account AppID and its openid', async () => {
    const trip = await oauthSignIn(stack, '/shop/pay.html?order=x');
    expect(trip.location.startsWith('/shop/pay.html?order=x#session=')).toBe(true);
    const token = trip.fragment.get('session') as string;
    expect(Number(trip.fragment.get('expiresIn'))).toBeGreaterThan(0);
    const { order, payment } = await channelOrder(stack.server, token, 'official_account');
    const jsapi = launchOf(payment, 'jsapi');
    expect(jsapi.appId).toBe(appIds().officialAccount?.appId);
    expect(await payJsapi(stack, payment)).toBe('requestPayment:ok');
    await paidOnce(order.id, order.outTradeNo);
    // The session is an official-account one: the mini-program channel is not its to use.
    const mp = await placeChannelOrder(stack.server, token, 'miniprogram');
    expect(mp.status).toBe(400);
    expect(mp.body.error).toBe('channel_not_available');
  });

  it.each(['miniprogram', 'official_account'] as PaymentChannel[])(
    'a guest cannot pay through %s (it needs an openid)',
    async (channel) => {
      const token = await guestToken(stack.server);
      const res = await placeChannelOrder(stack.server, token, channel);
      expect(res.status).toBe(400);
      expect(res.body.error).toBe('channel_not_available');
      expect(res.body.message).toMatch(/Sign in/);
    },
  );

  it('a mini-program buyer may also pay by QR code or in the app (no openid needed)', async () => {
    const token = await signIn(stack, 'channels-mp-buyer');
    const { payment } = await channelOrder(stack.server, token, 'native');
    expect(payment.kind).toBe('native');
    const app = await channelOrder(stack.server, token, 'app');
    expect(launchOf(app.payment, 'app').appId).toBe(appIds().app?.appId);
  });

  it('switches channel: POST /payment {channel} opens a new attempt for it, superseding the open one', async () => {
    const token = await guestToken(stack.server);
    const { order, payment } = await channelOrder(stack.server, token, 'native');
    expect(payment.kind).toBe('native');
    // Same channel (or none): the same attempt.
    const same = await paymentFor(stack.server, token, order.id, { channel: 'native' });
    expect(same.status).toBe(200);
    expect(same.body.order.outTradeNo).toBe(order.outTradeNo);
    const none = await paymentFor(stack.server, token, order.id);
    expect(none.body.order.outTradeNo).toBe(order.outTradeNo);
    // Another channel: a new out_trade_no for it; the old attempt ended, to be closed at WeChat.
    const switched = await paymentFor(stack.server, token, order.id, { channel: 'h5' });
    expect(switched.status).toBe(200);
    expect(switched.body.payment.kind).toBe('h5');
    expect(switched.body.order.outTradeNo).not.toBe(order.outTradeNo);
    const first = await stack.server.store.attempts.getAttempt(order.outTradeNo);
    expect(first).toMatchObject({ state: 'ENDED', endReason: 'superseded' });
    await payH5(stack, switched.body.payment);
    await paidOnce(order.id, switched.body.order.outTradeNo);
    // A channel the session cannot use is refused before anything changes.
    const refused = await paymentFor(stack.server, token, order.id, { channel: 'bogus' as PaymentChannel });
    expect(refused.status).toBe(400);
    expect(refused.body.error).toBe('invalid_request');
  });

  it('refuses a channel switch the session cannot pay through, keeping the open attempt', async () => {
    const token = await guestToken(stack.server);
    const { order } = await channelOrder(stack.server, token, 'app');
    const res = await paymentFor(stack.server, token, order.id, { channel: 'miniprogram' });
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('channel_not_available');
    const attempt = await stack.server.store.attempts.getAttempt(order.outTradeNo);
    expect(attempt?.state).toBe('OPEN');
  });

  it.runIf(version === 'v2')(
    'accepts notifications naming the APP or the official-account AppID, and refuses an unbound one',
    async () => {
      const token = await guestToken(stack.server);
      const cases = [
        { appId: appIds().app?.appId as string, status: 200 },
        { appId: appIds().officialAccount?.appId as string, status: 200 },
        { appId: 'wx00000000000000ff', status: 400 },
      ];
      for (const { appId, status } of cases) {
        const { order } = await channelOrder(stack.server, token, 'app');
        const reply = await postNotification(
          stack.server,
          notificationXml(
            stack.server,
            {
              outTradeNo: order.outTradeNo,
              totalFee: order.totalFen,
              appId,
              transactionId: `42000${Date.now()}`,
            },
            SANDBOX_DEMO.key,
          ),
        );
        expect(reply.status, appId).toBe(status);
        if (status === 200) {
          expect(reply.body).toMatch(SUCCESS_REPLY);
          await waitForStatus(stack.server, order.id, 'PAID');
          expect(await paidEvents(stack.server, order.id)).toHaveLength(1);
        } else {
          expect(await storedStatus(stack.server, order.id)).toBe('PENDING');
        }
      }
    },
  );

  it('GET /api/config lists the channels sandbox mode offers', async () => {
    const config = await json<ClientConfigResponse>(await fetch(`${stack.server.url}/api/config`));
    expect(config.channels).toEqual(['miniprogram', 'official_account', 'app', 'h5', 'native']);
  });

  it('POST /api/session/guest gives a working session with no WeChat identity', async () => {
    const res = await fetch(`${stack.server.url}/api/session/guest`, { method: 'POST' });
    expect(res.status).toBe(201);
    const body = await json<{ token: string; expiresIn: number }>(res);
    expect(body.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(body.expiresIn).toBe(stack.server.config.sessions.ttlSeconds);
    const list = await fetch(`${stack.server.url}/api/orders`, { headers: bearer(body.token) });
    expect(list.status).toBe(200);
  });

  // Last in this block: it moves the clocks forward.
  it('H5: a launch asked for after 4.5 minutes re-places the trade for a fresh URL (mweb_url lives 5)', async () => {
    const token = await guestToken(stack.server);
    const { order, payment } = await channelOrder(stack.server, token, 'h5');
    const first = launchOf(payment, 'h5').redirectUrl;
    // Soon after: the same URL, nothing placed again.
    const soon = await paymentFor(stack.server, token, order.id);
    expect(launchOf(soon.body.payment, 'h5').redirectUrl).toBe(first);
    const placedAt = (await stack.server.store.attempts.getAttempt(order.outTradeNo))?.preparedAt as number;
    await stack.advanceClock(280_000);
    const later = await paymentFor(stack.server, token, order.id);
    expect(later.status).toBe(200);
    expect(later.body.order.outTradeNo).toBe(order.outTradeNo);
    const fresh = launchOf(later.body.payment, 'h5').redirectUrl;
    expect(fresh).not.toBe(first);
    const attempt = await stack.server.store.attempts.getAttempt(order.outTradeNo);
    expect(attempt?.preparedAt).toBeGreaterThan(placedAt + 270_000);
    expect(await stack.server.store.attempts.listAttempts(order.id)).toHaveLength(1);
    if (version === 'v2') {
      // The first URL is now past its 5 minutes at WeChat. (Not in v3: the sandbox signs v3 notifications with
      // the real time, which the server's moved clock would then find more than 5 minutes old.)
      await stack.advanceClock(60_000);
      await expect(payH5(stack, payment)).rejects.toThrow(/no cashier form/);
    }
    await payH5(stack, later.body.payment);
    await paidOnce(order.id, order.outTradeNo);
  });
});

describe('a live configuration without an official account or an app', () => {
  let stack: Stack;
  beforeAll(async () => {
    // Live mode (WECHATPAY_MODE=live) against the sandbox with the demo merchant's credentials: no sandbox
    // defaults for the official account and the app, and H5_REQUIRE_PUBLIC_IP on by default.
    stack = await startStack({ label: 'channels-live', env: {} });
    await stack.server.close();
    const sandbox = stack.sandbox.url;
    stack.servers[0] = await startServer({
      port: 0,
      env: {
        NODE_ENV: 'test',
        WECHATPAY_MODE: 'live',
        WECHAT_API_BASE: sandbox,
        WECHATPAY_API_BASE: sandbox,
        WECHAT_APPID: SANDBOX_DEMO.appId,
        WECHAT_SECRET: SANDBOX_DEMO.secret,
        WECHATPAY_MCHID: SANDBOX_DEMO.mchId,
        WECHATPAY_KEY: SANDBOX_DEMO.key,
        PUBLIC_BASE_URL: 'https://shop.example.com',
        TRUST_PROXY: '1',
        REDIS_URL: TEST_REDIS_URL,
        REDIS_PREFIX: stack.prefix,
        WORKER_ENABLED: 'false',
        LOG_LEVEL: 'silent',
      },
    });
    stack.server = stack.servers[0];
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('answers channel_not_available naming what to configure, and offers only what it can serve', async () => {
    const token = await guestToken(stack.server);
    const app = await placeChannelOrder(stack.server, token, 'app');
    expect(app.status).toBe(400);
    expect(app.body.error).toBe('channel_not_available');
    expect(app.body.message).toMatch(/WECHAT_APP_APPID/);
    const oa = await placeChannelOrder(stack.server, token, 'official_account');
    expect(oa.status).toBe(400);
    expect(oa.body.error).toBe('channel_not_available');
    expect(oa.body.message).toMatch(/WECHAT_OA_APPID/);
    const config = await json<ClientConfigResponse>(await fetch(`${stack.server.url}/api/config`));
    expect(config).toEqual({ mode: 'live', channels: ['miniprogram', 'h5', 'native'] });
    // OAuth without an official account sends the buyer back with the error.
    const start = await fetch(`${stack.server.url}/web/oauth/start?next=/shop/oa.html`, {
      redirect: 'manual',
    });
    expect(start.status).toBe(302);
    expect(start.headers.get('location')).toBe('/shop/oa.html#error=channel_not_available');
  });

  it('H5 refuses a private or loopback buyer address before WeChat sees it', async () => {
    const token = await guestToken(stack.server);
    for (const forwarded of [
      undefined,
      '10.1.2.3',
      '192.168.0.9',
      '100.64.1.1',
      'fd00::1',
      'fe80::1',
      '::1',
    ]) {
      const res = await placeChannelOrder(
        stack.server,
        token,
        'h5',
        forwarded === undefined ? {} : { 'x-forwarded-for': forwarded },
      );
      expect(res.status, String(forwarded)).toBe(400);
      expect(res.body.error).toBe('invalid_request');
      expect(res.body.message).toMatch(/public IP.*TRUST_PROXY/);
    }
    // Nothing reached the sandbox: no MWEB trade exists for this merchant's orders.
    const list = await json<{ orders: { trade_type?: string }[] }>(
      await fetch(`${stack.sandbox.url}/sandbox/orders`),
    );
    expect(JSON.stringify(list)).not.toMatch(/MWEB/);
    // A public address (through the one trusted proxy hop) is placed.
    const ok = await placeChannelOrder(stack.server, token, 'h5', { 'x-forwarded-for': '203.119.1.10' });
    expect(ok.status, JSON.stringify(ok.body)).toBe(201);
    expect(ok.body.payment.kind).toBe('h5');
    expect(launchOf(ok.body.payment, 'h5').redirectUrl).toContain(
      `&redirect_url=${encodeURIComponent(`https://shop.example.com/shop/result.html?order=${ok.body.order.id}`)}`,
    );
  });
});

// APIv2 (v3 already did; its sandbox checks request signatures against the real time, so its clock stays put).
describe('APP launches dated by the server clock (APIv2)', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ label: 'app-clock' });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it("signs timestamp with the injected clock, not the machine's", async () => {
    await stack.advanceClock(3_600_000);
    const token = await guestToken(stack.server);
    const { payment } = await channelOrder(stack.server, token, 'app');
    const stamp = Number(launchOf(payment, 'app').timeStamp);
    expect(Math.abs(stamp - Math.floor((Date.now() + 3_600_000) / 1000))).toBeLessThan(30);
    expect(await payApp(stack, payment)).toMatchObject({ body: { errCode: 0 } });
  });
});

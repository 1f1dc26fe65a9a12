/**
 * H5 launches asked for again (docs/channels.md "H5"): a buyer whose address changed gets a new trade bound to
 * the new one (WeChat's cashier opens only from the address the trade names); a re-placed trade repeats the
 * scene_info it was placed with whatever the configuration says now; in the order's last 5 minutes a live URL is
 * still handed out and a dead one is refused with the honest reason. And the cap on trade changes per order.
 * Against the sandbox's H5 cashier over HTTP (it compares the visitor's address with the trade's).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_PAYMENT_SWITCHES } from '../src/services/orders.ts';
import { channelOrder, guestToken, launchOf, payH5, placeChannelOrder } from './helpers/channels.ts';
import { bearer, json, paidEvents, post, waitForStatus, type Stack, startStack } from './helpers/stack.ts';
import type { CreateOrderResponse, ErrorBody, PaymentChannel } from '@mp-pay/shared/api';
import type { RunningServer } from '../src/index.ts';

/** POST /api/orders/:id/payment from a given address (through the one trusted proxy hop). */
async function paymentFrom(
  server: RunningServer,
  token: string,
  orderId: string,
  ip: string | undefined,
  channel?: PaymentChannel,
): Promise<{ status: number; body: CreateOrderResponse & ErrorBody }> {
  const headers = { ...bearer(token), ...(ip === undefined ? {} : { 'x-forwarded-for': ip }) };
  const res = await fetch(
    `${server.url}/api/orders/${orderId}/payment`,
    post(channel ? { channel } : {}, headers),
  );
  return { status: res.status, body: await json(res) };
}

describe.each(['v2', 'v3'] as const)('H5 from a changed address (API%s)', (version) => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({
      label: `h5-ip-${version}`,
      env: { TRUST_PROXY: '1', ...(version === 'v3' ? { WECHATPAY_API_VERSION: 'v3' } : {}) },
    });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('opens a new H5 trade bound to the new address; the old URL cannot be paid from it', async () => {
    const token = await guestToken(stack.server);
    // Placed from another network than the one the buyer (the test, 127.0.0.1 at the cashier) is on now.
    const placed = await placeChannelOrder(stack.server, token, 'h5', { 'x-forwarded-for': '198.51.100.7' });
    expect(placed.status, JSON.stringify(placed.body)).toBe(201);
    const { order, payment } = placed.body;
    await expect(payH5(stack, payment)).rejects.toThrow(/no cashier form/);

    const again = await paymentFrom(stack.server, token, order.id, '127.0.0.1');
    expect(again.status, JSON.stringify(again.body)).toBe(200);
    expect(again.body.order.outTradeNo).not.toBe(order.outTradeNo);
    expect(launchOf(again.body.payment, 'h5').redirectUrl).not.toBe(launchOf(payment, 'h5').redirectUrl);
    const [first, second] = await stack.server.store.attempts.listAttempts(order.id);
    expect(first).toMatchObject({ clientIp: '198.51.100.7', state: 'ENDED', endReason: 'superseded' });
    expect(second).toMatchObject({ clientIp: '127.0.0.1', state: 'OPEN', channel: 'h5' });
    // Asked again from the same address: the same trade and URL.
    const same = await paymentFrom(stack.server, token, order.id, '127.0.0.1');
    expect(same.body.order.outTradeNo).toBe(again.body.order.outTradeNo);
    expect(launchOf(same.body.payment, 'h5').redirectUrl).toBe(
      launchOf(again.body.payment, 'h5').redirectUrl,
    );

    const paid = await payH5(stack, again.body.payment);
    expect(paid.status).toBe(302);
    await waitForStatus(stack.server, order.id, 'PAID');
    expect(await paidEvents(stack.server, order.id)).toHaveLength(1);
  });
});

describe('H5 re-placed by another process with another configuration (APIv2)', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({
      label: 'h5-scene',
      servers: 2,
      serverEnv: [
        { H5_WAP_NAME: 'Shop A' },
        { H5_WAP_NAME: 'Shop B', H5_WAP_URL: 'https://other.example.com/shop/' },
      ],
    });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('sends the scene_info the trade was placed with, so WeChat sees identical parameters', async () => {
    const [one, two] = stack.servers as [RunningServer, RunningServer];
    const token = await guestToken(one);
    const { order, payment } = await channelOrder(one, token, 'h5');
    expect((await one.store.attempts.getAttempt(order.outTradeNo))?.h5Scene).toEqual({
      wapUrl: `${one.url}/shop/`,
      wapName: 'Shop A',
    });
    await stack.advanceClock(280_000);
    const later = await paymentFrom(two, token, order.id, undefined);
    expect(later.status, JSON.stringify(later.body)).toBe(200);
    expect(later.body.order.outTradeNo).toBe(order.outTradeNo);
    expect(launchOf(later.body.payment, 'h5').redirectUrl).not.toBe(launchOf(payment, 'h5').redirectUrl);
    expect(await two.store.attempts.listAttempts(order.id)).toHaveLength(1);
  });
});

describe('H5 in the last 5 minutes, and the cap on trade changes (APIv2)', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ label: 'h5-late', env: { ORDER_TTL_SECONDS: '600' } });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it(`refuses the ${MAX_PAYMENT_SWITCHES + 1}th change of channel with order_closed`, async () => {
    const token = await guestToken(stack.server);
    const { order } = await channelOrder(stack.server, token, 'native');
    for (let i = 0; i < MAX_PAYMENT_SWITCHES; i++) {
      const res = await paymentFrom(stack.server, token, order.id, undefined, i % 2 === 0 ? 'app' : 'native');
      expect(res.status, JSON.stringify(res.body)).toBe(200);
    }
    const refused = await paymentFrom(stack.server, token, order.id, undefined, 'h5');
    expect(refused.status).toBe(409);
    expect(refused.body.error).toBe('order_closed');
    expect(refused.body.message).toMatch(new RegExp(`${MAX_PAYMENT_SWITCHES} times`));
    // The open attempt still pays: asking without a change is no switch.
    const same = await paymentFrom(stack.server, token, order.id, undefined);
    expect(same.status).toBe(200);
    expect(same.body.payment.kind).toBe('native');
  });

  // Last: it moves the clocks forward.
  it('hands out a live URL in the last 5 minutes, and says why when none is left', async () => {
    const token = await guestToken(stack.server);
    const { order, payment } = await channelOrder(stack.server, token, 'h5'); // expires at +600 s
    await stack.advanceClock(280_000); // 320 s left: the stale URL is re-placed
    const refreshed = await paymentFrom(stack.server, token, order.id, undefined);
    expect(refreshed.status).toBe(200);
    const url = launchOf(refreshed.body.payment, 'h5').redirectUrl;
    expect(url).not.toBe(launchOf(payment, 'h5').redirectUrl);
    await stack.advanceClock(280_000); // 40 s left, the URL is 280 s old: still alive, handed out
    const late = await paymentFrom(stack.server, token, order.id, undefined);
    expect(late.status, JSON.stringify(late.body)).toBe(200);
    expect(launchOf(late.body.payment, 'h5').redirectUrl).toBe(url);
    await stack.advanceClock(25_000); // 15 s left, the URL is dead and WeChat takes no new one
    const dead = await paymentFrom(stack.server, token, order.id, undefined);
    expect(dead.status).toBe(409);
    expect(dead.body.error).toBe('order_closed');
    expect(dead.body.message).toMatch(/still open but expires in less than 5 minutes/);
    expect((await stack.server.store.orders.getOrder(order.id))?.status).toBe('PENDING');
  });
});

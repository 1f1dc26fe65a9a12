/**
 * The "payment succeeded" subscribe message end to end (docs/subscribe-messages.md): two server processes on one
 * Redis prefix and the sandbox over HTTP. The buyer's consent is given at the sandbox as
 * wx.requestSubscribeMessage would, and what the sandbox delivered is read back from it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClientConfigResponse, Order } from '@mp-pay/shared/api';
import { SANDBOX_DEMO_SUBSCRIBE_TEMPLATE } from '@mp-pay/shared/login';
import type { AppContext } from '../src/context.ts';
import { accessToken } from '../src/services/subscribe-messages.ts';
import type { RunningServer } from '../src/index.ts';
import { waitFor } from './helpers/redis.ts';
import {
  bearer,
  createdOrder,
  json,
  payInSandbox,
  post,
  setFaults,
  startStack,
  waitForStatus,
  type Stack,
} from './helpers/stack.ts';

const TEMPLATE = SANDBOX_DEMO_SUBSCRIBE_TEMPLATE.id;

interface Delivered {
  msgid: number;
  touser: string;
  template_id: string;
  page?: string;
  data: Record<string, { value: string }>;
}

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ label: 'subscribe', servers: 2 });
});
afterAll(async () => {
  await stack?.close();
});

/** wx.login at the sandbox, then POST /api/session: the bearer token and the buyer's openid. */
async function buyer(user: string, server: RunningServer = stack.server) {
  const login = await json<{ code: string; openid: string }>(
    await fetch(
      `${stack.sandbox.url}/sandbox/login-codes`,
      post({ appid: server.config.wechat.appId, user }),
    ),
  );
  const res = await fetch(`${server.url}/api/session`, post({ code: login.code }));
  if (res.status !== 201) throw new Error(`sign-in failed: ${res.status}`);
  return { token: (await json<{ token: string }>(res)).token, openid: login.openid };
}

/** What wx.requestSubscribeMessage records at WeChat (the sandbox) for this buyer. */
async function consentAtWechat(openid: string, answer: string) {
  const res = await fetch(
    `${stack.sandbox.url}/sandbox/subscribe/consents`,
    post({ appid: stack.server.config.wechat.appId, openid, template_id: TEMPLATE, answer }),
  );
  expect(res.status).toBe(201);
}

/** What the mini-program then tells the server. */
async function answer(server: RunningServer, token: string, orderId: string, body: unknown) {
  const res = await fetch(`${server.url}/api/orders/${orderId}/subscriptions`, post(body, bearer(token)));
  return { status: res.status, body: await json<{ order?: Order; error?: string }>(res) };
}

async function delivered(openid: string): Promise<Delivered[]> {
  const res = await fetch(`${stack.sandbox.url}/sandbox/subscribe/messages?openid=${openid}`);
  return (await json<{ messages: Delivered[] }>(res)).messages;
}

const messageState = async (server: RunningServer, id: string) =>
  (await server.store.orders.getOrder(id))?.paidMessage;

async function waitForMessage(id: string, state: string) {
  return waitFor(async () => {
    const message = await messageState(stack.server, id);
    return message?.state === state ? message : undefined;
  }, `the paid message of ${id} to be ${state}`);
}

/** A few worker ticks (50 ms each) in which nothing else may happen. */
const quietFor = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('the subscribe-message contract', () => {
  it('GET /api/config offers the template', async () => {
    const config = await json<ClientConfigResponse>(await fetch(`${stack.server.url}/api/config`));
    expect(config.subscribeTemplates).toEqual({ paymentSucceeded: TEMPLATE });
  });

  it('accept → pay: delivered once, with duplicated notifications and two servers', async () => {
    const { token, openid } = await buyer('sub-accept');
    const { order, payment } = await createdOrder(stack.server, token, [
      { productId: 'green-tea', quantity: 2 },
    ]);
    await consentAtWechat(openid, 'accept');
    const answered = await answer(stack.servers[1] as RunningServer, token, order.id, {
      templateId: TEMPLATE,
      answer: 'accept',
    });
    expect(answered.status).toBe(201);
    expect(answered.body.order?.paidMessage).toEqual({
      state: 'ACCEPTED',
      templateId: TEMPLATE,
      answeredAt: expect.any(String),
    });
    await setFaults(
      stack,
      { out_trade_no: order.outTradeNo },
      { duplicateNotifications: 3, concurrentNotifications: 3 },
    );
    expect(await payInSandbox(stack, payment)).toBe('requestPayment:ok');
    await waitForStatus(stack.server, order.id, 'PAID');
    const sent = await waitForMessage(order.id, 'SENT');
    await quietFor(400);
    const messages = await delivered(openid);
    expect(messages).toHaveLength(1);
    const paid = await stack.server.store.orders.getOrder(order.id);
    const [message] = messages as [Delivered];
    expect(message).toMatchObject({
      template_id: TEMPLATE,
      page: `pages/order-detail/index?id=${order.id}`,
      data: {
        thing1: { value: expect.stringMatching(/^.{1,20}$/u) },
        amount2: { value: `${(order.totalFen / 100).toFixed(2)}元` },
        character_string3: { value: order.id },
        time4: {
          value: new Date((paid?.paidAt ?? 0) + 8 * 3_600_000).toISOString().slice(0, 16).replace('T', ' '),
        },
      },
    });
    expect(sent.msgid).toBe(String(message.msgid));
    // The buyer sees it on the order.
    const seen = await json<{ order: Order }>(
      await fetch(`${stack.server.url}/api/orders/${order.id}`, { headers: bearer(token) }),
    );
    expect(seen.order.paidMessage).toMatchObject({ state: 'SENT', sentAt: expect.any(String) });
    expect(JSON.stringify(seen)).not.toContain(openid);
  });

  it('reject → paid, nothing sent, DECLINED; answering again changes nothing', async () => {
    const { token, openid } = await buyer('sub-reject');
    const { order, payment } = await createdOrder(stack.server, token);
    const first = await answer(stack.server, token, order.id, { templateId: TEMPLATE, answer: 'reject' });
    expect(first.body.order?.paidMessage?.state).toBe('DECLINED');
    const again = await answer(stack.server, token, order.id, { templateId: TEMPLATE, answer: 'accept' });
    expect(again.status).toBe(201);
    expect(again.body.order?.paidMessage).toEqual(first.body.order?.paidMessage);
    await consentAtWechat(openid, 'accept');
    await payInSandbox(stack, payment);
    await waitForStatus(stack.server, order.id, 'PAID');
    await quietFor(400);
    expect(await delivered(openid)).toEqual([]);
    expect((await messageState(stack.server, order.id))?.state).toBe('DECLINED');
  });

  it('accept after the order is PAID → sent', async () => {
    const { token, openid } = await buyer('sub-late');
    const { order, payment } = await createdOrder(stack.server, token);
    await payInSandbox(stack, payment);
    await waitForStatus(stack.server, order.id, 'PAID');
    await consentAtWechat(openid, 'accept');
    expect(
      (await answer(stack.server, token, order.id, { templateId: TEMPLATE, answer: 'accept' })).status,
    ).toBe(201);
    await waitForMessage(order.id, 'SENT');
    expect(await delivered(openid)).toHaveLength(1);
  });

  it('no consent at WeChat (43101) → FAILED with the reason', async () => {
    const { token, openid } = await buyer('sub-43101');
    const { order, payment } = await createdOrder(stack.server, token);
    await answer(stack.server, token, order.id, { templateId: TEMPLATE, answer: 'accept' });
    await payInSandbox(stack, payment);
    const failed = await waitForMessage(order.id, 'FAILED');
    expect(failed.reason).toMatch(/^43101: user refuse to accept the msg/);
    expect(await delivered(openid)).toEqual([]);
    const seen = await json<{ order: Order }>(
      await fetch(`${stack.server.url}/api/orders/${order.id}`, { headers: bearer(token) }),
    );
    expect(seen.order.paidMessage).toMatchObject({
      state: 'FAILED',
      reason: expect.stringMatching(/^43101/),
    });
  });

  it('a token WeChat expired early (fault) is replaced once, and the message still goes', async () => {
    const appId = stack.server.config.wechat.appId;
    const before = await stack.server.store.accessTokens.get(appId);
    expect(before).toBeDefined(); // cached by the tests above
    const expired = await fetch(
      `${stack.sandbox.url}/sandbox/subscribe/tokens/expire`,
      post({ appid: appId }),
    );
    expect(await json(expired)).toMatchObject({ expired: expect.any(Number) });
    const { token, openid } = await buyer('sub-fault');
    const { order, payment } = await createdOrder(stack.server, token);
    await consentAtWechat(openid, 'accept');
    await answer(stack.server, token, order.id, { templateId: TEMPLATE, answer: 'accept' });
    await payInSandbox(stack, payment);
    await waitForMessage(order.id, 'SENT');
    expect(await delivered(openid)).toHaveLength(1);
    expect((await stack.server.store.accessTokens.get(appId))?.token).not.toBe(before?.token);
  });

  it('processes share one token: concurrent refreshes fetch it once', async () => {
    const appId = stack.server.config.wechat.appId;
    // Stale cache: a token nobody will accept.
    const owner = 'test';
    await stack.server.store.accessTokens.lock(appId, owner, 1000, Date.now());
    await stack.server.store.accessTokens.save(
      appId,
      { token: 'stale', refreshAt: 0, expiresAt: 1 },
      owner,
      0,
    );
    const ctxOf = (server: RunningServer) =>
      ({ config: server.config, store: server.store, now: () => Date.now() }) as unknown as AppContext;
    const tokens = await Promise.all(
      stack.servers.flatMap((server) => [accessToken(ctxOf(server)), accessToken(ctxOf(server))]),
    );
    expect(new Set(tokens).size).toBe(1);
    expect(tokens[0]).not.toBe('stale');
    // And it is one WeChat accepts (the newest: an older one would work only 5 minutes).
    const { openid } = await buyer('sub-shared');
    await consentAtWechat(openid, 'accept');
    const res = await fetch(
      `${stack.sandbox.url}/cgi-bin/message/subscribe/send?access_token=${tokens[0]}`,
      post({
        touser: openid,
        template_id: TEMPLATE,
        data: {
          thing1: { value: 't' },
          amount2: { value: '1.00' },
          character_string3: { value: 'x' },
          time4: { value: '12:00' },
        },
      }),
    );
    expect(await json(res)).toMatchObject({ errcode: 0 });
  });
});

describe('POST /api/orders/:id/subscriptions refusals', () => {
  it('400 for a malformed body, 404 for another buyer’s order, 409 for a wrong template or a closed order', async () => {
    const { token } = await buyer('sub-refusals');
    const { order } = await createdOrder(stack.server, token);
    const bad = async (body: unknown) => (await answer(stack.server, token, order.id, body)).status;
    expect(await bad({ templateId: TEMPLATE, answer: 'maybe' })).toBe(400);
    expect(await bad({ templateId: TEMPLATE })).toBe(400);
    expect(await bad({ templateId: TEMPLATE, answer: 'accept', extra: 1 })).toBe(400);
    expect(await bad({ templateId: 'not/a/template', answer: 'accept' })).toBe(400);
    const wrong = await answer(stack.server, token, order.id, {
      templateId: 'someOtherTemplate',
      answer: 'accept',
    });
    expect(wrong).toMatchObject({ status: 409, body: { error: 'subscription_not_allowed' } });
    const other = await buyer('sub-refusals-other');
    expect(
      (await answer(stack.server, other.token, order.id, { templateId: TEMPLATE, answer: 'accept' })).status,
    ).toBe(404);
    const unauth = await fetch(
      `${stack.server.url}/api/orders/${order.id}/subscriptions`,
      post({ templateId: TEMPLATE, answer: 'accept' }),
    );
    expect(unauth.status).toBe(401);

    const closed = await fetch(`${stack.server.url}/api/orders/${order.id}/close`, post({}, bearer(token)));
    if (closed.status === 200) {
      const res = await answer(stack.server, token, order.id, { templateId: TEMPLATE, answer: 'accept' });
      expect(res).toMatchObject({ status: 409, body: { error: 'subscription_not_allowed' } });
      expect(await messageState(stack.server, order.id)).toBeUndefined();
    } else {
      // The close needs the order to be old enough at WeChat: make it so, then close again.
      await stack.advanceClock(6 * 60_000);
      const retried = await fetch(
        `${stack.server.url}/api/orders/${order.id}/close`,
        post({}, bearer(token)),
      );
      expect(retried.status).toBe(200);
      const res = await answer(stack.server, token, order.id, { templateId: TEMPLATE, answer: 'accept' });
      expect(res).toMatchObject({ status: 409, body: { error: 'subscription_not_allowed' } });
    }
  });
});

describe("WeChat's clock", () => {
  // Last on this stack: the sandbox stays 2 hours ahead of the servers, which their new orders would not survive.
  it('a token expired by the sandbox clock (the servers still think it young) is replaced, the message goes', async () => {
    const appId = stack.server.config.wechat.appId;
    const { token, openid } = await buyer('sub-clock');
    const { order, payment } = await createdOrder(stack.server, token);
    await payInSandbox(stack, payment);
    await waitForStatus(stack.server, order.id, 'PAID');
    const before = await stack.server.store.accessTokens.get(appId);
    expect(before !== undefined && before.refreshAt > Date.now()).toBe(true);
    expect((await fetch(`${stack.sandbox.url}/sandbox/clock`, post({ advance_ms: 7200_000 }))).status).toBe(
      200,
    );
    await consentAtWechat(openid, 'accept');
    await answer(stack.server, token, order.id, { templateId: TEMPLATE, answer: 'accept' });
    await waitForMessage(order.id, 'SENT');
    expect(await delivered(openid)).toHaveLength(1);
    expect((await stack.server.store.accessTokens.get(appId))?.token).not.toBe(before?.token);
  });
});

describe('configuration', () => {
  let other: Stack;
  afterAll(async () => {
    await other?.close();
  });

  it('a template WeChat does not know → FAILED 40037; `off` offers none and refuses answers', async () => {
    other = await startStack({
      label: 'subscribe-config',
      servers: 2,
      serverEnv: [
        { SUBSCRIBE_TEMPLATE_PAID: 'aTemplateTheSandboxDoesNotHave01' },
        { SUBSCRIBE_TEMPLATE_PAID: 'off', WORKER_ENABLED: 'false' },
      ],
    });
    const [bad, off] = other.servers as [RunningServer, RunningServer];
    const login = await json<{ code: string }>(
      await fetch(
        `${other.sandbox.url}/sandbox/login-codes`,
        post({ appid: bad.config.wechat.appId, user: 'cfg' }),
      ),
    );
    const session = await json<{ token: string }>(
      await fetch(`${bad.url}/api/session`, post({ code: login.code })),
    );
    const { order, payment } = await createdOrder(bad, session.token);
    const res = await fetch(
      `${bad.url}/api/orders/${order.id}/subscriptions`,
      post({ templateId: 'aTemplateTheSandboxDoesNotHave01', answer: 'accept' }, bearer(session.token)),
    );
    expect(res.status).toBe(201);
    await payInSandbox(other, payment);
    const failed = await waitFor(async () => {
      const message = (await bad.store.orders.getOrder(order.id))?.paidMessage;
      return message?.state === 'FAILED' ? message : undefined;
    }, 'the message to fail');
    expect(failed.reason).toMatch(/^40037/);

    const config = await json<ClientConfigResponse>(await fetch(`${off.url}/api/config`));
    expect(config.subscribeTemplates).toBeUndefined();
    const refused = await fetch(
      `${off.url}/api/orders/${order.id}/subscriptions`,
      post({ templateId: TEMPLATE, answer: 'accept' }, bearer(session.token)),
    );
    expect(refused.status).toBe(409);
  });
});

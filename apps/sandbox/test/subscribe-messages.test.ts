import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  SANDBOX_DEMO_SUBSCRIBE_TEMPLATE,
  SubscribeMessageClient,
  WechatAccessTokenError,
  WechatLoginError,
  WechatMessageError,
} from '@mp-pay/shared/login';
import { SANDBOX_DEMO_CHANNELS } from '@mp-pay/shared/wechatpay';
import type { RunningSandbox } from '../src/index.ts';
import { DEMO, loginCode, postJson, sandbox } from './helpers.ts';

const TEMPLATE = SANDBOX_DEMO_SUBSCRIBE_TEMPLATE.id;
const DATA = {
  thing1: { value: '咖啡 ×2' },
  amount2: { value: '12.00元' },
  character_string3: { value: '20261201120000abcdEFGH12345678' },
  time4: { value: '2026-12-01 20:00' },
};

let sb: RunningSandbox;
beforeAll(async () => {
  sb = await sandbox({ timeScale: 1 });
});
afterAll(() => sb.close());

/** Raw WeChat calls, exact field names, no shared client. */
async function token(query: Record<string, string>): Promise<Record<string, unknown>> {
  const url = new URL(`${sb.url}/cgi-bin/token`);
  url.search = new URLSearchParams(query).toString();
  const res = await fetch(url);
  expect(res.status).toBe(200);
  return (await res.json()) as Record<string, unknown>;
}
const goodToken = async () =>
  (await token({ grant_type: 'client_credential', appid: DEMO.appId, secret: DEMO.secret }))
    .access_token as string;

async function send(accessToken: string, body: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(
    `${sb.url}/cgi-bin/message/subscribe/send?access_token=${encodeURIComponent(accessToken)}`,
    { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) },
  );
  expect(res.status).toBe(200);
  return (await res.json()) as Record<string, unknown>;
}

const consent = (
  openid: string,
  answer: string,
  appid: string = DEMO.appId,
  template_id: string = TEMPLATE,
) => postJson(`${sb.url}/sandbox/subscribe/consents`, { appid, openid, template_id, answer });

async function delivered(openid: string) {
  const res = await fetch(`${sb.url}/sandbox/subscribe/messages?openid=${openid}`);
  return ((await res.json()) as { messages: Record<string, unknown>[] }).messages;
}

describe('GET /cgi-bin/token', () => {
  it('issues a token for 7200 seconds', async () => {
    const reply = await token({ grant_type: 'client_credential', appid: DEMO.appId, secret: DEMO.secret });
    expect(reply).toEqual({ access_token: expect.stringMatching(/^[A-Za-z0-9_-]{100,}$/), expires_in: 7200 });
  });

  it('answers 40013, 40125 and 40002 like WeChat', async () => {
    const q = { grant_type: 'client_credential', appid: DEMO.appId, secret: DEMO.secret };
    expect(await token({ ...q, appid: 'wx1111111111111111' })).toMatchObject({ errcode: 40013 });
    expect(await token({ ...q, secret: 'x'.repeat(32) })).toMatchObject({ errcode: 40125 });
    expect(await token({ ...q, grant_type: 'authorization_code' })).toMatchObject({ errcode: 40002 });
    expect(String((await token({ ...q, appid: 'wx1111111111111111' })).errmsg)).toMatch(
      /^invalid appid, rid: /,
    );
  });
});

describe('POST /cgi-bin/message/subscribe/send', () => {
  it('delivers once per accept, then 43101', async () => {
    const { openid } = await loginCode(sb, 'sub-once');
    const access = await goodToken();
    const message = {
      touser: openid,
      template_id: TEMPLATE,
      page: 'pages/order-detail/index?id=1',
      data: DATA,
    };
    expect(await send(access, message)).toMatchObject({ errcode: 43101 });
    expect(await consent(openid, 'accept')).toMatchObject({
      status: 201,
      json: { errMsg: 'requestSubscribeMessage:ok', [TEMPLATE]: 'accept', remaining: 1 },
    });
    const ok = await send(access, { ...message, miniprogram_state: 'developer', lang: 'zh_CN' });
    expect(ok).toEqual({ errcode: 0, errmsg: 'ok', msgid: expect.any(Number) });
    expect(await send(access, message)).toMatchObject({ errcode: 43101 });
    expect(await delivered(openid)).toEqual([
      expect.objectContaining({
        msgid: ok.msgid,
        appid: DEMO.appId,
        touser: openid,
        template_id: TEMPLATE,
        page: 'pages/order-detail/index?id=1',
        data: DATA,
        miniprogram_state: 'developer',
        lang: 'zh_CN',
      }),
    ]);
  });

  it('grants nothing for reject, ban or filter; two accepts allow two sends', async () => {
    const { openid } = await loginCode(sb, 'sub-answers');
    const access = await goodToken();
    const message = { touser: openid, template_id: TEMPLATE, data: DATA };
    for (const answer of ['reject', 'ban', 'filter']) {
      expect((await consent(openid, answer)).json).toMatchObject({ remaining: 0 });
    }
    expect(await send(access, message)).toMatchObject({ errcode: 43101 });
    await consent(openid, 'accept');
    await consent(openid, 'accept');
    expect(await send(access, message)).toMatchObject({ errcode: 0 });
    expect(await send(access, message)).toMatchObject({ errcode: 0 });
    expect(await send(access, message)).toMatchObject({ errcode: 43101 });
    expect(await delivered(openid)).toHaveLength(2);
  });

  it('checks the token, the openid, the template, the page and the data, in that order', async () => {
    const { openid } = await loginCode(sb, 'sub-checks');
    await consent(openid, 'accept');
    const access = await goodToken();
    const message = { touser: openid, template_id: TEMPLATE, data: DATA };
    expect(await send('', message)).toMatchObject({ errcode: 41001 });
    expect(await send('not-a-token', message)).toMatchObject({ errcode: 40001 });
    expect(await send(access, { ...message, touser: 'o'.repeat(28) })).toMatchObject({ errcode: 40003 });
    expect(await send(access, { ...message, template_id: 'nope' })).toMatchObject({ errcode: 40037 });
    expect(await send(access, { ...message, page: '/pages/x' })).toMatchObject({ errcode: 41030 });
    const { thing1: _, ...missing } = DATA;
    const noThing = await send(access, { ...message, data: missing });
    expect(noThing).toMatchObject({ errcode: 47003 });
    expect(String(noThing.errmsg)).toContain('data.thing1');
    expect(
      await send(access, {
        ...message,
        data: { ...DATA, thing1: { value: '一二三四五六七八九十一二三四五六七八九十一' } },
      }),
    ).toMatchObject({ errcode: 47003, errmsg: expect.stringContaining('data.thing1.value invalid') });
    expect(await send(access, { ...message, data: { ...DATA, amount2: { value: '12.345' } } })).toMatchObject(
      {
        errcode: 47003,
      },
    );
    expect(await send(access, { ...message, data: { ...DATA, extra5: { value: 'x' } } })).toMatchObject({
      errcode: 47003,
      errmsg: expect.stringContaining('data.extra5'),
    });
    // None of the refusals used the consent.
    expect(await send(access, message)).toMatchObject({ errcode: 0 });
    // A GET is refused with WeChat's errcode, not an HTTP error.
    const get = await fetch(`${sb.url}/cgi-bin/message/subscribe/send?access_token=${access}`);
    expect(await get.json()).toMatchObject({ errcode: 43002 });
  });

  it('keeps a replaced token working 5 minutes, and expires tokens after 2 hours (sandbox clock)', async () => {
    const { openid } = await loginCode(sb, 'sub-expiry');
    const message = { touser: openid, template_id: TEMPLATE, data: DATA };
    const old = await goodToken();
    const fresh = await goodToken();
    await consent(openid, 'accept');
    await consent(openid, 'accept');
    expect(await send(old, message)).toMatchObject({ errcode: 0 });
    await postJson(`${sb.url}/sandbox/clock`, { advance_ms: 5 * 60_000 + 1000 });
    expect(await send(old, message)).toMatchObject({ errcode: 42001 });
    expect(await send(fresh, message)).toMatchObject({ errcode: 0 });
    await postJson(`${sb.url}/sandbox/clock`, { advance_ms: 7200_000 });
    expect(await send(fresh, message)).toMatchObject({ errcode: 42001 });
  });

  it('expires every token of an app on demand (fault)', async () => {
    const access = await goodToken();
    expect(await postJson(`${sb.url}/sandbox/subscribe/tokens/expire`, { appid: DEMO.appId })).toMatchObject({
      status: 200,
      json: { expired: expect.any(Number) },
    });
    const { openid } = await loginCode(sb, 'sub-fault');
    expect(await send(access, { touser: openid, template_id: TEMPLATE, data: DATA })).toMatchObject({
      errcode: 42001,
    });
  });

  it('has no template for an official account', async () => {
    const oa = SANDBOX_DEMO_CHANNELS.officialAccount;
    const reply = await token({ grant_type: 'client_credential', appid: oa.appId, secret: oa.secret });
    const { openid } = await loginCode(sb, 'sub-oa', oa.appId);
    expect(
      await send(reply.access_token as string, { touser: openid, template_id: TEMPLATE, data: DATA }),
    ).toMatchObject({ errcode: 40037 });
  });
});

describe('the /sandbox/subscribe controls', () => {
  it('refuses unknown apps, buyers and templates, and malformed bodies', async () => {
    const { openid } = await loginCode(sb, 'sub-controls');
    expect((await consent(openid, 'accept', SANDBOX_DEMO_CHANNELS.officialAccount.appId)).status).toBe(404);
    expect((await consent('o'.repeat(28), 'accept')).json).toMatchObject({ error: 'UNKNOWN_OPENID' });
    expect((await consent(openid, 'accept', DEMO.appId, 'nope')).json).toMatchObject({
      error: 'UNKNOWN_TEMPLATE',
    });
    expect((await consent(openid, 'maybe')).status).toBe(400);
    expect((await fetch(`${sb.url}/sandbox/subscribe/messages`)).status).toBe(400);
    const templates = await (await fetch(`${sb.url}/sandbox/subscribe/templates`)).json();
    expect(templates).toEqual({
      templates: [
        {
          template_id: TEMPLATE,
          title: SANDBOX_DEMO_SUBSCRIBE_TEMPLATE.title,
          keywords: ['thing1', 'amount2', 'character_string3', 'time4'],
        },
      ],
    });
    await consent(openid, 'accept');
    const consents = await (
      await fetch(`${sb.url}/sandbox/subscribe/consents?appid=${DEMO.appId}&openid=${openid}`)
    ).json();
    expect(consents).toEqual({ consents: [{ template_id: TEMPLATE, remaining: 1, last_answer: 'accept' }] });
  });
});

describe('SubscribeMessageClient (@mp-pay/shared/login) against the sandbox', () => {
  it('fetches a token and sends; refusals are typed', async () => {
    const client = new SubscribeMessageClient({ appId: DEMO.appId, secret: DEMO.secret, baseUrl: sb.url });
    try {
      const { openid } = await loginCode(sb, 'sub-client');
      const { accessToken, expiresIn } = await client.fetchAccessToken();
      expect(expiresIn).toBe(7200);
      const message = {
        touser: openid,
        templateId: TEMPLATE,
        page: 'pages/order-detail/index?id=x',
        data: Object.fromEntries(Object.entries(DATA).map(([k, v]) => [k, v.value])),
      };
      const refused = await client.send(accessToken, message).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(WechatMessageError);
      expect(refused).toMatchObject({ code: 43101, retryable: false });
      expect(String((refused as Error).message)).not.toContain(accessToken);
      await consent(openid, 'accept');
      expect(await client.send(accessToken, message)).toEqual({ msgid: expect.stringMatching(/^\d+$/) });
      const bad = await client.send('bad-token', message).catch((e: unknown) => e);
      expect(bad).toBeInstanceOf(WechatAccessTokenError);
      const wrong = new SubscribeMessageClient({
        appId: DEMO.appId,
        secret: 'y'.repeat(32),
        baseUrl: sb.url,
      });
      const denied = await wrong.fetchAccessToken().catch((e: unknown) => e);
      expect(denied).toBeInstanceOf(WechatLoginError);
      expect(denied).toMatchObject({ code: 40125 });
      expect(String((denied as Error).message)).not.toContain('y'.repeat(32));
      wrong.close();
    } finally {
      client.close();
    }
  });
});

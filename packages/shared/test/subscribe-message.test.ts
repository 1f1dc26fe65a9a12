import { describe, expect, it } from 'vitest';
import {
  SANDBOX_DEMO_SUBSCRIBE_TEMPLATE,
  SubscribeMessageClient,
  WechatAccessTokenError,
  WechatLoginError,
  WechatLoginUnavailableError,
  WechatMessageError,
  WechatMessageNoConsentError,
  WechatMessageUnavailableError,
} from '@mp-pay/shared/login';
import { WechatError } from '@mp-pay/shared/core';
import { fakeWechatPerFile, jsonReply, rejectionOf } from './fake-wechat.ts';

const APPID = 'wx5ad0b0c0de5a4db0';
const SECRET = 'topsecret0mp0secret0000000000000';
const TOKEN = 'ACCESS_TOKEN_0123456789abcdefABCDEF';
const fake = fakeWechatPerFile();

const client = (timeoutMs = 2000) =>
  new SubscribeMessageClient({ appId: APPID, secret: SECRET, baseUrl: fake.url, timeoutMs });

const failure = (promise: Promise<unknown>) => rejectionOf(promise, WechatError);

const MESSAGE = {
  touser: 'oBuyer0000000000000000000001',
  templateId: SANDBOX_DEMO_SUBSCRIBE_TEMPLATE.id,
  page: 'pages/order-detail/index?id=1',
  data: { thing1: '绿茶 ×2', amount2: '6.00元', character_string3: 'A1', time4: '2026-12-01 20:00' },
};

describe('SubscribeMessageClient.fetchAccessToken', () => {
  it('GETs cgi-bin/token with client_credential and returns the token', async () => {
    fake.setHandler(jsonReply({ access_token: TOKEN, expires_in: 7200 }));
    await expect(client().fetchAccessToken()).resolves.toEqual({ accessToken: TOKEN, expiresIn: 7200 });
    const url = new URL(fake.received[0]!.url, 'http://x');
    expect(fake.received[0]!.method).toBe('GET');
    expect(url.pathname).toBe('/cgi-bin/token');
    expect(Object.fromEntries(url.searchParams)).toEqual({
      grant_type: 'client_credential',
      appid: APPID,
      secret: SECRET,
    });
  });

  it('types errcodes and never shows the secret', async () => {
    fake.setHandler(jsonReply({ errcode: 40125, errmsg: `invalid appsecret ${SECRET}` }));
    const denied = await failure(client().fetchAccessToken());
    expect(denied).toBeInstanceOf(WechatLoginError);
    expect(denied).toMatchObject({ code: 40125, retryable: false });
    expect(`${denied.message} ${denied.rawBody}`).not.toContain(SECRET);
    fake.setHandler(jsonReply({ errcode: -1, errmsg: 'system error' }));
    expect(await failure(client().fetchAccessToken())).toBeInstanceOf(WechatLoginUnavailableError);
    fake.setHandler(jsonReply({ access_token: TOKEN }));
    const noExpiry = await failure(client().fetchAccessToken());
    expect(noExpiry).toMatchObject({ code: 'BAD_REPLY' });
    // A reply holding a token never reaches rawBody.
    expect(noExpiry.rawBody).toBeUndefined();
  });
});

describe('SubscribeMessageClient.send', () => {
  it('POSTs the documented JSON with the token in the query', async () => {
    fake.setHandler(jsonReply({ errcode: 0, errmsg: 'ok', msgid: 2_100_000_000_123 }));
    await expect(client().send(TOKEN, { ...MESSAGE, miniprogramState: 'developer' })).resolves.toEqual({
      msgid: '2100000000123',
    });
    const request = fake.received[0]!;
    expect(request.method).toBe('POST');
    expect(request.headers['content-type']).toBe('application/json');
    const url = new URL(request.url, 'http://x');
    expect(url.pathname).toBe('/cgi-bin/message/subscribe/send');
    expect(url.searchParams.get('access_token')).toBe(TOKEN);
    expect(JSON.parse(request.body)).toEqual({
      touser: MESSAGE.touser,
      template_id: MESSAGE.templateId,
      page: MESSAGE.page,
      data: {
        thing1: { value: '绿茶 ×2' },
        amount2: { value: '6.00元' },
        character_string3: { value: 'A1' },
        time4: { value: '2026-12-01 20:00' },
      },
      miniprogram_state: 'developer',
      lang: 'zh_CN',
    });
  });

  it.each([
    [40001, WechatAccessTokenError],
    [42001, WechatAccessTokenError],
    [43101, WechatMessageNoConsentError],
    [40037, WechatMessageError],
    [47003, WechatMessageError],
    [-1, WechatMessageUnavailableError],
  ])('errcode %i is a %s', async (errcode, type) => {
    fake.setHandler(jsonReply({ errcode, errmsg: `something about ${TOKEN}` }));
    const error = await failure(client().send(TOKEN, MESSAGE));
    expect(error).toBeInstanceOf(type);
    expect(error.code).toBe(errcode);
    expect(error.retryable).toBe(errcode === -1);
    expect(`${error.message} ${error.rawBody}`).not.toContain(TOKEN);
  });

  it('reports HTTP errors, non-JSON and timeouts as unavailable, without the token', async () => {
    fake.setHandler(jsonReply({}, 502));
    expect(await failure(client().send(TOKEN, MESSAGE))).toMatchObject({ code: 'HTTP_502', retryable: true });
    fake.setHandler((_req, res) => res.end('<html>'));
    expect(await failure(client().send(TOKEN, MESSAGE))).toMatchObject({ code: 'BAD_REPLY' });
    fake.setHandler(() => undefined);
    const slow = await failure(client(200).send(TOKEN, MESSAGE));
    expect(slow).toBeInstanceOf(WechatMessageUnavailableError);
    expect(slow).toMatchObject({ code: 'TIMEOUT' });
    expect(slow.message).not.toContain(TOKEN);
  });

  it('needs credentials and a token', async () => {
    expect(() => new SubscribeMessageClient({ appId: APPID, secret: '' })).toThrow(TypeError);
    await expect(client().send('', MESSAGE)).rejects.toThrow(TypeError);
  });
});

import { describe, expect, it } from 'vitest';
import {
  OAuthClient,
  oauthAuthorizeUrl,
  WECHAT_OAUTH_BASE,
  WechatLoginCodeUsedError,
  WechatLoginError,
  WechatLoginInvalidCodeError,
  WechatLoginRateLimitedError,
  WechatLoginUnavailableError,
  type OAuthScope,
} from '@mp-pay/shared/login';
import * as wechatpay from '@mp-pay/shared/wechatpay';
import { fakeWechatPerFile, jsonReply, rejectionOf } from './fake-wechat.ts';

const SECRET = 'topsecret0oa0secret0000000000000';
const OA_APPID = 'wx0fa0ac0c0de5a4d1';
const fake = fakeWechatPerFile();

const oauth = (timeoutMs = 2000) =>
  new OAuthClient({ appId: OA_APPID, secret: SECRET, baseUrl: fake.url, timeoutMs });

/** The documented success reply of sns/oauth2/access_token. */
const TOKEN_REPLY = {
  access_token: 'ACCESS_TOKEN_VALUE',
  expires_in: 7200,
  refresh_token: 'REFRESH_TOKEN_VALUE',
  openid: 'oOAbuyer000000000000000001',
  scope: 'snsapi_base',
  is_snapshotuser: 0,
};

const failure = (promise: Promise<unknown>) => rejectionOf(promise, WechatLoginError);

describe('oauthAuthorizeUrl', () => {
  it('builds the documented link: parameters in order, redirect_uri encoded, #wechat_redirect', () => {
    const url = oauthAuthorizeUrl({
      appId: OA_APPID,
      redirectUri: 'https://shop.example.com/web/oauth/callback?x=1&y=2',
      state: 'Zq3f9AbC',
    });
    expect(url).toBe(
      'https://open.weixin.qq.com/connect/oauth2/authorize?appid=wx0fa0ac0c0de5a4d1' +
        '&redirect_uri=https%3A%2F%2Fshop.example.com%2Fweb%2Foauth%2Fcallback%3Fx%3D1%26y%3D2' +
        '&response_type=code&scope=snsapi_base&state=Zq3f9AbC#wechat_redirect',
    );
    expect(WECHAT_OAUTH_BASE).toBe('https://open.weixin.qq.com');
    const parsed = new URL(url);
    expect(parsed.searchParams.get('redirect_uri')).toBe(
      'https://shop.example.com/web/oauth/callback?x=1&y=2',
    );
    expect([...parsed.searchParams.keys()]).toEqual([
      'appid',
      'redirect_uri',
      'response_type',
      'scope',
      'state',
    ]);
  });

  it('takes another base (the sandbox) and snsapi_userinfo', () => {
    const url = oauthAuthorizeUrl({
      base: 'http://127.0.0.1:4010/',
      appId: OA_APPID,
      redirectUri: 'http://127.0.0.1:3000/web/oauth/callback',
      state: 's'.repeat(128),
      scope: 'snsapi_userinfo',
    });
    expect(url.startsWith('http://127.0.0.1:4010/connect/oauth2/authorize?appid=')).toBe(true);
    expect(new URL(url).searchParams.get('scope')).toBe('snsapi_userinfo');
  });

  it.each([
    ['an empty state', { state: '' }],
    ['a state over 128 characters', { state: 's'.repeat(129) }],
    ['a state with other characters', { state: 'a-b' }],
    ['a state that would inject a parameter', { state: 'a&appid=evil' }],
    ['a relative redirect', { redirectUri: '/web/oauth/callback' }],
    ['a redirect with a fragment', { redirectUri: 'https://x.example/cb#f' }],
    ['another scheme', { redirectUri: 'javascript:alert(1)' }],
    ['an unknown scope', { scope: 'snsapi_login' as OAuthScope }],
    ['an empty appId', { appId: '' }],
    ['a base with a path', { base: 'https://open.weixin.qq.com/evil' }],
  ])('refuses %s', (_what, bad) => {
    expect(() =>
      oauthAuthorizeUrl({ appId: OA_APPID, redirectUri: 'https://x.example/cb', state: 'abc', ...bad }),
    ).toThrow(TypeError);
  });
});

describe('OAuthClient.exchangeCode', () => {
  it('GETs sns/oauth2/access_token with the documented query and returns the typed token', async () => {
    fake.setHandler(jsonReply(TOKEN_REPLY));
    await expect(oauth().exchangeCode('CODE-1')).resolves.toEqual({
      openid: 'oOAbuyer000000000000000001',
      accessToken: 'ACCESS_TOKEN_VALUE',
      expiresIn: 7200,
      refreshToken: 'REFRESH_TOKEN_VALUE',
      scope: 'snsapi_base',
    });
    const request = fake.received[0]!;
    expect(request.method).toBe('GET');
    const url = new URL(request.url, 'http://x');
    expect(url.pathname).toBe('/sns/oauth2/access_token');
    expect(Object.fromEntries(url.searchParams)).toEqual({
      appid: OA_APPID,
      secret: SECRET,
      code: 'CODE-1',
      grant_type: 'authorization_code',
    });
  });

  it('returns the unionid when there is one and accepts errcode 0', async () => {
    fake.setHandler(jsonReply({ ...TOKEN_REPLY, errcode: 0, unionid: 'uUnion1' }));
    await expect(oauth().exchangeCode('c')).resolves.toMatchObject({ unionid: 'uUnion1' });
    fake.setHandler(jsonReply({ ...TOKEN_REPLY, unionid: '' }));
    expect(await oauth().exchangeCode('c')).not.toHaveProperty('unionid');
  });

  it.each<[number, new (...a: never[]) => WechatLoginError, boolean]>([
    [40029, WechatLoginInvalidCodeError, false],
    [40163, WechatLoginCodeUsedError, false],
    [45011, WechatLoginRateLimitedError, false],
    [-1, WechatLoginUnavailableError, true],
    [40013, WechatLoginError, false],
    [40125, WechatLoginError, false],
  ])('maps errcode %i to its class, without the secret', async (errcode, cls, retryable) => {
    fake.setHandler(jsonReply({ errcode, errmsg: `failure, rid: 1 secret=${SECRET}` }));
    const error = await failure(oauth().exchangeCode('c'));
    expect(error).toBeInstanceOf(cls);
    expect(error.constructor).toBe(cls);
    expect(error.code).toBe(errcode);
    expect(error.retryable).toBe(retryable);
    expect(error.message).toContain(`oauth2 access_token ${errcode}`);
    expect(error.message).not.toContain(SECRET);
    expect(error.rawBody).toContain(String(errcode));
    expect(error.rawBody).not.toContain(SECRET);
    expect(error.httpStatus).toBe(200);
  });

  it('treats incomplete replies, non-JSON, HTTP errors and timeouts as unavailable, never leaking a token', async () => {
    for (const body of [
      { ...TOKEN_REPLY, openid: undefined },
      { ...TOKEN_REPLY, access_token: '' },
      { ...TOKEN_REPLY, expires_in: '7200' },
      { ...TOKEN_REPLY, expires_in: -1 },
    ]) {
      fake.setHandler(jsonReply(body));
      const error = await failure(oauth().exchangeCode('c'));
      expect(error).toMatchObject({ code: 'BAD_REPLY', retryable: true });
      // The reply holds the buyer's access_token: it is not kept on the error.
      expect(error.rawBody).toBeUndefined();
      expect(error.message).not.toContain('ACCESS_TOKEN_VALUE');
    }
    fake.setHandler(jsonReply([TOKEN_REPLY]));
    await expect(oauth().exchangeCode('c')).rejects.toMatchObject({ code: 'BAD_REPLY' });
    fake.setHandler((_r, res) => res.end('<html/>'));
    await expect(oauth().exchangeCode('c')).rejects.toMatchObject({ code: 'BAD_REPLY', rawBody: '<html/>' });
    fake.setHandler((_r, res) => {
      res.statusCode = 503;
      res.end('busy');
    });
    await expect(oauth().exchangeCode('c')).rejects.toMatchObject({ code: 'HTTP_503', httpStatus: 503 });
    fake.setHandler(() => undefined);
    await expect(oauth(100).exchangeCode('c')).rejects.toMatchObject({ code: 'TIMEOUT', retryable: true });
    fake.setHandler((_r, res) => res.end('x'.repeat(20 * 1024)));
    await expect(oauth().exchangeCode('c')).rejects.toMatchObject({ code: 'BAD_REPLY' });

    const refused = new OAuthClient({ appId: OA_APPID, secret: SECRET, baseUrl: 'http://127.0.0.1:1' });
    const error = await failure(refused.exchangeCode('c'));
    expect(error).toBeInstanceOf(WechatLoginUnavailableError);
    expect(`${error.message} ${String(error.cause)} ${error.stack}`).not.toContain(SECRET);
  });

  it('refuses an empty or absurd code without calling WeChat, and needs appId and secret', async () => {
    await expect(oauth().exchangeCode('')).rejects.toBeInstanceOf(WechatLoginInvalidCodeError);
    await expect(oauth().exchangeCode('x'.repeat(129))).rejects.toBeInstanceOf(WechatLoginInvalidCodeError);
    expect(fake.received).toHaveLength(0);
    expect(() => new OAuthClient({ appId: OA_APPID, secret: '' })).toThrow(TypeError);
    expect(() => new OAuthClient({ appId: '', secret: SECRET })).toThrow(TypeError);
  });

  it('is exported by the wechatpay barrel too', () => {
    expect(wechatpay.OAuthClient).toBe(OAuthClient);
    expect(wechatpay.oauthAuthorizeUrl).toBe(oauthAuthorizeUrl);
  });
});

import { describe, expect, it } from 'vitest';
import {
  Code2SessionClient,
  WechatError,
  WechatLoginBlockedError,
  WechatLoginCodeUsedError,
  WechatLoginError,
  WechatLoginInvalidCodeError,
  WechatLoginRateLimitedError,
  WechatLoginUnavailableError,
} from '../src/wechatpay/index.ts';
import { fakeWechatPerFile, jsonReply } from './fake-wechat.ts';

const SECRET = 'topsecret0app0secret000000000000';
const fake = fakeWechatPerFile();

const login = (timeoutMs = 2000) =>
  new Code2SessionClient({ appId: 'wxapp', secret: SECRET, baseUrl: fake.url, timeoutMs });

describe('Code2SessionClient', () => {
  it('exchanges a code (errcode missing means success) and sends the documented query', async () => {
    fake.setHandler(jsonReply({ openid: 'o1', session_key: 'sk==' }));
    await expect(login().code2Session('CODE-1')).resolves.toEqual({
      openid: 'o1',
      sessionKey: 'sk==',
      unionid: undefined,
    });
    const url = new URL(fake.received[0]!.url, 'http://x');
    expect(url.pathname).toBe('/sns/jscode2session');
    expect(Object.fromEntries(url.searchParams)).toEqual({
      appid: 'wxapp',
      secret: SECRET,
      js_code: 'CODE-1',
      grant_type: 'authorization_code',
    });
  });

  it('returns the unionid when there is one and accepts errcode 0', async () => {
    fake.setHandler(jsonReply({ errcode: 0, errmsg: 'ok', openid: 'o1', session_key: 'sk', unionid: 'u1' }));
    await expect(login().code2Session('c')).resolves.toMatchObject({ unionid: 'u1' });
  });

  it.each<[number, new (...a: never[]) => WechatLoginError, boolean]>([
    [40029, WechatLoginInvalidCodeError, false],
    [40163, WechatLoginCodeUsedError, false],
    [45011, WechatLoginRateLimitedError, false],
    [40226, WechatLoginBlockedError, false],
    [-1, WechatLoginUnavailableError, true],
    [40125, WechatLoginError, false],
  ])('maps errcode %i to its class', async (errcode, cls, retryable) => {
    fake.setHandler(jsonReply({ errcode, errmsg: `failure, rid: 1 secret=${SECRET}` }));
    const error = (await login()
      .code2Session('c')
      .catch((e: unknown) => e)) as WechatLoginError;
    expect(error).toBeInstanceOf(cls);
    expect(error.code).toBe(errcode);
    expect(error.retryable).toBe(retryable);
    expect(error.message).toContain(String(errcode));
    expect(error.message).not.toContain(SECRET);
  });

  it('treats a reply without openid/session_key, non-JSON, HTTP errors, timeouts and refusals as unavailable', async () => {
    fake.setHandler(jsonReply({ errcode: 0 }));
    await expect(login().code2Session('c')).rejects.toMatchObject({ code: 'BAD_REPLY', retryable: true });
    fake.setHandler((_r, res) => res.end('<html/>'));
    await expect(login().code2Session('c')).rejects.toMatchObject({ code: 'BAD_REPLY' });
    fake.setHandler((_r, res) => {
      res.statusCode = 503;
      res.end();
    });
    await expect(login().code2Session('c')).rejects.toMatchObject({ code: 'HTTP_503' });
    fake.setHandler(() => undefined);
    await expect(login(100).code2Session('c')).rejects.toMatchObject({ code: 'TIMEOUT', retryable: true });

    const refused = new Code2SessionClient({ appId: 'wxapp', secret: SECRET, baseUrl: 'http://127.0.0.1:1' });
    const error = (await refused.code2Session('c').catch((e: unknown) => e)) as Error;
    expect(error).toBeInstanceOf(WechatLoginUnavailableError);
    expect(`${error.message} ${String(error.cause)} ${error.stack}`).not.toContain(SECRET);
  });

  it('keeps the reply on the error (HTTP status, rawBody), with the secret masked and never a session_key', async () => {
    fake.setHandler(jsonReply({ errcode: 40125, errmsg: `invalid appsecret ${SECRET}` }));
    const error = (await login()
      .code2Session('c')
      .catch((e: unknown) => e)) as WechatLoginError;
    expect(error).toBeInstanceOf(WechatError);
    expect(error.httpStatus).toBe(200);
    expect(error.rawBody).toContain('40125');
    expect(error.rawBody).not.toContain(SECRET);

    fake.setHandler(jsonReply({ errcode: 0, session_key: 'sk-secret' }));
    const partial = (await login()
      .code2Session('c')
      .catch((e: unknown) => e)) as WechatLoginError;
    expect(partial).toMatchObject({ code: 'BAD_REPLY', rawBody: undefined });

    fake.setHandler((_r, res) => {
      res.statusCode = 502;
      res.end('bad gateway');
    });
    await expect(login().code2Session('c')).rejects.toMatchObject({
      httpStatus: 502,
      rawBody: 'bad gateway',
    });
  });

  it('refuses an empty or absurd code without calling WeChat', async () => {
    await expect(login().code2Session('')).rejects.toBeInstanceOf(WechatLoginInvalidCodeError);
    await expect(login().code2Session('x'.repeat(129))).rejects.toBeInstanceOf(WechatLoginInvalidCodeError);
    expect(fake.received).toHaveLength(0);
  });
});

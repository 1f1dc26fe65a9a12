import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Code2SessionClient,
  WechatLoginBlockedError,
  WechatLoginCodeUsedError,
  WechatLoginInvalidCodeError,
  WechatLoginUnavailableError,
} from '@mp-pay/shared/wechatpay';
import type { RunningSandbox } from '../src/index.ts';
import { DEMO, eventually, loginCode, postJson, sandbox } from './helpers.ts';

let sb: RunningSandbox;
beforeAll(async () => {
  sb = await sandbox({ timeScale: 1 });
});
afterAll(() => sb.close());

async function exchange(params: Record<string, string>, base = sb.url) {
  const url = new URL(`${base}/sns/jscode2session`);
  url.search = new URLSearchParams(params).toString();
  const res = await fetch(url);
  expect(res.status).toBe(200);
  return (await res.json()) as Record<string, unknown>;
}

const good = (code: string) => ({
  appid: DEMO.appId,
  secret: DEMO.secret,
  js_code: code,
  grant_type: 'authorization_code',
});

describe('POST /sandbox/login-codes (what wx.login yields)', () => {
  it('gives a stable openid per user and app, and a fresh code each time', async () => {
    const a = await loginCode(sb, 'bob');
    const b = await loginCode(sb, 'bob');
    const c = await loginCode(sb, 'carol');
    expect(a.openid).toBe(b.openid);
    expect(a.code).not.toBe(b.code);
    expect(c.openid).not.toBe(a.openid);
    expect(a.openid).toMatch(/^o[A-Za-z0-9_-]{27}$/);
  });

  it('refuses an unknown appid and malformed input', async () => {
    expect(await postJson(`${sb.url}/sandbox/login-codes`, { appid: 'wx1111111111111111' })).toMatchObject({
      status: 404,
      json: { error: 'UNKNOWN_APPID' },
    });
    expect((await postJson(`${sb.url}/sandbox/login-codes`, { appid: DEMO.appId, user: 'a b' })).status).toBe(
      400,
    );
    expect((await postJson(`${sb.url}/sandbox/login-codes`, [1])).status).toBe(400);
    expect((await postJson(`${sb.url}/sandbox/login-codes`, { appid: DEMO.appId, extra: 1 })).status).toBe(
      400,
    );
  });
});

describe('GET /sns/jscode2session', () => {
  it('exchanges a code for openid and session_key, without unionid unless configured', async () => {
    const { code, openid } = await loginCode(sb);
    const reply = await exchange(good(code));
    expect(Object.keys(reply).sort()).toEqual(['openid', 'session_key']);
    expect(reply.openid).toBe(openid);
  });

  it('adds a unionid, the same across apps, when configured', async () => {
    const other = {
      appId: 'wx0000000000000002',
      secret: 'otherAppSecret000000000000000002',
      mchId: '1900000202',
      key: 'k'.repeat(32),
    };
    const own = await sandbox({ unionId: true, extraAccounts: [other] });
    try {
      const first = await exchange(good((await loginCode(own, 'dora')).code), own.url);
      const code2 = (await loginCode(own, 'dora', other.appId)).code;
      const second = await exchange({ ...good(code2), appid: other.appId, secret: other.secret }, own.url);
      expect(first.unionid).toMatch(/^o[A-Za-z0-9_-]{27}$/);
      expect(second.unionid).toBe(first.unionid);
      expect(second.openid).not.toBe(first.openid);
    } finally {
      await own.close();
    }
  });

  it.each([
    ['a bad appid', { appid: 'wx9999999999999999' }, 40013, 'invalid appid'],
    ['a bad secret', { secret: 'wrong' }, 40125, 'invalid appsecret'],
    ['a bad grant_type', { grant_type: 'client_credential' }, 40002, 'invalid grant_type'],
    ['a missing code', { js_code: '' }, 41008, 'missing code'],
    ['an unknown code', { js_code: 'never-issued' }, 40029, 'invalid code'],
  ])('answers %s with errcode %i', async (_name, override, errcode, text) => {
    const { code } = await loginCode(sb);
    const reply = await exchange({ ...good(code), ...override });
    expect(reply.errcode).toBe(errcode);
    expect(reply.errmsg).toMatch(new RegExp(`^${text}, rid: [0-9a-f-]+$`));
    expect(JSON.stringify(reply)).not.toContain(DEMO.secret);
  });

  it('answers 40163 for a reused code', async () => {
    const { code } = await loginCode(sb);
    expect((await exchange(good(code))).openid).toBeDefined();
    expect((await exchange(good(code))).errcode).toBe(40163);
  });

  it('answers 40029 for a code of another app', async () => {
    const own = await sandbox({
      extraAccounts: [
        { appId: 'wx0000000000000002', secret: 'o'.repeat(32), mchId: '1900000202', key: 'k'.repeat(32) },
      ],
    });
    try {
      const { code } = await loginCode(own, 'erin', 'wx0000000000000002');
      expect((await exchange(good(code), own.url)).errcode).toBe(40029);
    } finally {
      await own.close();
    }
  });

  it('lets codes expire after 5 minutes, scaled', async () => {
    const fast = await sandbox({ timeScale: 3000 }); // 5 minutes = 100 ms
    try {
      const { code } = await loginCode(fast);
      await eventually(async () =>
        (await exchange(good(code), fast.url)).errcode === 40029 ? true : undefined,
      );
    } finally {
      await fast.close();
    }
    const { code } = await loginCode(sb);
    await postJson(`${sb.url}/sandbox/clock`, { advance_ms: 5 * 60_000 });
    expect((await exchange(good(code))).errcode).toBe(40029);
  });

  it('limits one user to 100 calls a minute (45011), other users unaffected', async () => {
    const own = await sandbox({ timeScale: 1 });
    try {
      for (let i = 0; i < 100; i++) {
        const { code } = await loginCode(own, 'hasty');
        expect((await exchange(good(code), own.url)).openid).toBeDefined();
      }
      const { code } = await loginCode(own, 'hasty');
      expect((await exchange(good(code), own.url)).errcode).toBe(45011);
      expect((await exchange(good((await loginCode(own, 'calm')).code), own.url)).openid).toBeDefined();
      // a minute later the user may log in again, with the same (unconsumed) code
      await postJson(`${own.url}/sandbox/clock`, { advance_ms: 60_000 });
      expect((await exchange(good(code), own.url)).openid).toBeDefined();
    } finally {
      await own.close();
    }
  });

  it('answers 40226 for a user WeChat’s risk control blocks', async () => {
    const { code } = await loginCode(sb, 'mallory');
    const blocked = (
      await postJson(`${sb.url}/sandbox/login-codes`, { appid: DEMO.appId, user: 'mallory', blocked: true })
    ).json as { code: string };
    expect((await exchange(good(blocked.code))).errcode).toBe(40226);
    expect((await exchange(good(code))).openid).toBeDefined();
    const client = new Code2SessionClient({ appId: DEMO.appId, secret: DEMO.secret, baseUrl: sb.url });
    const again = (await postJson(`${sb.url}/sandbox/login-codes`, { appid: DEMO.appId, blocked: true }))
      .json as {
      code: string;
    };
    await expect(client.code2Session(again.code)).rejects.toBeInstanceOf(WechatLoginBlockedError);
  });

  it('login faults per appid: -1 system busy leaves the code usable; slow replies', async () => {
    const own = await sandbox({ timeScale: 1 });
    try {
      const { code, openid } = await loginCode(own);
      const setFault = (faults: object) =>
        postJson(`${own.url}/sandbox/faults`, { appid: DEMO.appId, faults });
      expect((await setFault({ systemErrorRate: 1 })).status).toBe(200);
      expect(await exchange(good(code), own.url)).toMatchObject({
        errcode: -1,
        errmsg: expect.stringMatching(/^system error/),
      });
      const client = new Code2SessionClient({ appId: DEMO.appId, secret: DEMO.secret, baseUrl: own.url });
      const busy = await client.code2Session(code).catch((e: unknown) => e);
      expect(busy).toBeInstanceOf(WechatLoginUnavailableError);
      expect((busy as WechatLoginUnavailableError).retryable).toBe(true);

      await setFault({ slowReplyMs: 300 });
      const started = Date.now();
      expect((await exchange(good(code), own.url)).openid).toBe(openid);
      expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    } finally {
      await own.close();
    }
  });

  it('maps onto the shared client’s typed errors', async () => {
    const client = new Code2SessionClient({ appId: DEMO.appId, secret: DEMO.secret, baseUrl: sb.url });
    const { code } = await loginCode(sb);
    await client.code2Session(code);
    await expect(client.code2Session(code)).rejects.toBeInstanceOf(WechatLoginCodeUsedError);
    await expect(client.code2Session('nope')).rejects.toBeInstanceOf(WechatLoginInvalidCodeError);
  });
});

/**
 * Official-account OAuth (docs/channels.md "The sandbox's stand-ins"): GET /connect/oauth2/authorize logs the
 * browser's sandbox user in silently (snsapi_base) and redirects with a one-time code; GET
 * /sns/oauth2/access_token exchanges it with WeChat's errcodes; the openid then places JSAPI orders under the
 * official account's AppID and pays them through /sandbox/pay (what the WeixinJSBridge stand-in calls).
 */
import { describe, expect, it } from 'vitest';
import { miniProgramPayParams } from '@mp-pay/shared/wechatpay';
import { callV2, DEMO, eventually, postJson, sandbox, useSandboxAndReceiver } from './helpers.ts';
import { channelFields, OA } from './channel-helpers.ts';

const ctx = useSandboxAndReceiver();
const CALLBACK = 'http://127.0.0.1:3000/web/oauth/callback';

function authorizeUrl(params: Record<string, string | undefined> = {}, base = ctx.sb.url): string {
  const query = new URLSearchParams();
  const all: Record<string, string | undefined> = {
    appid: OA.appId,
    redirect_uri: CALLBACK,
    response_type: 'code',
    scope: 'snsapi_base',
    state: 'st4te',
    ...params,
  };
  for (const [name, value] of Object.entries(all)) if (value !== undefined) query.set(name, value);
  return `${base}/connect/oauth2/authorize?${query.toString()}#wechat_redirect`;
}

async function authorize(params: Record<string, string | undefined> = {}, cookie?: string) {
  const res = await fetch(authorizeUrl(params), {
    redirect: 'manual',
    headers: cookie ? { cookie } : {},
  });
  return {
    status: res.status,
    location: res.headers.get('location'),
    setCookie: res.headers.get('set-cookie'),
    html: await res.text(),
  };
}

async function codeFor(cookie?: string): Promise<{ code: string; cookie: string }> {
  const res = await authorize({}, cookie);
  expect(res.status).toBe(302);
  const back = new URL(String(res.location));
  const jar = cookie ?? String(res.setCookie).split(';')[0];
  return { code: String(back.searchParams.get('code')), cookie: jar as string };
}

async function exchange(params: Record<string, string | undefined>) {
  const query = new URLSearchParams();
  const all: Record<string, string | undefined> = {
    appid: OA.appId,
    secret: OA.secret,
    grant_type: 'authorization_code',
    ...params,
  };
  for (const [name, value] of Object.entries(all)) if (value !== undefined) query.set(name, value);
  const res = await fetch(`${ctx.sb.url}/sns/oauth2/access_token?${query.toString()}`);
  expect(res.status).toBe(200);
  return (await res.json()) as Record<string, unknown>;
}

describe('GET /connect/oauth2/authorize', () => {
  it('snsapi_base redirects at once with code and state, and creates the browser user cookie', async () => {
    const res = await authorize();
    expect(res.status).toBe(302);
    const back = new URL(String(res.location));
    expect(`${back.origin}${back.pathname}`).toBe(CALLBACK);
    expect(back.searchParams.get('state')).toBe('st4te');
    expect(back.searchParams.get('code')).toMatch(/^[0-9a-f]{32}$/);
    expect(res.setCookie).toMatch(/^sandbox_wx_user=u[0-9a-f]{16};.*httponly/i);
  });

  it("keeps redirect_uri's own query", async () => {
    const res = await authorize({ redirect_uri: `${CALLBACK}?next=%2Fshop%2Fpay.html` });
    const back = new URL(String(res.location));
    expect(back.searchParams.get('next')).toBe('/shop/pay.html');
    expect(back.searchParams.get('code')).toBeTruthy();
  });

  it.each([
    ['an unknown appid', { appid: 'wx00000000000000ff' }, 'appid参数错误', undefined],
    ["a mini-program's appid", { appid: DEMO.appId }, 'appid参数错误', undefined],
    ['no appid', { appid: undefined }, 'appid不能为空', 10012],
    [
      'a redirect_uri on another domain',
      { redirect_uri: 'https://evil.example/cb' },
      'redirect_uri域名与后台配置不一致',
      10003,
    ],
    ['a relative redirect_uri', { redirect_uri: '/web/oauth/callback' }, 'redirect_uri参数错误', 10011],
    ['a scope WeChat does not have', { scope: 'snsapi_login' }, 'scope参数错误或没有scope权限', 10005],
    ['no scope', { scope: undefined }, 'scope不能为空', 10010],
    ['response_type token', { response_type: 'token' }, 'response_type参数错误', undefined],
  ])("answers %s with WeChat's error page", async (_what, params, message, errcode) => {
    const res = await authorize(params);
    expect(res.status).toBe(200);
    expect(res.location).toBeNull();
    expect(res.html).toContain('id="sandbox-oauth-error"');
    expect(res.html).toContain(message);
    if (errcode !== undefined) expect(res.html).toContain(`<span id="sandbox-errcode">${errcode}</span>`);
  });

  it('escapes what it echoes', async () => {
    const res = await authorize({ appid: '<script>alert(1)</script>' });
    expect(res.html).not.toContain('<script>alert(1)</script>');
    expect(res.html).toContain('&lt;script&gt;');
  });

  it('snsapi_userinfo asks the buyer first; deny goes back without a code', async () => {
    const res = await authorize({ scope: 'snsapi_userinfo' });
    expect(res.status).toBe(200);
    const allow = /id="sandbox-oauth-allow" href="([^"]+)"/.exec(res.html)?.[1]?.replaceAll('&amp;', '&');
    const deny = /id="sandbox-oauth-deny" href="([^"]+)"/.exec(res.html)?.[1]?.replaceAll('&amp;', '&');
    expect(new URL(String(allow)).searchParams.get('code')).toBeTruthy();
    expect(new URL(String(deny)).searchParams.get('code')).toBeNull();
    expect(new URL(String(deny)).searchParams.get('state')).toBe('st4te');
    const token = await exchange({ code: String(new URL(String(allow)).searchParams.get('code')) });
    expect(token.scope).toBe('snsapi_userinfo');
  });

  it('only the configured OAuth domains are accepted', async () => {
    const strict = await sandbox({ oauthDomains: ['shop.example'] });
    try {
      const here = await fetch(authorizeUrl({}, strict.url), { redirect: 'manual' });
      expect(await here.text()).toContain('redirect_uri域名与后台配置不一致');
      const there = await fetch(
        authorizeUrl({ redirect_uri: 'https://shop.example/web/oauth/callback' }, strict.url),
        {
          redirect: 'manual',
        },
      );
      expect(there.status).toBe(302);
    } finally {
      await strict.close();
    }
  });
});

describe('GET /sns/oauth2/access_token', () => {
  it('exchanges a code once for {access_token, expires_in, refresh_token, openid, scope}', async () => {
    const { code } = await codeFor();
    const token = await exchange({ code });
    expect(token).toEqual({
      access_token: expect.any(String),
      expires_in: 7200,
      refresh_token: expect.any(String),
      openid: expect.stringMatching(/^o.{27}$/),
      scope: 'snsapi_base',
    });
    expect(await exchange({ code })).toMatchObject({
      errcode: 40163,
      errmsg: expect.stringMatching(/^code been used, rid: /),
    });
  });

  it('one browser is one user: the same openid on every visit, another browser another', async () => {
    const first = await codeFor();
    const again = await codeFor(first.cookie);
    const stranger = await codeFor();
    const a = await exchange({ code: first.code });
    const b = await exchange({ code: again.code });
    const c = await exchange({ code: stranger.code });
    expect(b.openid).toBe(a.openid);
    expect(c.openid).not.toBe(a.openid);
  });

  it.each([
    ['an unknown appid', 40013, { appid: 'wx00000000000000ff' }],
    ['a wrong secret', 40125, { secret: 'x'.repeat(32) }],
    ['another grant_type', 40002, { grant_type: 'client_credential' }],
    ['no code', 41008, { code: undefined }],
    ['an unknown code', 40029, { code: 'f'.repeat(32) }],
    ['the code exchanged by another app', 40029, { appid: DEMO.appId, secret: DEMO.secret }],
  ])('answers %s with errcode %i', async (_what, errcode, params) => {
    const { code } = await codeFor();
    const reply = await exchange({ code, ...params });
    expect(reply).toMatchObject({ errcode, errmsg: expect.stringContaining(', rid: ') });
    expect(reply.openid).toBeUndefined();
  });

  it('a code older than 5 minutes is 40029', async () => {
    const { code } = await codeFor();
    await postJson(`${ctx.sb.url}/sandbox/clock`, { advance_ms: 5 * 60_000 + 1 });
    expect(await exchange({ code })).toMatchObject({ errcode: 40029 });
  });
});

describe('JSAPI with the official account', () => {
  it('the exchanged openid places a JSAPI order under the OA AppID and pays through /sandbox/pay', async () => {
    const { code } = await codeFor();
    const openid = String((await exchange({ code })).openid);
    const fields = channelFields('JSAPI', ctx.receiver.url, { appid: OA.appId, openid });
    const placed = await callV2(ctx.sb, '/pay/unifiedorder', fields);
    expect(placed).toMatchObject({ result_code: 'SUCCESS', trade_type: 'JSAPI', appid: OA.appId });
    const params = miniProgramPayParams({
      appId: OA.appId,
      prepayId: String(placed.prepay_id),
      key: DEMO.key,
      signType: 'MD5',
    });
    const paid = await postJson(`${ctx.sb.url}/sandbox/pay`, { appId: OA.appId, ...params });
    expect(paid.json).toEqual({ errMsg: 'requestPayment:ok' });
    const body = await eventually(
      () => ctx.receiver.received.find((r) => r.body.includes(String(fields.out_trade_no)))?.body,
    );
    expect(body).toContain(openid);
  });

  it('an openid the OAuth never gave is appid和openid不匹配', async () => {
    const fields = channelFields('JSAPI', ctx.receiver.url, { appid: OA.appId, openid: 'o'.repeat(28) });
    const placed = await callV2(ctx.sb, '/pay/unifiedorder', fields);
    expect(placed).toMatchObject({ err_code: 'PARAM_ERROR', err_code_des: 'appid和openid不匹配' });
  });
});

/**
 * Official-account sign-in (docs/channels.md "Who pays"): GET /web/oauth/start and /web/oauth/callback against
 * the sandbox's OAuth pages over HTTP. The state cookie ties the callback to the browser that started it (login
 * CSRF), a code works once, `next` never leaves the web checkout, and the token travels only in the fragment.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { followCallback, oauthSignIn } from './helpers/channels.ts';
import { bearer, startStack, type Stack } from './helpers/stack.ts';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ label: 'oauth' });
});
afterAll(async () => {
  await stack?.close();
});

describe('GET /web/oauth/start', () => {
  it('sends the browser to the authorize page with snsapi_base, our callback and a state held in a cookie', async () => {
    const res = await fetch(
      `${stack.server.url}/web/oauth/start?next=${encodeURIComponent('/shop/oa.html?order=7')}`,
      {
        redirect: 'manual',
      },
    );
    expect(res.status).toBe(302);
    const location = new URL(res.headers.get('location') as string);
    expect(location.origin).toBe(stack.sandbox.url);
    expect(location.pathname).toBe('/connect/oauth2/authorize');
    expect(location.hash).toBe('#wechat_redirect');
    const params = location.searchParams;
    expect(params.get('appid')).toBe(stack.server.config.channels.officialAccount?.appId);
    expect(params.get('redirect_uri')).toBe(`${stack.server.url}/web/oauth/callback`);
    expect(params.get('response_type')).toBe('code');
    expect(params.get('scope')).toBe('snsapi_base');
    const state = params.get('state') as string;
    expect(state).toMatch(/^[0-9a-f]{32}$/);
    const [cookie] = res.headers.getSetCookie();
    expect(cookie).toMatch(new RegExp(`^mp_oauth=${state}\\.`));
    expect(cookie).toMatch(/; HttpOnly/i);
    expect(cookie).toMatch(/; SameSite=Lax/i);
    expect(cookie).toMatch(/; Path=\/web\/oauth/i);
    expect(cookie).not.toMatch(/; Secure/i); // the test's public address is plain HTTP
    // Ten minutes (Koa writes the lifetime as Expires).
    const expires = Date.parse(/; expires=([^;]+)/i.exec(cookie ?? '')?.[1] ?? '');
    expect(Math.abs(expires - (Date.now() + 600_000))).toBeLessThan(5_000);
  });

  it('two starts get two different states', async () => {
    const a = await fetch(`${stack.server.url}/web/oauth/start`, { redirect: 'manual' });
    const b = await fetch(`${stack.server.url}/web/oauth/start`, { redirect: 'manual' });
    const state = (r: Response) => new URL(r.headers.get('location') as string).searchParams.get('state');
    expect(state(a)).not.toBe(state(b));
  });
});

describe('GET /web/oauth/callback', () => {
  it('signs the buyer in and returns them to next with the token in the fragment only', async () => {
    const trip = await oauthSignIn(stack, '/shop/oa.html?order=42');
    expect(trip.location).toMatch(/^\/shop\/oa\.html\?order=42#session=[A-Za-z0-9_-]{43}&expiresIn=\d+$/);
    const token = trip.fragment.get('session') as string;
    // A working session, for the official account's identity.
    const orders = await fetch(`${stack.server.url}/api/orders`, { headers: bearer(token) });
    expect(orders.status).toBe(200);
  });

  it('the same WeChat user signs in as the same user again', async () => {
    const buyer = 'sandbox_wx_user=oauth-same-user';
    const one = await oauthSignIn(stack, '/shop/', { buyerCookie: buyer });
    const two = await oauthSignIn(stack, '/shop/', { buyerCookie: buyer });
    const me = async (token: string) => {
      const body = (await (
        await fetch(`${stack.server.url}/api/orders`, {
          method: 'POST',
          headers: { ...bearer(token), 'content-type': 'application/json' },
          body: JSON.stringify({ items: [{ productId: 'green-tea', quantity: 1 }], channel: 'native' }),
        })
      ).json()) as { order: { id: string } };
      return (await stack.server.store.orders.getOrder(body.order.id))?.userId;
    };
    const first = one.fragment.get('session') as string;
    const second = two.fragment.get('session') as string;
    expect(first).not.toBe(second);
    expect(await me(first)).toBe(await me(second));
  });

  it('refuses a callback whose state does not match the cookie (login CSRF)', async () => {
    const forged = await oauthSignIn(stack, '/shop/oa.html', { state: 'f'.repeat(32) });
    expect(forged.location).toBe('/shop/oa.html#error=invalid_request');
    expect(forged.fragment.get('session')).toBeNull();
  });

  it('refuses a callback without the state cookie (another browser), back to /shop/', async () => {
    const noCookie = await oauthSignIn(stack, '/shop/oa.html', { dropCookie: true });
    expect(noCookie.location).toBe('/shop/#error=invalid_request');
  });

  it('a code works once: replaying the callback answers login_code_used', async () => {
    const trip = await oauthSignIn(stack, '/shop/oa.html');
    expect(trip.fragment.get('session')).toBeTruthy();
    const again = await followCallback(trip.callbackUrl, trip.stateCookie);
    expect(again.location).toBe('/shop/oa.html#error=login_code_used');
  });

  it('an unknown code answers login_code_invalid', async () => {
    const trip = await oauthSignIn(stack, '/shop/oa.html');
    const url = new URL(trip.callbackUrl);
    url.searchParams.set('code', 'not-a-code-wechat-issued');
    const bad = await followCallback(url.toString(), trip.stateCookie);
    expect(bad.location).toBe('/shop/oa.html#error=login_code_invalid');
  });

  it('a callback without code or state (or with repeated ones) is refused, never a server error', async () => {
    const trip = await oauthSignIn(stack, '/shop/oa.html');
    const bare = await followCallback(`${stack.server.url}/web/oauth/callback`, trip.stateCookie);
    expect(bare.location).toBe('/shop/oa.html#error=invalid_request');
    const state = new URL(trip.callbackUrl).searchParams.get('state') as string;
    const repeated = await followCallback(
      `${stack.server.url}/web/oauth/callback?code=a&code=b&state=${state}&state=${state}`,
      trip.stateCookie,
    );
    expect(repeated.location).toBe('/shop/oa.html#error=invalid_request');
  });

  it('clears the state cookie whatever the outcome', async () => {
    const trip = await oauthSignIn(stack, '/shop/');
    const res = await fetch(trip.callbackUrl, { redirect: 'manual', headers: { cookie: trip.stateCookie } });
    const [cookie] = res.headers.getSetCookie();
    expect(cookie).toMatch(/^mp_oauth=;/);
    expect(cookie).toMatch(/; Path=\/web\/oauth/i);
    expect(cookie).toMatch(/; expires=Thu, 01 Jan 1970 00:00:00 GMT/i);
  });

  it.each([
    ['https://evil.example/shop/'],
    ['//evil.example/shop/'],
    ['/\\evil.example/shop/'],
    ['/shop/../admin/orders'],
    ['/shop/%2e%2e/admin'],
    ['/api/orders'],
    ['shop/'],
    ['javascript:alert(1)'],
    ['/shop/\nx'],
  ])('a next outside the web checkout (%j) returns to /shop/', async (next) => {
    const trip = await oauthSignIn(stack, next);
    expect(trip.location.startsWith('/shop/#session=')).toBe(true);
  });
});

describe('the state cookie behind HTTPS', () => {
  it('is Secure when PUBLIC_BASE_URL is https, even over the plain hop from a TLS-terminating proxy', async () => {
    const https = await startStack({
      label: 'oauth-https',
      env: { PUBLIC_BASE_URL: 'https://shop.example.com' },
    });
    try {
      const res = await fetch(`${https.server.url}/web/oauth/start?next=/shop/`, { redirect: 'manual' });
      expect(res.status).toBe(302);
      const [cookie] = res.headers.getSetCookie();
      expect(cookie).toMatch(/^mp_oauth=[0-9a-f]{32}\./);
      expect(cookie).toMatch(/; Secure/i);
      expect(cookie).toMatch(/; HttpOnly/i);
    } finally {
      await https.close();
    }
  });
});

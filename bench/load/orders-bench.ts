import { API_ROUTES, type ProductListResponse, type SessionResponse } from '@mp-pay/shared/api';
import { load, type LoadResult } from '../lib/load.ts';

/**
 * Order creation end to end: buyers sign in with sandbox login codes (POST /api/session → code2Session at the
 * sandbox), then POST /api/orders as fast as the stack allows; each order is priced from the catalogue, stored
 * in Redis and placed at the sandbox with unifiedorder, and the reply carries signed wx.requestPayment params.
 */
async function json<T>(url: string, init: RequestInit): Promise<T> {
  const res = await fetch(url, init);
  const text = await res.text();
  if (!res.ok) throw new Error(`${init.method ?? 'GET'} ${url} → ${res.status}: ${text.slice(0, 200)}`);
  return JSON.parse(text) as T;
}

export async function signInBuyers(serverUrl: string, sandboxUrl: string, appId: string, count: number) {
  const tokens: string[] = [];
  for (let i = 0; i < count; i++) {
    const { code } = await json<{ code: string }>(`${sandboxUrl}/sandbox/login-codes`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ appid: appId, user: `bench-buyer-${i}` }),
    });
    const session = await json<SessionResponse>(`${serverUrl}${API_ROUTES.session}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ code }),
    });
    tokens.push(session.token);
  }
  return tokens;
}

/**
 * Sign-in under load: `count` distinct buyers each get a login code from the sandbox first (not timed), then
 * POST /api/session exchanges them as fast as the stack allows (code2Session at the sandbox, session in Redis).
 */
export async function runSignIn(options: {
  serverUrl: string;
  sandboxUrl: string;
  appId: string;
  count: number;
  connections: number;
}): Promise<LoadResult> {
  const codes: string[] = [];
  for (let start = 0; start < options.count; start += 50) {
    const batch = Array.from({ length: Math.min(50, options.count - start) }, (_, k) =>
      json<{ code: string }>(`${options.sandboxUrl}/sandbox/login-codes`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ appid: options.appId, user: `bench-signin-${start + k}` }),
      }),
    );
    codes.push(...(await Promise.all(batch)).map((r) => r.code));
  }
  let next = 0;
  return load(
    {
      url: options.serverUrl,
      connections: options.connections,
      amount: codes.length,
      timeout: 10,
      verifyBody: (reply) => reply.includes('"token"'),
    },
    {
      method: 'POST',
      path: API_ROUTES.session,
      headers: { 'content-type': 'application/json' },
      setupRequest: (request) => ({
        ...request,
        body: JSON.stringify({ code: codes[next++ % codes.length] }),
      }),
    },
  );
}

export async function runOrderCreation(options: {
  serverUrl: string;
  tokens: string[];
  seconds: number;
  connections: number;
}): Promise<LoadResult> {
  const { products } = await json<ProductListResponse>(`${options.serverUrl}${API_ROUTES.products}`, {});
  const product = products[0];
  if (!product) throw new Error('the server catalogue is empty');
  const body = JSON.stringify({ items: [{ productId: product.id, quantity: 1 }] });
  let next = 0;
  return load(
    {
      url: options.serverUrl,
      connections: options.connections,
      duration: options.seconds,
      timeout: 10,
      verifyBody: (reply) => reply.includes('"paySign"'),
    },
    {
      method: 'POST',
      path: API_ROUTES.orders,
      setupRequest: (request) => ({
        ...request,
        headers: {
          'content-type': 'application/json',
          authorization: `Bearer ${options.tokens[next++ % options.tokens.length]}`,
        },
        body,
      }),
    },
  );
}

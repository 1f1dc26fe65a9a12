/**
 * Authorised calls to the merchant server: Bearer token from auth.ts, and when the server answers 401 (token
 * expired or unknown) one fresh login and one retry. A second 401 is reported, not retried forever.
 */
import { apiBaseUrl } from './environment';
import { getStoredToken, getToken, login } from './auth';
import type { HttpMethod } from './http';
import { send, unwrap } from './http';

export interface ApiCall<T> {
  method: HttpMethod;
  /** Path from API_ROUTES, plus a query string for GETs. */
  path: string;
  data?: object;
  headers?: Record<string, string>;
  guard: (body: unknown) => body is T;
}

export async function apiRequest<T>(call: ApiCall<T>): Promise<T> {
  const token = await getToken();
  let res = await sendWith(call, token);
  if (res.status === 401) {
    // Another request may already have logged in again while this one was in flight: use its token.
    const current = getStoredToken();
    const fresh = current !== null && current !== token ? current : await login();
    res = await sendWith(call, fresh);
  }
  return unwrap(res, call.guard);
}

/** A call that needs no session (the catalogue): no login just to look at products. */
export async function publicRequest<T>(call: ApiCall<T>): Promise<T> {
  const res = await send({
    method: call.method,
    url: apiBaseUrl() + call.path,
    ...(call.data !== undefined ? { data: call.data } : {}),
    ...(call.headers !== undefined ? { headers: call.headers } : {}),
  });
  return unwrap(res, call.guard);
}

function sendWith<T>(call: ApiCall<T>, token: string) {
  return send({
    method: call.method,
    url: apiBaseUrl() + call.path,
    ...(call.data !== undefined ? { data: call.data } : {}),
    headers: { ...call.headers, Authorization: `Bearer ${token}` },
  });
}

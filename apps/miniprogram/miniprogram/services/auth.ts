/**
 * Sessions: a login code goes to POST /api/session, which answers with our own opaque bearer token (the
 * WeChat session_key never leaves the server). The token is kept in storage so a relaunch does not log in
 * again; when the server rejects it, api.ts calls login() once more.
 *
 * Where the login code comes from:
 * - live mode: wx.login(), as in production;
 * - sandbox mode: the sandbox's POST /sandbox/login-codes. In DevTools wx.login returns a real WeChat code
 *   that only WeChat can redeem, and the server in sandbox mode redeems codes at the sandbox. The sandbox
 *   maps a user name to an openid, so each device keeps one random name in storage and stays the same buyer
 *   (with the same orders) across launches.
 */
import { API_ROUTES } from '../generated/api';
import { apiBaseUrl } from './environment';
import { ApiError } from './errors';
import { isSessionResponse } from './guards';
import { send, unwrap } from './http';
import type { SandboxConfig } from './server-config';
import { getServerMode } from './server-config';

export const TOKEN_STORAGE_KEY = 'mp-pay:token';
export const SANDBOX_USER_STORAGE_KEY = 'mp-pay:sandbox-user';

export function getStoredToken(): string | null {
  const value: unknown = wx.getStorageSync(TOKEN_STORAGE_KEY);
  return typeof value === 'string' && value.length > 0 ? value : null;
}

/** The stored token, or a fresh one from logging in. */
export async function getToken(): Promise<string> {
  return getStoredToken() ?? login();
}

let inFlight: Promise<string> | null = null;

/**
 * Logs in and stores the new token. Concurrent callers (several requests that all saw a 401) share one
 * login instead of spending one login code each.
 */
export function login(): Promise<string> {
  if (!inFlight) {
    inFlight = doLogin().finally(() => {
      inFlight = null;
    });
  }
  return inFlight;
}

async function doLogin(): Promise<string> {
  const mode = await getServerMode();
  const code = mode.mode === 'sandbox' ? await sandboxLoginCode(mode) : await wxLoginCode();
  const res = await send({ method: 'POST', url: apiBaseUrl() + API_ROUTES.session, data: { code } });
  const { token } = unwrap(res, isSessionResponse);
  wx.setStorageSync(TOKEN_STORAGE_KEY, token);
  return token;
}

function wxLoginCode(): Promise<string> {
  return new Promise((resolve, reject) => {
    wx.login({
      success: (res) => {
        if (res.code) resolve(res.code);
        else reject(new ApiError('login_failed', `wx.login gave no code: ${res.errMsg}`));
      },
      fail: (err) => reject(new ApiError('login_failed', `wx.login failed: ${err.errMsg}`)),
    });
  });
}

/** This device's sandbox buyer: created once, then kept in storage. */
export function sandboxUser(): string {
  const stored: unknown = wx.getStorageSync(SANDBOX_USER_STORAGE_KEY);
  if (typeof stored === 'string' && stored.length > 0) return stored;
  // Not a secret, only a name the sandbox turns into an openid: Math.random is enough to keep devices apart.
  const name = `device-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
  wx.setStorageSync(SANDBOX_USER_STORAGE_KEY, name);
  return name;
}

function isLoginCode(v: unknown): v is { code: string } {
  return typeof v === 'object' && v !== null && typeof (v as { code?: unknown }).code === 'string';
}

async function sandboxLoginCode(mode: SandboxConfig): Promise<string> {
  const res = await send({
    method: 'POST',
    url: `${mode.sandboxUrl}/sandbox/login-codes`,
    data: { appid: mode.appId, user: sandboxUser() },
  });
  if (res.status < 200 || res.status >= 300 || !isLoginCode(res.body)) {
    throw new ApiError('login_failed', `sandbox login code: HTTP ${res.status}`, res.status);
  }
  return res.body.code;
}

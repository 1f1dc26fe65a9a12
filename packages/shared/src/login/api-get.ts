import { WechatTransportError, type WechatErrorOptions } from '../core/errors.ts';
import type { HttpReply, HttpTransport } from '../core/transport.ts';
import {
  WechatLoginBlockedError,
  WechatLoginCodeUsedError,
  WechatLoginError,
  WechatLoginInvalidCodeError,
  WechatLoginRateLimitedError,
  WechatLoginUnavailableError,
} from './errors.ts';

/**
 * The one GET of the WeChat login APIs (jscode2session, sns/oauth2/access_token): same query-string secret, same
 * JSON reply with `errcode`, same errcodes (docs/protocol.md §1, §9). Internal to login/: each client keeps its
 * own typed result.
 *
 * Errors never carry the app secret: the request URL (which holds it) is never put into a message, and a reply
 * kept as rawBody has the secret masked, and is left out entirely when it could hold a credential of the user
 * (session_key, access_token, refresh_token).
 */
export interface LoginGet {
  transport: HttpTransport;
  /** Base URL without a trailing slash. */
  baseUrl: string;
  path: string;
  query: Readonly<Record<string, string>>;
  /** Masked wherever a reply's text reaches an error. */
  secret: string;
  timeoutMs: number;
  /** The call's name in messages: `code2Session`, `oauth2 access_token`. */
  name: string;
}

const MAX_REPLY_BYTES = 16 * 1024;
/** A reply naming any of these holds a user credential: it never reaches an error's rawBody. */
const CREDENTIAL_FIELDS = ['session_key', 'access_token', 'refresh_token'];

/** GETs a login API and returns its JSON object when errcode is absent or 0; every failure a WechatLoginError. */
export async function loginApiGet(call: LoginGet): Promise<{
  reply: Record<string, unknown>;
  details: WechatErrorOptions;
}> {
  const url = new URL(call.baseUrl + call.path);
  url.search = new URLSearchParams(call.query).toString();
  let res: HttpReply;
  try {
    res = await call.transport.request({
      method: 'GET',
      url,
      headers: { accept: 'application/json' },
      timeoutMs: call.timeoutMs,
      maxBytes: MAX_REPLY_BYTES,
    });
  } catch (err) {
    if (!(err instanceof WechatTransportError)) throw err;
    if (err.code === 'TIMEOUT') {
      throw new WechatLoginUnavailableError(
        'TIMEOUT',
        `${call.name} did not answer within ${call.timeoutMs} ms`,
      );
    }
    if (err.code === 'TOO_LARGE') {
      throw new WechatLoginUnavailableError('BAD_REPLY', `${call.name} reply is too large`);
    }
    // Deliberately no `cause`: a transport error could one day quote the request URL, which holds the secret.
    throw new WechatLoginUnavailableError('NETWORK', 'could not reach the WeChat login service');
  }
  const details: WechatErrorOptions = { httpStatus: res.status, rawBody: safeBody(res.text, call.secret) };
  if (res.status < 200 || res.status > 299) {
    throw new WechatLoginUnavailableError(
      `HTTP_${res.status}`,
      `${call.name} answered HTTP ${res.status}`,
      details,
    );
  }
  let body: unknown;
  try {
    body = JSON.parse(res.text);
  } catch {
    throw new WechatLoginUnavailableError('BAD_REPLY', `${call.name} reply is not JSON`, details);
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new WechatLoginUnavailableError('BAD_REPLY', `${call.name} reply is not a JSON object`, details);
  }
  const reply = body as Record<string, unknown>;
  const errcode = reply.errcode === undefined ? 0 : Number(reply.errcode);
  if (errcode !== 0) {
    const errmsg = typeof reply.errmsg === 'string' ? reply.errmsg : '';
    throw loginErrorFor(errcode, errmsg, call, details);
  }
  return { reply, details };
}

/** The errcode → class mapping shared by every login call. */
function loginErrorFor(
  errcode: number,
  errmsg: string,
  call: Pick<LoginGet, 'name' | 'secret'>,
  details: WechatErrorOptions,
): WechatLoginError {
  const detail = `${call.name} ${errcode}: ${errmsg.replaceAll(call.secret, '***') || 'no errmsg'}`;
  switch (errcode) {
    case 40029:
      return new WechatLoginInvalidCodeError(errcode, detail, details);
    case 40163:
      return new WechatLoginCodeUsedError(errcode, detail, details);
    case 45011:
      return new WechatLoginRateLimitedError(errcode, detail, details);
    case 40226:
      return new WechatLoginBlockedError(errcode, detail, details);
    case -1:
      return new WechatLoginUnavailableError(errcode, detail, details);
    default:
      // 40013 (bad appid), 40125 (bad secret) and the rest are configuration errors, not the user's.
      return new WechatLoginError(errcode, detail, details);
  }
}

/** The reply text fit for an error's rawBody: secret masked; dropped when it may hold a user credential. */
function safeBody(text: string, secret: string): string | undefined {
  if (CREDENTIAL_FIELDS.some((field) => text.includes(field))) return undefined;
  return text.replaceAll(secret, '***');
}

/** A login code (wx.login's or OAuth's) is opaque but never empty, and WeChat's are far below 128 characters. */
export function checkLoginCode(code: unknown, name: string): asserts code is string {
  if (typeof code !== 'string' || code.length === 0 || code.length > 128) {
    throw new WechatLoginInvalidCodeError(40029, `${name}: the code is empty or too long`);
  }
}

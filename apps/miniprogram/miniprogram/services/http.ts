/**
 * wx.request as a promise. This layer knows nothing about sessions: it sends, and turns the reply into either
 * the JSON body (2xx) or an ApiError carrying the server's error id. Authorisation lives in api.ts.
 */
import { config } from '../config';
import { envVersion } from './env-version';
import { checkRequestUrl } from './environment';
import { ApiError, isErrorBody } from './errors';
import { logRequestFailure } from './log';

export type HttpMethod = 'GET' | 'POST';

export interface HttpRequest {
  method: HttpMethod;
  /** Absolute URL. */
  url: string;
  data?: object;
  headers?: Record<string, string>;
}

export interface HttpResponse {
  status: number;
  body: unknown;
}

/**
 * `request:fail` messages that mean WeChat itself refused the request: the domain is not in the request 合法域名
 * list, or TLS failed (certificate, protocol version). The developer's problem, not the buyer's network. The
 * numbers are the platform error codes the base library appends (-2 on Android is the TLS/host failure;
 * -202 and -207 certificate and handshake errors on iOS).
 */
const BLOCKED_PATTERNS: readonly RegExp[] = [
  /url not in domain list/i,
  /not in domain list/i,
  /ssl ?hand ?shake/i,
  /certificate/i,
  /\btls\b/i,
  /request:fail -2(?:\D|$)/,
  /request:fail -20[27](?:\D|$)/,
];

export function isBlockedRequest(errMsg: string): boolean {
  return BLOCKED_PATTERNS.some((re) => re.test(errMsg));
}

/** Whether the phone has no network at all (wx.getNetworkType says 'none'); false when it cannot tell. */
function isOffline(): Promise<boolean> {
  return new Promise((resolve) => {
    try {
      wx.getNetworkType({
        success: (res) => resolve(res.networkType === 'none'),
        fail: () => resolve(false),
      });
    } catch {
      resolve(false);
    }
  });
}

/**
 * The ApiError for a request that got no response: `request_blocked` (domain list / TLS: the developer's),
 * `offline` (no network on the phone) or `network_error` (anything else: timeout, server down).
 */
export async function noResponseError(req: HttpRequest, errMsg: string): Promise<ApiError> {
  const detail = `${req.method} ${req.url}: ${errMsg}`;
  if (isBlockedRequest(errMsg)) return new ApiError('request_blocked', detail);
  if (await isOffline()) return new ApiError('offline', detail);
  return new ApiError('network_error', detail);
}

/**
 * Resolves with any HTTP status; rejects only when no response arrived (ApiError request_blocked, offline or
 * network_error; see noResponseError) or the URL may not be requested in this version (config_error: http
 * outside develop). Failures, and 5xx replies, go to the real-time log without the query string.
 */
export function send(req: HttpRequest): Promise<HttpResponse> {
  try {
    checkRequestUrl(envVersion(), req.url);
  } catch (err) {
    logRequestFailure({ method: req.method, url: req.url, status: 0, errMsg: (err as Error).message });
    return Promise.reject(err);
  }
  return new Promise((resolve, reject) => {
    const header: Record<string, string> = { ...req.headers };
    if (req.data !== undefined) header['content-type'] = 'application/json';
    wx.request({
      url: req.url,
      method: req.method,
      // wx.request sends GET data as a query string: GETs carry their query in the URL instead.
      ...(req.data !== undefined ? { data: req.data as WechatMiniprogram.IAnyObject } : {}),
      header,
      dataType: 'json',
      timeout: config.requestTimeoutMs,
      success: (res) => {
        if (res.statusCode >= 500) {
          logRequestFailure({ method: req.method, url: req.url, status: res.statusCode, errMsg: res.errMsg });
        }
        resolve({ status: res.statusCode, body: res.data });
      },
      fail: (err) => {
        logRequestFailure({ method: req.method, url: req.url, status: 0, errMsg: err.errMsg });
        void noResponseError(req, err.errMsg).then(reject);
      },
    });
  });
}

/** The 2xx body checked by `guard`, or an ApiError built from the server's ErrorBody. */
export function unwrap<T>(res: HttpResponse, guard: (body: unknown) => body is T): T {
  if (res.status >= 200 && res.status < 300) {
    if (!guard(res.body))
      throw new ApiError('bad_response', `unexpected response body (HTTP ${res.status})`, res.status);
    return res.body;
  }
  if (isErrorBody(res.body)) {
    throw new ApiError(res.body.error, res.body.message, res.status, res.body.requestId);
  }
  throw new ApiError(
    res.status === 401 ? 'unauthorized' : 'bad_response',
    `HTTP ${res.status} without an error body`,
    res.status,
  );
}

/**
 * wx.request as a promise. This layer knows nothing about sessions: it sends, and turns the reply into either
 * the JSON body (2xx) or an ApiError carrying the server's error id. Authorisation lives in api.ts.
 */
import { config } from '../config';
import { ApiError, isErrorBody } from './errors';

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

/** Resolves with any HTTP status; rejects only when no response arrived (ApiError network_error). */
export function send(req: HttpRequest): Promise<HttpResponse> {
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
      success: (res) => resolve({ status: res.statusCode, body: res.data }),
      fail: (err) => reject(new ApiError('network_error', `${req.method} ${req.url}: ${err.errMsg}`)),
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

// @ts-check
/**
 * The server's HTTP API as the pages use it. The browser cannot import the TypeScript contract
 * (`@mp-pay/shared/api`), so the few paths used here are copied; test/api-paths.test.ts checks they equal
 * API_ROUTES. Every non-2xx answer becomes an ApiError carrying the server's ErrorBody.
 */

/** @typedef {import('@mp-pay/shared/api').ErrorBody} ErrorBody */

export const API_PATHS = {
  guestSession: '/api/session/guest',
  oauthStart: '/web/oauth/start',
  clientConfig: '/api/config',
  products: '/api/products',
  orders: '/api/orders',
  /** @param {string} id */
  order: (id) => `/api/orders/${encodeURIComponent(id)}`,
  /** @param {string} id */
  orderPayment: (id) => `/api/orders/${encodeURIComponent(id)}/payment`,
  /** @param {string} id */
  orderQr: (id) => `/api/orders/${encodeURIComponent(id)}/payment/qr.svg`,
};

/** A failed call: `error` is the server's ErrorId, or `network` / `bad_response` when no ErrorBody came. */
export class ApiError extends Error {
  /**
   * @param {number} status HTTP status, 0 when the server could not be reached
   * @param {string} error
   * @param {string} message
   * @param {string} [requestId]
   */
  constructor(status, error, message, requestId) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.error = error;
    this.requestId = requestId;
  }

  /** The session is gone: get a new one and try again. */
  get isAuth() {
    return this.error === 'unauthorized' || this.error === 'session_expired';
  }
}

/**
 * @typedef {object} CallOptions
 * @property {string} [method]
 * @property {unknown} [body] sent as JSON
 * @property {string} [token] bearer token
 * @property {Record<string, string>} [headers]
 */

/**
 * @param {string} path
 * @param {CallOptions} [options]
 * @returns {Promise<Response>} a 2xx response
 */
export async function callRaw(path, options = {}) {
  /** @type {Record<string, string>} */
  const headers = { accept: 'application/json', ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  /** @type {Response} */
  let res;
  try {
    res = await fetch(path, {
      method: options.method ?? 'GET',
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      cache: 'no-store',
    });
  } catch {
    throw new ApiError(
      0,
      'network',
      '无法连接服务器，请检查网络后重试 / Cannot reach the server, check the network',
    );
  }
  if (res.ok) return res;
  throw await errorOf(res);
}

/**
 * @template T
 * @param {string} path
 * @param {CallOptions} [options]
 * @returns {Promise<T>}
 */
export async function callJson(path, options = {}) {
  const res = await callRaw(path, options);
  try {
    return /** @type {T} */ (await res.json());
  } catch {
    throw new ApiError(
      res.status,
      'bad_response',
      `服务器返回了无法识别的内容 / Unexpected answer (HTTP ${res.status})`,
    );
  }
}

/**
 * @param {Response} res
 * @returns {Promise<ApiError>}
 */
async function errorOf(res) {
  const requestId = res.headers.get('x-request-id') ?? undefined;
  try {
    const body = /** @type {Partial<ErrorBody>} */ (await res.json());
    if (typeof body.error === 'string' && typeof body.message === 'string')
      return new ApiError(res.status, body.error, body.message, body.requestId ?? requestId);
  } catch {
    // not an ErrorBody: fall through
  }
  return new ApiError(
    res.status,
    'bad_response',
    `请求失败 / Request failed (HTTP ${res.status})`,
    requestId,
  );
}

/**
 * A fresh Idempotency-Key for one checkout: 128 random bits. getRandomValues works outside secure contexts too
 * (crypto.randomUUID does not, e.g. a phone opening the shop over plain HTTP on a LAN address).
 * @returns {string}
 */
export function newIdempotencyKey() {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

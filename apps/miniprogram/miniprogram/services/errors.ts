import type { ErrorBody, ErrorId } from '../generated/api';
import { envVersion } from './env-version';

/**
 * Failures the client itself detects, next to the server's catalogue ids. `payment_unsupported`: the server
 * sent a well-formed payment launch of a kind a mini-program cannot open (not `jsapi`).
 */
export type ClientErrorId =
  | 'network_error'
  | 'offline'
  | 'request_blocked'
  | 'config_error'
  | 'sandbox_refused'
  | 'bad_response'
  | 'login_failed'
  | 'payment_unsupported';

/** Every failure a service reports: a stable id the pages branch on, plus what the server said. */
export class ApiError extends Error {
  readonly id: ErrorId | ClientErrorId;
  /** HTTP status, 0 when no response arrived. */
  readonly status: number;
  readonly requestId: string | undefined;

  constructor(id: ErrorId | ClientErrorId, message: string, status = 0, requestId?: string) {
    super(message);
    this.name = 'ApiError';
    this.id = id;
    this.status = status;
    this.requestId = requestId;
  }
}

export function isErrorBody(value: unknown): value is ErrorBody {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as ErrorBody).error === 'string' &&
    typeof (value as ErrorBody).message === 'string'
  );
}

/**
 * What the buyer reads for a failure. The server's messages are for developers (English, technical), so the
 * pages show these instead and keep the request id for support. A full Record: when the contract gains an
 * error id, the type check fails until it has a message here.
 */
const MESSAGES: Record<ErrorId | ClientErrorId, string> = {
  network_error: '网络连接失败，请检查网络后重试',
  offline: '当前没有网络，请连接网络后重试',
  // The buyer cannot fix these two: in the release build they read as an outage (see describeError).
  request_blocked: '服务暂时不可用，请稍后重试',
  config_error: '服务暂时不可用，请稍后重试',
  sandbox_refused: '支付服务配置有误，请联系客服',
  bad_response: '服务器返回了无法识别的数据，请稍后重试',
  login_failed: '微信登录失败，请重试',
  payment_unsupported: '暂时无法在小程序内完成这笔支付，请稍后重试或联系客服',
  unauthorized: '登录已失效，请重试',
  session_expired: '登录已过期，请重试',
  login_code_invalid: '登录凭证无效，请重试',
  login_code_used: '登录凭证已被使用，请重试',
  login_rate_limited: '登录过于频繁，请稍后再试',
  rate_limited: '操作过于频繁，请稍后再试',
  method_not_allowed: '请求方式不正确',
  login_blocked: '当前微信账号暂时无法登录',
  wechat_unavailable: '微信服务暂时不可用，请稍后重试',
  product_not_found: '商品不存在或已下架',
  order_not_found: '订单不存在',
  order_already_paid: '订单已支付，无需重复支付',
  order_closed: '订单已关闭',
  order_not_closable: '订单刚创建，暂时无法取消，请稍后再试',
  channel_not_available: '当前无法使用这种支付方式，请稍后重试',
  refund_not_allowed: '这笔订单目前无法退款',
  refund_too_much: '退款金额超过了可退金额',
  subscription_not_allowed: '这笔订单暂时无法订阅支付结果通知',
  service_unavailable: '服务暂时不可用，请稍后重试',
  payment_unavailable: '支付服务暂时不可用，请稍后重试',
  invalid_request: '请求有误，请返回重试',
  unsupported_media_type: '请求有误，请返回重试',
  payload_too_large: '请求有误，请返回重试',
  idempotency_conflict: '订单提交冲突，请返回重新下单',
  not_found: '请求的内容不存在',
  internal_error: '服务暂时不可用，请稍后重试',
};

/**
 * What the developer reads instead, in develop and trial builds only: the cause is theirs (admin console or
 * config.ts), and a buyer of the release build can do nothing about it.
 */
const DEVELOPER_MESSAGES: Partial<Record<ClientErrorId, string>> = {
  request_blocked:
    '请求被微信拦截：服务器域名不在小程序后台的 request 合法域名中，或 HTTPS 证书/TLS 版本不被接受（开发者请检查）',
  config_error: '小程序配置有误：体验版和正式版只能请求 https 地址（开发者请检查 config.ts 的 apiBaseUrls）',
};

export function describeError(err: unknown): string {
  if (err instanceof ApiError) {
    const forDeveloper = DEVELOPER_MESSAGES[err.id as ClientErrorId];
    if (forDeveloper !== undefined && envVersion() !== 'release') return forDeveloper;
    // An id this build does not know (a newer server) still gets a sensible sentence.
    const text = MESSAGES[err.id] ?? '服务暂时不可用，请稍后重试';
    return err.requestId ? `${text}（请求号 ${err.requestId}）` : text;
  }
  return '出了点问题，请稍后重试';
}

/** The server refused because the order is no longer pending: re-reading the order shows why. */
export function isOrderStateError(err: unknown): boolean {
  return err instanceof ApiError && (err.id === 'order_already_paid' || err.id === 'order_closed');
}

/** The server refused a refund request because of the order's state: re-reading the order shows it. */
export function isRefundStateError(err: unknown): boolean {
  return err instanceof ApiError && err.id === 'refund_not_allowed';
}

/**
 * GET /api/products/:id found no such product: 404 (not_found), or 400 for an id that cannot be a product's
 * (a stale or mangled shared link). Either way the product is not for sale.
 */
export function isProductMissing(err: unknown): boolean {
  return (
    err instanceof ApiError &&
    (err.status === 404 ||
      err.id === 'product_not_found' ||
      (err.status === 400 && err.id === 'invalid_request'))
  );
}

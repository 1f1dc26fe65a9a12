/**
 * The one error catalogue: every error a client can see has a stable id (shared with the mini-program through
 * @mp-pay/shared/api), an HTTP status and a message written for the person reading it. Handlers and services
 * throw `new AppError(id)`; src/http/error-handler.ts is the only place that turns errors into responses.
 */
import type { ErrorId } from '@mp-pay/shared/api';

export interface CatalogueEntry {
  status: number;
  message: string;
}

export const ERRORS: Readonly<Record<ErrorId, CatalogueEntry>> = Object.freeze({
  invalid_request: { status: 400, message: 'The request is malformed or has invalid fields.' },
  unsupported_media_type: { status: 415, message: 'Send the request body as application/json.' },
  payload_too_large: { status: 413, message: 'The request body is too large.' },
  unauthorized: {
    status: 401,
    message: 'Sign in first: send Authorization: Bearer <token> from POST /api/session.',
  },
  session_expired: {
    status: 401,
    message: 'The session expired or is unknown; call wx.login and sign in again.',
  },
  login_code_invalid: { status: 401, message: 'The login code is invalid or expired; call wx.login again.' },
  login_code_used: { status: 401, message: 'The login code was already used; call wx.login again.' },
  login_rate_limited: {
    status: 429,
    message: 'Too many sign-ins for this user; wait a minute and try again.',
  },
  rate_limited: { status: 429, message: 'Too many requests of this kind from here; wait and try again.' },
  login_blocked: { status: 403, message: 'WeChat blocked this account from signing in.' },
  wechat_unavailable: { status: 503, message: 'WeChat is not answering right now; try again shortly.' },
  product_not_found: { status: 400, message: 'An item refers to a product that does not exist.' },
  order_not_found: { status: 404, message: 'No such order.' },
  order_already_paid: { status: 409, message: 'The order is already paid.' },
  order_closed: { status: 409, message: 'The order is closed; place a new order.' },
  order_not_closable: {
    status: 409,
    message: 'WeChat Pay does not close an order this soon after it was placed; try again in a few minutes.',
  },
  refund_not_allowed: {
    status: 409,
    message:
      'This payment cannot be refunded (not paid, refunded 50 times already, or paid over a year ago).',
  },
  refund_too_much: { status: 409, message: 'The refund is more than what remains of the payment.' },
  subscription_not_allowed: {
    status: 409,
    message:
      'This order takes no subscribe message: the template is not the one offered, none is configured, or the order is closed.',
  },
  channel_not_available: {
    status: 400,
    message: 'This way of paying is not available here.',
  },
  idempotency_conflict: {
    status: 409,
    message: 'This Idempotency-Key was already used for a different request; use a new key for a new order.',
  },
  payment_unavailable: {
    status: 503,
    message: 'WeChat Pay is not answering right now; retry with the same Idempotency-Key.',
  },
  not_found: { status: 404, message: 'No such route.' },
  method_not_allowed: { status: 405, message: 'This route does not accept that method.' },
  service_unavailable: { status: 503, message: 'The service is temporarily unavailable; try again shortly.' },
  internal_error: { status: 500, message: 'Something went wrong on our side.' },
});

export class AppError extends Error {
  override readonly name = 'AppError';
  readonly id: ErrorId;
  readonly status: number;
  /** Details safe to show the client (validation problems); never secrets. */
  readonly details: string | undefined;

  constructor(id: ErrorId, details?: string, options?: { cause?: unknown }) {
    const entry = ERRORS[id];
    super(details ? `${entry.message} ${details}` : entry.message, options);
    this.id = id;
    this.status = entry.status;
    this.details = details;
  }
}

/** A storage failure (Redis unreachable, timeout): the request may be retried, nothing was decided. */
export class StoreUnavailableError extends Error {
  override readonly name = 'StoreUnavailableError';
}

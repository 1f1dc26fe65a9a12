/**
 * The one mapping target for WeChat failures. Adapters translate every protocol error into one of these
 * reasons; services branch on `reason` and never see a protocol class or code.
 *
 *   unavailable     WeChat did not answer, or asked to retry (SYSTEMERROR, timeouts): retry the same request
 *   already_paid    the trade is paid (ORDERPAID): record the payment through query, never re-place it
 *   closed          the trade is closed at WeChat: a new out_trade_no is needed
 *   not_found       WeChat does not know the trade
 *   too_early       closing a trade placed less than 5 minutes ago (docs/protocol.md §6)
 *   refused         WeChat refused the request itself (signature, merchant, parameters): our configuration
 *   bad_reply       WeChat's answer could not be trusted (bad signature, unreadable): treated as unavailable
 * Bills (docs/reconciliation.md):
 *   bill_not_ready      the day's bill is not made yet (before 10:00 Beijing the next day): ask again later
 *   no_bill             no bill for that day (no trades)
 *   bill_out_of_window  the day is in the future or older than the three months WeChat keeps bills for
 */
export type GatewayFailure =
  | 'unavailable'
  | 'already_paid'
  | 'closed'
  | 'not_found'
  | 'too_early'
  | 'refused'
  | 'bad_reply'
  | 'bill_not_ready'
  | 'no_bill'
  | 'bill_out_of_window';

export class GatewayError extends Error {
  override readonly name = 'GatewayError';
  readonly reason: GatewayFailure;
  /** WeChat's own code, for logs only (never for branching outside the adapter). */
  readonly wechatCode: string | undefined;
  readonly retryable: boolean;

  constructor(reason: GatewayFailure, message: string, options?: { cause?: unknown; wechatCode?: string }) {
    super(message, options);
    this.reason = reason;
    this.wechatCode = options?.wechatCode;
    this.retryable = reason === 'unavailable' || reason === 'bad_reply';
  }
}

/**
 * Why a notification was not trusted. `unreadable`: hostile or malformed body; `signature`: forged or signed with
 * another key; `merchant`: another merchant's or an unbound AppID's; `fields`: required fields missing or bad.
 */
export type NotificationRejection = 'unreadable' | 'signature' | 'merchant' | 'fields';

export class NotificationRejectedError extends Error {
  override readonly name = 'NotificationRejectedError';
  readonly reason: NotificationRejection;
  /** The out_trade_no the body claimed, for the security log (unverified). */
  readonly claimedOutTradeNo: string | undefined;

  constructor(reason: NotificationRejection, message: string, claimedOutTradeNo?: string) {
    super(message);
    this.reason = reason;
    this.claimedOutTradeNo = claimedOutTradeNo;
  }
}

/**
 * Paying for an order.
 *
 * 1. The server creates the order and a payment launch (create or renewPayment). For the mini-program channel
 *    it is a `jsapi` launch: the five signed wx.requestPayment fields, plus its kind and appId.
 * 2. requestPayment() narrows on the launch's kind. A `jsapi` launch hands exactly the five fields to WeChat's
 *    cashier (live) or, when the server runs against the mp-pay sandbox, to the sandbox payer after the buyer
 *    picks an outcome in an action sheet. Any other kind (app, native, h5: launches for other clients) is
 *    refused before anything opens: the buyer gets a message, the developer a logged error.
 * 3. The client's answer is only a hint: settle() asks the server, which trusts nothing but WeChat's
 *    notification or order query. `requestPayment:ok` starts polling with backoff until the server says PAID
 *    or CLOSED, or the time is up ("not confirmed yet": do not pay twice). A cancel or failure leaves the
 *    order pending, and the buyer is told so.
 */
import { config } from '../config';
import type { Order, OrderStatus, PaymentLaunch, PaymentParams } from '../generated/api';
import { ApiError, describeError } from './errors';
import { send } from './http';
import { getOrder, renewPayment } from './orders';
import type { SandboxConfig, ServerMode } from './server-config';
import { getServerMode } from './server-config';

export type ClientPayResult = { kind: 'ok' } | { kind: 'cancel' } | { kind: 'fail'; detail: string };

export type PaymentOutcome =
  | { kind: 'paid'; order: Order }
  | { kind: 'closed'; order: Order }
  /** The client reported success but the server has not seen the payment yet. */
  | { kind: 'unconfirmed'; order: Order }
  /** The buyer cancelled: the order is still pending and can be paid later. */
  | { kind: 'cancelled'; order: Order }
  /** WeChat reported a failure: the order is still pending. */
  | { kind: 'failed'; order: Order; detail: string };

const OK = 'requestPayment:ok';
const CANCEL = 'requestPayment:fail cancel';
const FAIL_PREFIX = 'requestPayment:fail';

/** What the buyer chooses in the sandbox sheet, in sheet order. */
export const SANDBOX_SHEET = [
  { label: '模拟支付成功', outcome: 'success' },
  { label: '模拟取消支付', outcome: 'cancel' },
  { label: '模拟支付失败', outcome: 'fail' },
] as const;
type SandboxOutcome = (typeof SANDBOX_SHEET)[number]['outcome'];

export function classifyErrMsg(errMsg: string): ClientPayResult {
  if (errMsg === OK) return { kind: 'ok' };
  if (errMsg === CANCEL) return { kind: 'cancel' };
  const detail = errMsg.startsWith(FAIL_PREFIX) ? errMsg.slice(FAIL_PREFIX.length).trim() : errMsg;
  return { kind: 'fail', detail: detail || errMsg };
}

/**
 * The five wx.requestPayment fields of a launch the mini-program can open: only a `jsapi` one, and only those
 * five (`kind` and `appId` are not wx.requestPayment's: it takes the appId from the running app). Any other kind
 * cannot be paid in a mini-program; it is logged for the developer (this server should never send one here) and
 * refused with ApiError `payment_unsupported`, whose message is for the buyer.
 */
export function jsapiParams(launch: PaymentLaunch): PaymentParams {
  if (launch.kind === 'jsapi') {
    return {
      timeStamp: launch.timeStamp,
      nonceStr: launch.nonceStr,
      package: launch.package,
      signType: launch.signType,
      paySign: launch.paySign,
    };
  }
  const detail =
    `the server sent a '${launch.kind}' payment launch; a mini-program can only open 'jsapi' ` +
    '(wx.requestPayment). Was the order created for another channel?';
  console.error(`[mp-pay] payment refused: ${detail}`);
  throw new ApiError('payment_unsupported', detail);
}

/**
 * Shows the cashier for this launch and reports what the client saw; the cashier's answers never reject. A
 * launch the mini-program cannot open rejects with ApiError `payment_unsupported` before any cashier or
 * sandbox sheet is shown (see jsapiParams).
 */
export async function requestPayment(launch: PaymentLaunch): Promise<ClientPayResult> {
  const params = jsapiParams(launch);
  let mode: ServerMode;
  try {
    mode = await getServerMode();
  } catch (err) {
    // Without knowing the mode there is no cashier to open; the order stays pending either way.
    return { kind: 'fail', detail: describeError(err) };
  }
  const errMsg = mode.mode === 'sandbox' ? await sandboxPay(mode, params) : await wxRequestPayment(params);
  return classifyErrMsg(errMsg);
}

function wxRequestPayment(params: PaymentParams): Promise<string> {
  return new Promise((resolve) => {
    // Exactly the five signed fields: appId is signed but not passed, and nothing else may ride along
    // (jsapiParams already dropped kind and appId; naming each field again keeps it so for any object given).
    wx.requestPayment({
      timeStamp: params.timeStamp,
      nonceStr: params.nonceStr,
      package: params.package,
      signType: params.signType,
      paySign: params.paySign,
      success: (res) => resolve(res.errMsg),
      fail: (err) => resolve(err.errMsg),
    });
  });
}

function chooseSandboxOutcome(): Promise<SandboxOutcome> {
  return new Promise((resolve) => {
    wx.showActionSheet({
      alertText: '沙箱支付：不会真实扣款',
      itemList: SANDBOX_SHEET.map((item) => item.label),
      success: (res) => resolve(SANDBOX_SHEET[res.tapIndex]?.outcome ?? 'cancel'),
      // Dismissing the sheet is what closing the real cashier is: a cancel.
      fail: () => resolve('cancel'),
    });
  });
}

/**
 * The sandbox payer checks the same paySign WeChat would, then answers with the errMsg WeChat would give. The
 * appId posted is the one the server reported in /api/config, standing in for the running app's (what WeChat
 * uses), not the launch's: a trade placed for another app then fails its paySign check, as it would at WeChat.
 */
async function sandboxPay(mode: SandboxConfig, params: PaymentParams): Promise<string> {
  const outcome = await chooseSandboxOutcome();
  try {
    const res = await send({
      method: 'POST',
      url: `${mode.sandboxUrl}/sandbox/pay`,
      data: {
        appId: mode.appId,
        timeStamp: params.timeStamp,
        nonceStr: params.nonceStr,
        package: params.package,
        signType: params.signType,
        paySign: params.paySign,
        outcome,
      },
    });
    const body = res.body as { errMsg?: unknown } | null;
    if (body && typeof body.errMsg === 'string') return body.errMsg;
    return `${FAIL_PREFIX} sandbox answered HTTP ${res.status}`;
  } catch (err) {
    return `${FAIL_PREFIX} ${err instanceof ApiError ? err.message : String(err)}`;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Polls the server until the order is PAID or CLOSED (settled) or config.paymentConfirm.timeoutMs passes.
 * Network hiccups while polling are retried like a pending answer; only the last error is thrown, and only
 * when no answer arrived at all. `isStopped` ends the polling early (the page showing it was closed).
 */
export async function confirmPayment(
  orderId: string,
  isStopped: () => boolean = () => false,
): Promise<{ order: Order; settled: boolean }> {
  const { firstDelayMs, maxDelayMs, timeoutMs } = config.paymentConfirm;
  const deadline = Date.now() + timeoutMs;
  let delay = firstDelayMs;
  let last: Order | null = null;
  let lastError: unknown = null;
  for (;;) {
    try {
      last = await getOrder(orderId);
      if (last.status !== 'PENDING') return { order: last, settled: true };
    } catch (err) {
      // An order that does not exist or is not ours will not appear by waiting.
      if (err instanceof ApiError && err.status >= 400 && err.status < 500) throw err;
      lastError = err;
    }
    if (Date.now() + delay > deadline || isStopped()) break;
    await sleep(delay);
    if (isStopped()) break;
    delay = Math.min(Math.round(delay * 1.5), maxDelayMs);
  }
  if (last) return { order: last, settled: false };
  throw lastError;
}

/** A refunded order was paid: for the buyer who just paid, that is what counts. */
function isPaid(status: OrderStatus): boolean {
  return status === 'PAID' || status === 'PARTIALLY_REFUNDED' || status === 'REFUNDED';
}

/** Turns the client's answer into what the server says about the order. */
export async function settle(
  orderId: string,
  client: ClientPayResult,
  isStopped?: () => boolean,
): Promise<PaymentOutcome> {
  if (client.kind === 'ok') {
    const { order, settled } = await confirmPayment(orderId, isStopped);
    if (!settled) return { kind: 'unconfirmed', order };
    return isPaid(order.status) ? { kind: 'paid', order } : { kind: 'closed', order };
  }
  // Even after a cancel the server has the last word (the buyer may have paid on another device).
  const order = await getOrder(orderId);
  if (isPaid(order.status)) return { kind: 'paid', order };
  if (order.status === 'CLOSED') return { kind: 'closed', order };
  return client.kind === 'cancel'
    ? { kind: 'cancelled', order }
    : { kind: 'failed', order, detail: client.detail };
}

/** Pay again for a pending order: a fresh launch from the server, then the cashier (rejects like requestPayment). */
export async function payAgain(orderId: string): Promise<ClientPayResult> {
  const { payment } = await renewPayment(orderId);
  return requestPayment(payment);
}

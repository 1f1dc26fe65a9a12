import { randomBytes, randomInt } from 'node:crypto';
import { formatWechatTime } from '@mp-pay/shared/wechatpay';
import type { SandboxContext } from '../context.ts';
import { orderKey, type OrderRecord, type PrepayRecord, type ReportedTradeState } from '../state.ts';

/** trade_state_desc as orderquery words it. */
export const TRADE_STATE_DESC: Record<ReportedTradeState, string> = {
  NOTPAY: '订单未支付',
  SUCCESS: '支付成功',
  REFUND: '订单发生过退款，退款详情请查询退款单',
  CLOSED: '订单已关闭',
  PAYERROR: '支付失败，请重新下单支付',
};

export function findOrder(
  sandbox: SandboxContext,
  mchId: string,
  outTradeNo: string,
): OrderRecord | undefined {
  const order = sandbox.state.orders.get(orderKey(mchId, outTradeNo));
  if (order) applyExpiry(order, sandbox.clock.now());
  return order;
}

/**
 * Where every new order starts, whoever placed it (unifiedorder, a v3 order endpoint, a combine's sub-order):
 * unpaid, with no prepay_id, payment, notification or refund yet.
 */
export function unpaidOrderStart(): Pick<
  OrderRecord,
  'state' | 'prepayIds' | 'paidExtras' | 'payments' | 'notifications' | 'refunds'
> {
  return { state: 'NOTPAY', prepayIds: [], paidExtras: {}, payments: [], notifications: [], refunds: [] };
}

/**
 * An unpaid order past its time_expire can no longer be paid; the sandbox shows it as CLOSED from then on
 * (closed by expiry, which closeorder still accepts, unlike a merchant close).
 */
export function applyExpiry(order: OrderRecord, now: number): void {
  if (order.state === 'NOTPAY' && order.expiresAt !== undefined && now >= order.expiresAt) {
    order.state = 'CLOSED';
    order.closedBy = 'expiry';
  }
}

/**
 * How many prepay_ids one order keeps. Each identical re-submission mints a new one (older ones stay payable
 * for their 2 hours, as at WeChat), so a client re-submitting in a loop would otherwise grow one order's list
 * without limit; beyond this many, the oldest are forgotten (their payer calls then answer prepay_id不存在).
 */
export const MAX_PREPAY_IDS_PER_ORDER = 50;

/** `wx` + Beijing time to the second + 22 random hex, the shape of a real prepay_id (36 characters). */
export function issuePrepayId(
  sandbox: SandboxContext,
  order: OrderRecord,
  requestSign: string,
): PrepayRecord {
  const prepayId = `wx${formatWechatTime(new Date(sandbox.clock.now()))}${randomBytes(11).toString('hex')}`;
  const record: PrepayRecord = {
    prepayId,
    orderKey: order.key,
    signType: order.signType,
    issuedAt: sandbox.clock.now(),
    expiresAt: sandbox.clock.now() + sandbox.config.prepayTtlMs,
    orderSigns: [requestSign],
  };
  sandbox.state.prepays.set(prepayId, record);
  order.prepayIds.push(prepayId);
  for (const forgotten of order.prepayIds.splice(0, order.prepayIds.length - MAX_PREPAY_IDS_PER_ORDER)) {
    sandbox.state.prepays.delete(forgotten);
  }
  return record;
}

/** 28 digits like WeChat's: 4200 + 6 digits + yyyyMMdd + 10 digits. */
export function newTransactionId(now: number): string {
  const day = formatWechatTime(new Date(now)).slice(0, 8);
  const digits = (n: number) => Array.from({ length: n }, () => randomInt(10)).join('');
  return `4200${digits(6)}${day}${digits(10)}`;
}

/** The fields a paid order adds to orderquery replies (notifier.ts sends the same ones in notifications). */
export function paidFields(order: OrderRecord): Record<string, string | number | undefined> {
  return {
    openid: order.openid,
    is_subscribe: 'N',
    trade_type: order.tradeType,
    bank_type: order.bankType,
    total_fee: order.totalFee,
    fee_type: order.feeType,
    cash_fee: order.cashFee,
    transaction_id: order.transactionId,
    out_trade_no: order.outTradeNo,
    attach: order.attach,
    time_end: order.timeEnd,
    ...order.paidExtras,
  };
}

/** An mweb_url / h5_url lives 5 minutes (docs/protocol.md §9). */
export const H5_URL_TTL_MS = 5 * 60_000;

/**
 * NATIVE mode 2: `weixin://wxpay/bizpayurl?pr=<7+ characters>`, valid as long as its prepay_id (2 hours). The
 * `pr` value is what the sandbox scanner resolves back to the prepay_id.
 */
export function issueCodeUrl(sandbox: SandboxContext, prepay: PrepayRecord): string {
  const pr = randomBytes(8).toString('base64url').replace(/[-_]/g, '').slice(0, 9).padEnd(7, 'x');
  const codeUrl = `weixin://wxpay/bizpayurl?pr=${pr}`;
  sandbox.state.codeUrls.set(pr, prepay.prepayId);
  prepay.codeUrl = codeUrl;
  return codeUrl;
}

/**
 * MWEB / h5: the cashier URL `<sandbox>/cgi-bin/mmpayweb-bin/checkmweb?prepay_id=…&package=…`, WeChat's path on
 * the sandbox's host (channels/cashier.ts serves it). `package` is a random number, as in WeChat's.
 */
export function issueMwebUrl(prepay: PrepayRecord, baseUrl: string): string {
  prepay.h5Package = String(randomInt(1_000_000_000, 9_999_999_999));
  const query = new URLSearchParams({ prepay_id: prepay.prepayId, package: prepay.h5Package });
  return `${baseUrl}/cgi-bin/mmpayweb-bin/checkmweb?${query.toString()}`;
}

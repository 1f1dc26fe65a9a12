import { isIP } from 'node:net';
import { OUT_TRADE_NO_RE } from '../core/nonce.ts';
import { WechatPayV3BadMessageError } from './errors.ts';
import { isRecord } from './reply-errors.ts';
import { formatV3Time, parseV3Time } from './time.ts';
import type { V3Notification } from './notify.ts';
import { V3_TRADE_STATES, type V3TradeState } from './transaction.ts';

/**
 * Combine (合单) payments of APIv3 (docs/protocol.md §7 "Combine payments"): one payment by the buyer for several
 * sub-orders, each a trade of its own merchant (the combine merchant itself or one linked to it). The names
 * differ from single orders on purpose-built traps: the amount is `amount.total_amount` (not `total`), the
 * payer is `combine_payer_info`, and there is no top-level trade_state: each sub-order has its own.
 */

/** The four order endpoints: /v3/combine-transactions/{jsapi,app,h5,native}. */
export type CombineChannel = 'jsapi' | 'app' | 'h5' | 'native';
export const COMBINE_CHANNELS: readonly CombineChannel[] = ['jsapi', 'app', 'h5', 'native'];

/** Direct merchants may combine 2 to 10 sub-orders (partner pages say 50; we follow the direct-merchant rule). */
export const COMBINE_MIN_SUB_ORDERS = 2;
export const COMBINE_MAX_SUB_ORDERS = 10;

/** combine_out_trade_no: 1 to 32 of digits, letters and `_-|*@`, unique per combine merchant. */
export const COMBINE_OUT_TRADE_NO_RE = /^[0-9A-Za-z_\-|*@]{1,32}$/;

export interface CombineSubOrderRequest {
  /** The sub-order's merchant: the combine merchant or one linked to it, bound to the combine AppID. */
  mchid: string;
  /** The sub-order's out_trade_no, unique within its merchant (6–32 of [0-9A-Za-z_-|*]). */
  outTradeNo: string;
  /** ≤ 127 bytes (UTF-8). */
  description: string;
  amountFen: number;
  /** Required by WeChat for combine sub-orders (1–128 bytes), echoed in the query and the notification. */
  attach: string;
  /** settle_info.profit_sharing: the sub-order's money is held for profit sharing. */
  profitSharing?: boolean;
}

/** `scene_info.h5_info` of an H5 combine order. */
export interface CombineH5Info {
  type: 'Wap' | 'iOS' | 'Android';
  appName?: string;
  appUrl?: string;
  bundleId?: string;
  packageName?: string;
}

export interface CombinePrepayRequest {
  combineAppid: string;
  combineOutTradeNo: string;
  subOrders: CombineSubOrderRequest[];
  notifyUrl: string;
  /** jsapi only: the buyer, combine_payer_info.openid. */
  payerOpenid?: string;
  /** scene_info.payer_client_ip: required for h5 and native, optional otherwise. */
  payerClientIp?: string;
  /** scene_info.device_id (7–16 characters), optional. */
  deviceId?: string;
  /** h5 only (required there). */
  h5Info?: CombineH5Info;
  /** Sent in Beijing time (RFC 3339, +08:00). */
  timeStart?: Date;
  timeExpire?: Date;
}

/** The request of each channel; the reply's one field. */
export interface CombinePrepayReplies {
  jsapi: { prepayId: string };
  app: { prepayId: string };
  h5: { h5Url: string };
  native: { codeUrl: string };
}

const bytes = (text: string) => Buffer.byteLength(text, 'utf8');

/**
 * The body of POST /v3/combine-transactions/{channel}, in WeChat's documented field order. Throws TypeError when
 * the request breaks a rule WeChat would refuse it for (count 2–10, unique out_trade_no, amounts ≥ 1 fen,
 * description ≤ 127 bytes, attach 1–128 bytes, the channel's own fields).
 */
export function combinePrepayBody(
  channel: CombineChannel,
  combineMchid: string,
  req: CombinePrepayRequest,
): Record<string, unknown> {
  const bad = (why: string) => new TypeError(`combinePrepay(${channel}): ${why}`);
  if (!COMBINE_CHANNELS.includes(channel)) throw bad('channel must be jsapi, app, h5 or native');
  if (!req.combineAppid) throw bad('combineAppid is required');
  if (!combineMchid) throw bad('combineMchid is required');
  if (!COMBINE_OUT_TRADE_NO_RE.test(req.combineOutTradeNo)) {
    throw bad('combineOutTradeNo must be 1–32 of [0-9A-Za-z_-|*@]');
  }
  if (!/^https?:\/\/[^?#\s]+$/.test(req.notifyUrl))
    throw bad('notifyUrl must be an http(s) URL without a query');
  const subs = req.subOrders;
  if (!Array.isArray(subs) || subs.length < COMBINE_MIN_SUB_ORDERS || subs.length > COMBINE_MAX_SUB_ORDERS) {
    throw bad(`subOrders must hold ${COMBINE_MIN_SUB_ORDERS} to ${COMBINE_MAX_SUB_ORDERS} sub-orders`);
  }
  const seen = new Set<string>();
  for (const [i, sub] of subs.entries()) {
    const at = `subOrders[${i}]`;
    if (!sub.mchid) throw bad(`${at}.mchid is required`);
    if (!OUT_TRADE_NO_RE.test(sub.outTradeNo) || sub.outTradeNo.length < 6) {
      throw bad(`${at}.outTradeNo must be 6–32 of [0-9A-Za-z_-|*]`);
    }
    if (seen.has(sub.outTradeNo)) throw bad(`${at}.outTradeNo ${sub.outTradeNo} is used twice`);
    seen.add(sub.outTradeNo);
    if (!sub.description || bytes(sub.description) > 127) throw bad(`${at}.description must be 1–127 bytes`);
    if (!sub.attach || bytes(sub.attach) > 128) throw bad(`${at}.attach must be 1–128 bytes`);
    if (!Number.isSafeInteger(sub.amountFen) || sub.amountFen < 1) {
      throw bad(`${at}.amountFen must be a whole number ≥ 1`);
    }
  }
  if (channel === 'jsapi' && !req.payerOpenid) throw bad('payerOpenid is required for jsapi');
  if (channel !== 'jsapi' && req.payerOpenid !== undefined) throw bad('payerOpenid is for jsapi only');
  if ((channel === 'h5' || channel === 'native') && req.payerClientIp === undefined) {
    throw bad('payerClientIp is required for h5 and native');
  }
  if (req.payerClientIp !== undefined && isIP(req.payerClientIp) === 0) {
    throw bad('payerClientIp must be an IP address');
  }
  if (req.deviceId !== undefined && !/^.{7,16}$/u.test(req.deviceId))
    throw bad('deviceId must be 7–16 characters');
  if (channel === 'h5' && (!req.h5Info || !['Wap', 'iOS', 'Android'].includes(req.h5Info.type))) {
    throw bad('h5Info.type must be Wap, iOS or Android');
  }
  if (channel !== 'h5' && req.h5Info !== undefined) throw bad('h5Info is for h5 only');
  for (const [name, value] of [
    ['timeStart', req.timeStart],
    ['timeExpire', req.timeExpire],
  ] as const) {
    if (value !== undefined && Number.isNaN(value.getTime())) throw bad(`${name} is invalid`);
  }

  const info = req.h5Info;
  const scene =
    req.payerClientIp === undefined && req.deviceId === undefined && info === undefined
      ? undefined
      : {
          ...(req.deviceId === undefined ? {} : { device_id: req.deviceId }),
          ...(req.payerClientIp === undefined ? {} : { payer_client_ip: req.payerClientIp }),
          ...(info === undefined
            ? {}
            : {
                h5_info: {
                  type: info.type,
                  ...(info.appName === undefined ? {} : { app_name: info.appName }),
                  ...(info.appUrl === undefined ? {} : { app_url: info.appUrl }),
                  ...(info.bundleId === undefined ? {} : { bundle_id: info.bundleId }),
                  ...(info.packageName === undefined ? {} : { package_name: info.packageName }),
                },
              }),
        };
  return {
    combine_appid: req.combineAppid,
    combine_mchid: combineMchid,
    combine_out_trade_no: req.combineOutTradeNo,
    ...(scene === undefined ? {} : { scene_info: scene }),
    sub_orders: subs.map((sub) => ({
      mchid: sub.mchid,
      attach: sub.attach,
      // total_amount, not total: the single-order name is refused here.
      amount: { total_amount: sub.amountFen, currency: 'CNY' },
      out_trade_no: sub.outTradeNo,
      description: sub.description,
      ...(sub.profitSharing === undefined ? {} : { settle_info: { profit_sharing: sub.profitSharing } }),
    })),
    ...(channel === 'jsapi' ? { combine_payer_info: { openid: req.payerOpenid } } : {}),
    ...(req.timeStart ? { time_start: formatV3Time(req.timeStart) } : {}),
    ...(req.timeExpire ? { time_expire: formatV3Time(req.timeExpire) } : {}),
    notify_url: req.notifyUrl,
  };
}

/** One sub-order to close: every sub-order of the combine is listed. */
export interface CombineCloseSubOrder {
  mchid: string;
  outTradeNo: string;
}

/** The body of POST /v3/combine-transactions/out-trade-no/{combine_out_trade_no}/close. */
export function combineCloseBody(
  combineAppid: string,
  subOrders: CombineCloseSubOrder[],
): Record<string, unknown> {
  if (!combineAppid) throw new TypeError('closeCombine: combineAppid is required');
  if (!Array.isArray(subOrders) || subOrders.length < 1 || subOrders.length > COMBINE_MAX_SUB_ORDERS) {
    throw new TypeError(`closeCombine: list the combine's sub-orders (1 to ${COMBINE_MAX_SUB_ORDERS})`);
  }
  for (const sub of subOrders) {
    if (!sub.mchid || !OUT_TRADE_NO_RE.test(sub.outTradeNo)) {
      throw new TypeError('closeCombine: each sub-order needs mchid and a well-formed outTradeNo');
    }
  }
  return {
    combine_appid: combineAppid,
    sub_orders: subOrders.map((sub) => ({ mchid: sub.mchid, out_trade_no: sub.outTradeNo })),
  };
}

/** One sub-order as the combine query reply and the combine notification resource describe it. */
export interface V3CombineSubOrder {
  mchid: string;
  outTradeNo: string;
  tradeState: V3TradeState;
  /** JSAPI, APP, MWEB or NATIVE. */
  tradeType: string | undefined;
  /** Empty until this sub-order is paid. */
  transactionId: string;
  bankType: string | undefined;
  attach: string | undefined;
  /** RFC 3339, as WeChat wrote it; undefined until paid. */
  successTime: string | undefined;
  amount: {
    /** Fen, as ordered. */
    totalAmount: number;
    /** Fen the buyer paid (less than totalAmount with a coupon); undefined until paid. */
    payerAmount: number | undefined;
    currency: string;
    payerCurrency: string | undefined;
  };
  raw: Readonly<Record<string, unknown>>;
}

/** A combine order as `GET /v3/combine-transactions/out-trade-no/{no}` and the TRANSACTION.SUCCESS resource show it. */
export interface V3CombineTransaction {
  combineAppid: string;
  combineMchid: string;
  combineOutTradeNo: string;
  subOrders: V3CombineSubOrder[];
  /** combine_payer_info.openid; undefined before a buyer paid (app, h5, native). */
  payerOpenid: string | undefined;
  /** scene_info.device_id, when the merchant sent one. */
  deviceId: string | undefined;
  raw: Readonly<Record<string, unknown>>;
}

/**
 * Validates and types a combine transaction (query reply or decrypted notification resource). Strict: a
 * missing or ill-typed field is a WechatPayV3BadMessageError, and a paid sub-order (SUCCESS, REFUND) must name
 * its transaction_id and an RFC 3339 success_time, since goods are shipped on it.
 */
export function parseV3CombineTransaction(data: unknown): V3CombineTransaction {
  const bad = (why: string) => new WechatPayV3BadMessageError(`combine transaction ${why}`);
  if (!isRecord(data)) throw bad('is not an object');
  const requiredText = (record: Record<string, unknown>, name: string, where: string): string => {
    const value = record[name];
    if (typeof value !== 'string' || value === '') throw bad(`lacks ${where}${name}`);
    return value;
  };
  const optionalText = (record: Record<string, unknown>, name: string, where: string): string | undefined => {
    const value = record[name];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'string') throw bad(`has a non-text ${where}${name}`);
    return value;
  };
  const combineAppid = requiredText(data, 'combine_appid', '');
  const combineMchid = requiredText(data, 'combine_mchid', '');
  const combineOutTradeNo = requiredText(data, 'combine_out_trade_no', '');
  const subs = data.sub_orders;
  if (!Array.isArray(subs) || subs.length === 0) throw bad('lacks sub_orders[]');
  const subOrders = subs.map((sub: unknown, i): V3CombineSubOrder => {
    const where = `sub_orders[${i}].`;
    if (!isRecord(sub)) throw bad(`has a non-object sub_orders[${i}]`);
    const tradeState = sub.trade_state;
    if (!V3_TRADE_STATES.includes(tradeState as V3TradeState)) {
      throw bad(`has an unknown ${where}trade_state ${String(tradeState)}`);
    }
    const amount = sub.amount;
    if (!isRecord(amount)) throw bad(`lacks ${where}amount`);
    if (amount.total !== undefined && amount.total_amount === undefined) {
      throw bad(`has ${where}amount.total where a combine sub-order has total_amount`);
    }
    if (!isFen(amount.total_amount)) throw bad(`lacks ${where}amount.total_amount in fen`);
    const payerAmount = amount.payer_amount;
    if (payerAmount !== undefined && !isFen(payerAmount))
      throw bad(`has a malformed ${where}amount.payer_amount`);
    const currency = optionalText(amount, 'currency', `${where}amount.`) ?? 'CNY';
    const paid = tradeState === 'SUCCESS' || tradeState === 'REFUND';
    const transactionId = optionalText(sub, 'transaction_id', where) ?? '';
    const successTime = optionalText(sub, 'success_time', where);
    if (paid && (!transactionId || !successTime || !parseV3Time(successTime))) {
      throw bad(`${where.slice(0, -1)} is paid but lacks transaction_id or an RFC 3339 success_time`);
    }
    return {
      mchid: requiredText(sub, 'mchid', where),
      outTradeNo: requiredText(sub, 'out_trade_no', where),
      tradeState: tradeState as V3TradeState,
      tradeType: optionalText(sub, 'trade_type', where),
      transactionId,
      bankType: optionalText(sub, 'bank_type', where),
      attach: optionalText(sub, 'attach', where),
      successTime,
      amount: {
        totalAmount: amount.total_amount as number,
        payerAmount: payerAmount as number | undefined,
        currency,
        payerCurrency: optionalText(amount, 'payer_currency', `${where}amount.`),
      },
      raw: sub,
    };
  });
  const payer = data.combine_payer_info;
  if (payer !== undefined && payer !== null && !isRecord(payer))
    throw bad('has a non-object combine_payer_info');
  const payerOpenid = isRecord(payer) ? optionalText(payer, 'openid', 'combine_payer_info.') : undefined;
  const scene = data.scene_info;
  if (scene !== undefined && scene !== null && !isRecord(scene)) throw bad('has a non-object scene_info');
  return {
    combineAppid,
    combineMchid,
    combineOutTradeNo,
    subOrders,
    payerOpenid: payerOpenid || undefined,
    deviceId: isRecord(scene) ? optionalText(scene, 'device_id', 'scene_info.') : undefined,
    raw: data,
  };
}

/**
 * Has every sub-order been paid? There is no top-level state: a combine is paid only when each sub-order says
 * SUCCESS (or REFUND: paid, then refunded in part or whole). Check each one before shipping its goods.
 */
export function combineFullyPaid(combine: V3CombineTransaction): boolean {
  return combine.subOrders.every((sub) => sub.tradeState === 'SUCCESS' || sub.tradeState === 'REFUND');
}

/**
 * The typed view of a combine's TRANSACTION.SUCCESS notification (verify it with verifyV3Notification first).
 * One notification covers the whole combine; it may list a sub-order that did not succeed, so read each
 * sub-order's tradeState (combineFullyPaid) rather than the event type.
 */
export function combineFromNotificationV3(notification: V3Notification): V3CombineTransaction {
  if (notification.eventType !== 'TRANSACTION.SUCCESS') {
    throw new WechatPayV3BadMessageError(`expected TRANSACTION.SUCCESS, got ${notification.eventType}`);
  }
  const combine = parseV3CombineTransaction(notification.resource);
  if (!combine.subOrders.some((sub) => sub.tradeState === 'SUCCESS')) {
    throw new WechatPayV3BadMessageError('TRANSACTION.SUCCESS combine resource has no paid sub-order');
  }
  return combine;
}

function isFen(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

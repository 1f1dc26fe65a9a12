import { isIP } from 'node:net';
import { H5_SCENE_TYPES, TIME_EXPIRE_TOO_SHORT } from '../pay/rules.ts';
import { missingField, paramError, v3Error, type V3Reply } from './reply.ts';
import {
  at,
  bytes,
  checkNotifyUrl,
  H5_SCENE_REQUIRED,
  isMissing,
  MIN_EXPIRE_LEAD_MS,
  V3_OUT_TRADE_NO_RE,
} from './rules.ts';
import { parseRfc3339 } from './time.ts';

/** The combine order endpoints: /v3/combine-transactions/{jsapi,app,h5,native}. */
export type CombineKind = 'jsapi' | 'app' | 'h5' | 'native';

/** Direct merchants: 2 to 10 sub-orders (partner pages allow 50; the sandbox follows the direct rule). */
export const MIN_SUB_ORDERS = 2;
export const MAX_SUB_ORDERS = 10;

/** combine_out_trade_no: 1 to 32 of digits, letters and `_-|*@`. */
export const COMBINE_OUT_TRADE_NO_RE = /^[0-9A-Za-z_\-|*@]{1,32}$/;

export interface CombineSubOrderBody {
  mchid: string;
  attach: string;
  amount: { total_amount: number; currency: string };
  out_trade_no: string;
  description: string;
  settle_info?: Record<string, unknown>;
}

/** A combine order body, once it passed the rules of its endpoint. */
export interface CombineBody {
  combine_appid: string;
  combine_mchid: string;
  combine_out_trade_no: string;
  scene_info?: Record<string, unknown>;
  sub_orders: CombineSubOrderBody[];
  combine_payer_info?: { openid: string };
  time_start?: string;
  time_expire?: string;
  notify_url: string;
}

const REQUIRED: Array<[string, string]> = [
  ['combine_appid', '合单商户appid'],
  ['combine_mchid', '合单商户号'],
  ['combine_out_trade_no', '合单商户订单号'],
  ['sub_orders', '子单信息'],
  ['notify_url', '通知地址'],
];

const REQUIRED_BY_KIND: Record<CombineKind, Array<[string, string]>> = {
  jsapi: [
    ['combine_payer_info', '支付者'],
    ['combine_payer_info.openid', '用户标识'],
  ],
  app: [],
  // H5 and Native combine orders name the buyer's IP (the single-order Native endpoint does not need it).
  native: [
    ['scene_info', '场景信息'],
    ['scene_info.payer_client_ip', '用户终端IP'],
  ],
  h5: H5_SCENE_REQUIRED,
};

const SUB_REQUIRED: Array<[string, string]> = [
  ['mchid', '子单商户号'],
  ['attach', '附加数据'],
  ['amount', '订单金额'],
  ['out_trade_no', '子单商户订单号'],
  ['description', '商品描述'],
];

const isObject = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

/**
 * The parameter rules of POST /v3/combine-transactions/{kind} (docs/protocol.md §7 "Combine payments"). Every
 * failure is 400 PARAM_ERROR naming the field (sub-order fields as `sub_orders[i].…`); JSON types are strict.
 * What needs the sandbox's registry or state (merchants, links, reuse) is checked by the caller.
 */
export function checkCombine(
  body: Record<string, unknown>,
  now: number,
  kind: CombineKind,
): { combine: CombineBody } | { reply: V3Reply } {
  for (const [path, label] of [...REQUIRED, ...REQUIRED_BY_KIND[kind]]) {
    if (isMissing(at(body, path))) return { reply: missingField(path, label) };
  }
  const fail = (field: string, why: string, value?: unknown) => ({
    reply: paramError(field, `${field}参数格式错误: ${why}`, 'body', value),
  });
  for (const field of ['combine_appid', 'combine_mchid', 'combine_out_trade_no', 'notify_url']) {
    if (typeof body[field] !== 'string') return fail(field, 'must be a string', body[field]);
  }
  for (const field of ['time_start', 'time_expire', 'scene_info.device_id', 'scene_info.payer_client_ip']) {
    const value = at(body, field);
    if (value !== undefined && typeof value !== 'string') return fail(field, 'must be a string', value);
  }
  for (const field of ['scene_info', 'combine_payer_info']) {
    const value = body[field];
    if (value !== undefined && !isObject(value)) return fail(field, 'must be an object', value);
  }
  if (kind === 'jsapi' && typeof at(body, 'combine_payer_info.openid') !== 'string') {
    return fail('combine_payer_info.openid', 'must be a string', at(body, 'combine_payer_info.openid'));
  }
  if (kind !== 'jsapi' && body.combine_payer_info !== undefined) {
    return fail('combine_payer_info', `not for ${kind} combine orders: the buyer is known once paid`);
  }
  const ip = at(body, 'scene_info.payer_client_ip');
  if (ip !== undefined && isIP(ip as string) === 0) {
    return fail('scene_info.payer_client_ip', "the buyer's IPv4 or IPv6 address", ip);
  }
  const device = at(body, 'scene_info.device_id') as string | undefined;
  if (device !== undefined && (device.length < 7 || device.length > 16)) {
    return fail('scene_info.device_id', '7 to 16 characters', device);
  }
  if (kind === 'h5') {
    if (!isObject(at(body, 'scene_info.h5_info'))) return fail('scene_info.h5_info', 'must be an object');
    const type = at(body, 'scene_info.h5_info.type');
    if (!H5_SCENE_TYPES.includes(type as (typeof H5_SCENE_TYPES)[number])) {
      return fail('scene_info.h5_info.type', `one of ${H5_SCENE_TYPES.join(', ')}`, type);
    }
  } else if (at(body, 'scene_info.h5_info') !== undefined) {
    return fail('scene_info.h5_info', `for h5 combine orders only, not ${kind}`);
  }
  const combineNo = body.combine_out_trade_no as string;
  if (!COMBINE_OUT_TRADE_NO_RE.test(combineNo)) {
    return fail('combine_out_trade_no', '1-32 characters of digits, letters and _-|*@', combineNo);
  }
  const notify = checkNotifyUrl(body.notify_url as string);
  if (notify) return fail('notify_url', notify, body.notify_url);

  const subs = body.sub_orders;
  if (!Array.isArray(subs)) return fail('sub_orders', 'must be an array of sub-orders');
  if (subs.length < MIN_SUB_ORDERS || subs.length > MAX_SUB_ORDERS) {
    return fail(
      'sub_orders',
      `${MIN_SUB_ORDERS} to ${MAX_SUB_ORDERS} sub-orders (got ${subs.length}); one sub-order is a single order: use /v3/pay/transactions`,
    );
  }
  const subOrders: CombineSubOrderBody[] = [];
  for (const [i, sub] of subs.entries()) {
    const name = (field: string) => `sub_orders[${i}].${field}`;
    if (!isObject(sub)) return fail(`sub_orders[${i}]`, 'must be an object');
    for (const [path, label] of SUB_REQUIRED) {
      if (isMissing(at(sub, path))) return { reply: missingField(name(path), label) };
    }
    for (const field of ['mchid', 'attach', 'out_trade_no', 'description']) {
      if (typeof sub[field] !== 'string') return fail(name(field), 'must be a string', sub[field]);
    }
    const amount = sub.amount;
    if (!isObject(amount)) return fail(name('amount'), 'must be an object');
    // The trap: single orders say amount.total, combine sub-orders amount.total_amount.
    if ('total' in amount) {
      return fail(
        name('amount.total'),
        'combine sub-orders name the amount total_amount, not total (that is the single-order field)',
        amount.total,
      );
    }
    const total = amount.total_amount;
    if (total === undefined || total === null) {
      return { reply: missingField(name('amount.total_amount'), '标价金额') };
    }
    if (typeof total !== 'number' || !Number.isInteger(total) || total < 1 || total > 99_999_999_999) {
      return fail(
        name('amount.total_amount'),
        'a positive integer number of fen (1 = ¥0.01), a JSON number, not a string or a decimal',
        total,
      );
    }
    const currency = amount.currency ?? 'CNY';
    if (currency !== 'CNY') return fail(name('amount.currency'), 'only CNY', currency);
    const outTradeNo = sub.out_trade_no as string;
    if (!V3_OUT_TRADE_NO_RE.test(outTradeNo)) {
      return fail(name('out_trade_no'), '6-32 characters of digits, letters and _-|*', outTradeNo);
    }
    const description = sub.description as string;
    if (bytes(description) > 127) {
      return fail(name('description'), 'at most 127 bytes (UTF-8: 42 Chinese characters)');
    }
    const attach = sub.attach as string;
    if (bytes(attach) > 128) return fail(name('attach'), 'at most 128 bytes (UTF-8)');
    const settle = sub.settle_info;
    if (settle !== undefined && !isObject(settle)) return fail(name('settle_info'), 'must be an object');
    if (
      settle !== undefined &&
      settle.profit_sharing !== undefined &&
      typeof settle.profit_sharing !== 'boolean'
    ) {
      return fail(name('settle_info.profit_sharing'), 'true or false', settle.profit_sharing);
    }
    subOrders.push({
      mchid: sub.mchid as string,
      attach,
      amount: { total_amount: total, currency: 'CNY' },
      out_trade_no: outTradeNo,
      description,
      ...(settle === undefined ? {} : { settle_info: settle }),
    });
  }
  const seen = new Set<string>();
  for (const [i, sub] of subOrders.entries()) {
    if (seen.has(sub.out_trade_no)) {
      return {
        reply: v3Error(403, 'OUT_TRADE_NO_USED', '商户订单号重复', {
          field: `sub_orders[${i}].out_trade_no`,
          location: 'body',
          value: sub.out_trade_no,
          issue: 'every sub-order needs its own out_trade_no',
        }),
      };
    }
    seen.add(sub.out_trade_no);
  }

  const times: Record<string, string | undefined> = {
    time_start: body.time_start as string | undefined,
    time_expire: body.time_expire as string | undefined,
  };
  for (const [field, value] of Object.entries(times)) {
    if (value !== undefined && parseRfc3339(value) === undefined) {
      return fail(field, 'RFC 3339 with an offset, e.g. 2025-06-08T10:34:56+08:00', value);
    }
  }
  if (
    times.time_expire !== undefined &&
    (parseRfc3339(times.time_expire) as number) - now < MIN_EXPIRE_LEAD_MS
  ) {
    return { reply: paramError('time_expire', TIME_EXPIRE_TOO_SHORT, 'body', times.time_expire) };
  }
  const scene = body.scene_info as Record<string, unknown> | undefined;
  const payer = body.combine_payer_info as Record<string, unknown> | undefined;
  return {
    combine: {
      combine_appid: body.combine_appid as string,
      combine_mchid: body.combine_mchid as string,
      combine_out_trade_no: combineNo,
      ...(scene === undefined ? {} : { scene_info: scene }),
      sub_orders: subOrders,
      ...(kind === 'jsapi' ? { combine_payer_info: { openid: payer?.openid as string } } : {}),
      ...(times.time_start === undefined ? {} : { time_start: times.time_start }),
      ...(times.time_expire === undefined ? {} : { time_expire: times.time_expire }),
      notify_url: body.notify_url as string,
    },
  };
}

import { isIP } from 'node:net';
import { H5_SCENE_TYPES, TIME_EXPIRE_TOO_SHORT } from '../pay/rules.ts';
import { missingField, paramError, type V3Reply } from './reply.ts';
import { parseRfc3339 } from './time.ts';

/** APIv3's out_trade_no: 6 to 32 of digits, letters, `_-|*`. */
export const V3_OUT_TRADE_NO_RE = /^[0-9A-Za-z_\-|*]{6,32}$/;

/** The v3 order endpoints: /v3/pay/transactions/{jsapi,app,h5,native}. */
export type V3OrderKind = 'jsapi' | 'app' | 'h5' | 'native';

/** An order body, once it passed the rules of its endpoint. */
export interface V3Order {
  appid: string;
  mchid: string;
  description: string;
  out_trade_no: string;
  notify_url: string;
  time_expire?: string;
  attach?: string;
  amount: { total: number; currency: string };
  payer?: { openid: string };
  /** h5 (required there) and native/app (optional): kept as sent, compared on re-submission. */
  scene_info?: Record<string, unknown>;
}

/** Required fields and the Chinese labels WeChat's messages use for them. */
const REQUIRED: Array<[string, string]> = [
  ['appid', '应用ID'],
  ['mchid', '直连商户号'],
  ['description', '商品描述'],
  ['out_trade_no', '商户订单号'],
  ['notify_url', '通知地址'],
  ['amount', '订单金额'],
  ['amount.total', '总金额'],
];

/** What an H5 payment (an order or a combine) requires of its scene_info. */
export const H5_SCENE_REQUIRED: Array<[string, string]> = [
  ['scene_info', '场景信息'],
  ['scene_info.payer_client_ip', '用户终端IP'],
  ['scene_info.h5_info', 'H5场景信息'],
  ['scene_info.h5_info.type', '场景类型'],
];

/** What each endpoint requires on top (WeChat's labels). */
const REQUIRED_BY_KIND: Record<V3OrderKind, Array<[string, string]>> = {
  jsapi: [
    ['payer', '支付者'],
    ['payer.openid', '用户标识'],
  ],
  app: [],
  native: [],
  h5: H5_SCENE_REQUIRED,
};

/** time_expire must leave the buyer at least 5 minutes (orders and combines alike). */
export const MIN_EXPIRE_LEAD_MS = 5 * 60_000;

/** The value at a dotted path of a JSON body (`scene_info.h5_info.type`), undefined where the path breaks. */
export function at(body: unknown, path: string): unknown {
  let value: unknown = body;
  for (const part of path.split('.')) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

/** A required field counts as missing when absent, null or an empty string (orders and combines alike). */
export const isMissing = (value: unknown) => value === undefined || value === null || value === '';

/** WeChat's length limits count UTF-8 bytes, not characters. */
export const bytes = (text: string) => Buffer.byteLength(text, 'utf8');

/**
 * POST /v3/pay/transactions/jsapi's parameter rules (docs/protocol.md §7 "Orders"): every failure is a 400
 * PARAM_ERROR naming the field. JSON types are checked strictly, as WeChat does: `"total": "100"` is refused.
 */
export function checkJsapi(
  body: Record<string, unknown>,
  now: number,
): { order: V3Order } | { reply: V3Reply } {
  return checkV3Order(body, now, 'jsapi');
}

/** The rules of /v3/pay/transactions/{kind}: the common ones plus the endpoint's own (docs/protocol.md §9). */
export function checkV3Order(
  body: Record<string, unknown>,
  now: number,
  kind: V3OrderKind,
): { order: V3Order } | { reply: V3Reply } {
  for (const [path, label] of [...REQUIRED, ...REQUIRED_BY_KIND[kind]]) {
    if (isMissing(at(body, path))) return { reply: missingField(path, label) };
  }
  const fail = (field: string, why: string, value?: unknown) => ({
    reply: paramError(field, `${field}参数格式错误: ${why}`, 'body', value),
  });
  for (const field of ['appid', 'mchid', 'description', 'out_trade_no', 'notify_url']) {
    if (typeof at(body, field) !== 'string') return fail(field, 'must be a string', at(body, field));
  }
  if (kind === 'jsapi' && typeof at(body, 'payer.openid') !== 'string') {
    return fail('payer.openid', 'must be a string', at(body, 'payer.openid'));
  }
  for (const field of ['attach', 'time_expire', 'amount.currency']) {
    const value = at(body, field);
    if (value !== undefined && typeof value !== 'string') return fail(field, 'must be a string', value);
  }
  for (const field of ['amount', ...(kind === 'jsapi' ? ['payer'] : [])]) {
    const value = at(body, field);
    if (typeof value !== 'object' || Array.isArray(value)) return fail(field, 'must be an object');
  }
  const scene = body.scene_info;
  if (scene !== undefined && (scene === null || typeof scene !== 'object' || Array.isArray(scene))) {
    return fail('scene_info', 'must be an object', scene);
  }
  if (kind === 'h5') {
    const ip = at(body, 'scene_info.payer_client_ip');
    if (typeof ip !== 'string' || isIP(ip) === 0) {
      return fail('scene_info.payer_client_ip', "the buyer's IPv4 or IPv6 address", ip);
    }
    const h5 = at(body, 'scene_info.h5_info');
    if (typeof h5 !== 'object' || Array.isArray(h5)) return fail('scene_info.h5_info', 'must be an object');
    const type = at(body, 'scene_info.h5_info.type');
    if (!H5_SCENE_TYPES.includes(type as (typeof H5_SCENE_TYPES)[number])) {
      return fail('scene_info.h5_info.type', `one of ${H5_SCENE_TYPES.join(', ')}`, type);
    }
  }

  const total = at(body, 'amount.total');
  if (typeof total !== 'number' || !Number.isInteger(total) || total <= 0 || total > 99_999_999_999) {
    return fail(
      'amount.total',
      'must be a positive integer number of fen (1 = ¥0.01), a JSON number, not a string or a decimal',
      total,
    );
  }
  const currency = (at(body, 'amount.currency') as string | undefined) ?? 'CNY';
  if (currency !== 'CNY') return fail('amount.currency', 'only CNY', currency);
  const outTradeNo = body.out_trade_no as string;
  if (!V3_OUT_TRADE_NO_RE.test(outTradeNo)) {
    return fail('out_trade_no', '6-32 characters of digits, letters and _-|*', outTradeNo);
  }
  const description = body.description as string;
  if (bytes(description) > 127)
    return fail('description', 'at most 127 bytes (UTF-8: 42 Chinese characters)');
  const attach = body.attach as string | undefined;
  if (attach !== undefined && bytes(attach) > 128) return fail('attach', 'at most 128 bytes (UTF-8)');
  const openid = at(body, 'payer.openid') as string | undefined;
  if (kind === 'jsapi' && bytes(openid ?? '') > 128) return fail('payer.openid', 'at most 128 bytes');
  const notify = checkNotifyUrl(body.notify_url as string);
  if (notify) return fail('notify_url', notify, body.notify_url);

  const timeExpire = body.time_expire as string | undefined;
  if (timeExpire !== undefined) {
    const expire = parseRfc3339(timeExpire);
    if (expire === undefined) {
      return fail('time_expire', 'RFC 3339 with an offset, e.g. 2025-06-08T10:34:56+08:00', timeExpire);
    }
    if (expire - now < MIN_EXPIRE_LEAD_MS) {
      return { reply: paramError('time_expire', TIME_EXPIRE_TOO_SHORT, 'body', timeExpire) };
    }
  }
  return {
    order: {
      appid: body.appid as string,
      mchid: body.mchid as string,
      description,
      out_trade_no: outTradeNo,
      notify_url: body.notify_url as string,
      ...(timeExpire === undefined ? {} : { time_expire: timeExpire }),
      ...(attach === undefined ? {} : { attach }),
      amount: { total, currency },
      ...(kind === 'jsapi' ? { payer: { openid: openid as string } } : {}),
      ...(scene === undefined ? {} : { scene_info: scene as Record<string, unknown> }),
    },
  };
}

/** https at WeChat; the sandbox also accepts http, since it runs next to a local server. */
export function checkNotifyUrl(value: string): string | undefined {
  if (bytes(value) > 255) return 'at most 255 bytes';
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'an absolute https URL (http is accepted by the sandbox only)';
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    return 'an absolute https URL (http is accepted by the sandbox only)';
  }
  if (value.includes('?') || value.includes('#'))
    return 'no query string or fragment: WeChat cannot carry parameters';
  return undefined;
}

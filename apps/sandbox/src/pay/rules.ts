import { isIP } from 'node:net';
import { OUT_TRADE_NO_RE, parseWechatTime, type XmlMap } from '@mp-pay/shared/wechatpay';
import type { AppKind } from '../config.ts';

/**
 * unifiedorder's parameter rules (docs/protocol.md §3, §9: JSAPI, NATIVE, APP, MWEB). A missing required field was already answered with
 * return_code=FAIL by the request pipeline; what is present but wrong is a signed result_code=FAIL reply.
 * The stricter reading wins where sources disagree: body ≤ 127 bytes, time_expire ≥ 5 minutes ahead.
 */
export type RuleViolation =
  { kind: 'return'; msg: string } | { kind: 'result'; errCode: 'PARAM_ERROR'; des: string };

const MAX_BYTES: Record<string, number> = {
  body: 127,
  attach: 127,
  device_info: 32,
  goods_tag: 32,
  detail: 6000,
  scene_info: 256,
  notify_url: 256,
};
const TOTAL_FEE_RE = /^[1-9]\d{0,9}$/;
/** WeChat's own message for a too-short time_expire (JSAPI needs 5 minutes, micropay 1). */
export const TIME_EXPIRE_TOO_SHORT = 'time_expire时间过短，刷卡至少1分钟，其他5分钟';
const MIN_EXPIRE_LEAD_MS = 5 * 60_000;

const param = (des: string): RuleViolation => ({ kind: 'result', errCode: 'PARAM_ERROR', des });

/** H5 scene types WeChat accepts in scene_info.h5_info.type. */
export const H5_SCENE_TYPES = ['Wap', 'IOS', 'Android'] as const;

/**
 * Why an MWEB scene_info is unusable (undefined when it is fine): a JSON object with an `h5_info` object whose
 * `type` is Wap, IOS or Android (docs/protocol.md §9).
 */
export function sceneInfoProblem(sceneInfo: string): string | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(sceneInfo);
  } catch {
    return 'scene_info参数格式错误: a JSON string, e.g. {"h5_info":{"type":"Wap","wap_url":"…","wap_name":"…"}}';
  }
  const h5 = (parsed as { h5_info?: unknown } | null)?.h5_info;
  if (h5 === null || typeof h5 !== 'object' || Array.isArray(h5)) {
    return 'scene_info参数格式错误: MWEB needs an h5_info object';
  }
  const type = (h5 as { type?: unknown }).type;
  if (!H5_SCENE_TYPES.includes(type as (typeof H5_SCENE_TYPES)[number])) {
    return `scene_info参数格式错误: h5_info.type must be ${H5_SCENE_TYPES.join(', ')}`;
  }
  return undefined;
}

/**
 * The rules of each trade type, then the common ones. `appKind` is what the appid belongs to: APP needs a
 * mobile app's AppID (open platform), the others work with any AppID bound to the merchant.
 */
export function checkUnifiedOrder(
  raw: XmlMap,
  now: number,
  appKind: AppKind | undefined,
): RuleViolation | undefined {
  switch (raw.trade_type) {
    case 'JSAPI':
      // JSAPI without openid is refused before anything else, as a transport-level FAIL.
      if (!raw.openid) return { kind: 'return', msg: 'JSAPI支付必须传openid' };
      break;
    case 'NATIVE':
      if (!raw.product_id) return { kind: 'return', msg: 'NATIVE支付必须传product_id' };
      if (raw.product_id.length > 32) return param('product_id参数长度有误: at most 32 characters');
      break;
    case 'APP':
      if (appKind !== 'app') {
        return param('trade_type与appid不匹配: APP支付须使用移动应用(开放平台)的appid');
      }
      break;
    case 'MWEB': {
      if (!raw.scene_info) return { kind: 'return', msg: '缺少参数scene_info' };
      const problem = sceneInfoProblem(raw.scene_info);
      if (problem) return param(problem);
      break;
    }
    default:
      return param(`trade_type参数错误: ${raw.trade_type ?? ''} is not JSAPI, NATIVE, APP or MWEB`);
  }

  for (const [name, max] of Object.entries(MAX_BYTES)) {
    const value = raw[name];
    if (value !== undefined && Buffer.byteLength(value, 'utf8') > max) return param(`${name}参数长度有误`);
  }
  if (!OUT_TRADE_NO_RE.test(raw.out_trade_no ?? '')) {
    return param('out_trade_no参数格式错误: 1-32 characters of [0-9a-zA-Z_-|*]');
  }
  if (!TOTAL_FEE_RE.test(raw.total_fee ?? ''))
    return param('total_fee参数格式错误: a positive integer, in fen');
  if (raw.fee_type !== undefined && raw.fee_type !== 'CNY') return param('fee_type参数格式错误: only CNY');
  if (isIP(raw.spbill_create_ip ?? '') === 0)
    return param('spbill_create_ip参数格式错误: an IPv4 or IPv6 address');
  const notify = checkNotifyUrl(raw.notify_url ?? '');
  if (notify) return param(notify);
  if (raw.limit_pay !== undefined && raw.limit_pay !== 'no_credit') return param('limit_pay参数格式错误');

  const start = raw.time_start === undefined ? undefined : parseWechatTime(raw.time_start);
  if (raw.time_start !== undefined && !start)
    return param('time_start参数格式错误: yyyyMMddHHmmss, Beijing time');
  if (raw.time_expire !== undefined) {
    const expire = parseWechatTime(raw.time_expire);
    if (!expire) return param('time_expire参数格式错误: yyyyMMddHHmmss, Beijing time');
    if (expire.getTime() - Math.max(now, start?.getTime() ?? 0) < MIN_EXPIRE_LEAD_MS) {
      return param(TIME_EXPIRE_TOO_SHORT);
    }
  }
  return undefined;
}

export function checkNotifyUrl(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'notify_url参数格式错误: an absolute http(s) URL';
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return 'notify_url参数格式错误: use http(s)';
  // WeChat drops the query string of a notify URL; it refuses URLs that carry one.
  if (value.includes('?') || value.includes('#'))
    return 'notify_url参数格式错误: no query string or fragment';
  return undefined;
}

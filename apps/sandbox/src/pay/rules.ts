import { isIP } from 'node:net';
import { OUT_TRADE_NO_RE, parseWechatTime, type XmlMap } from '@mp-pay/shared/wechatpay';

/**
 * unifiedorder's JSAPI parameter rules (docs/protocol.md §3). A missing required field was already answered with
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

export function checkUnifiedOrder(raw: XmlMap, now: number): RuleViolation | undefined {
  if (raw.trade_type !== 'JSAPI') {
    return param(`trade_type ${raw.trade_type ?? ''} is not supported by the sandbox: use JSAPI`);
  }
  // JSAPI without openid is refused before anything else, as a transport-level FAIL.
  if (!raw.openid) return { kind: 'return', msg: 'JSAPI支付必须传openid' };

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

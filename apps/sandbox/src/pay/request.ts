import type { Context } from 'koa';
import {
  isSignType,
  parseXml,
  returnFailXml,
  signV2,
  type SignType,
  type XmlMap,
} from '@mp-pay/shared/wechatpay';
import { timingSafeEqual } from 'node:crypto';
import type { SandboxAccount } from '../config.ts';
import type { SandboxContext } from '../context.ts';
import { BodyTooLargeError, readRawBody } from '../http/body.ts';
import { sandboxBaseUrl } from '../http/base-url.ts';
import { resultFailXml, sendXml } from '../http/xml-reply.ts';

/** A request that passed WeChat's transport checks: readable, complete, signed by a known merchant. */
export interface PayRequest {
  raw: XmlMap;
  account: SandboxAccount;
  signType: SignType;
  appid: string;
  /** The sandbox's address for browsers (mweb_url): http/base-url.ts. */
  baseUrl: string;
}

export type PayHandler = (req: PayRequest, sandbox: SandboxContext) => string;

const MAX_BODY_BYTES = 32 * 1024;
const COMMON_REQUIRED = ['appid', 'mch_id', 'nonce_str', 'sign'];
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The checks every v2 API runs before its own logic, in WeChat's order. Each failure is a return_code=FAIL
 * reply (unsigned: WeChat has no trusted key to sign with yet, or refuses to) until the merchant and its
 * signature are established; after that, failures are signed result_code=FAIL replies.
 */
export function payEndpoint(sandbox: SandboxContext, required: readonly string[], handle: PayHandler) {
  return async (ctx: Context): Promise<void> => {
    const xml = await screen(ctx, sandbox, required, handle);
    sendXml(ctx, xml.reply);
    if (xml.delayMs > 0) await sandbox.timers.sleep(xml.delayMs);
  };
}

/** How an API words the transport failures it shares with the others (downloadbill has its own words). */
export interface ScreenWording {
  missing?: (name: string) => string;
  sign?: string;
}

/**
 * The shared checks; `handle` runs once they passed. Exported for the APIs whose success is not XML
 * (downloadbill answers with the bill itself).
 */
export async function screen<T = string>(
  ctx: Context,
  sandbox: SandboxContext,
  required: readonly string[],
  handle: (req: PayRequest, sandbox: SandboxContext) => T,
  wording: ScreenWording = {},
): Promise<{ reply: string | T; delayMs: number }> {
  const early = (msg: string) => ({ reply: returnFailXml(msg), delayMs: 0 });
  if (ctx.method !== 'POST') return early('请使用post方法');

  let bytes: Buffer;
  try {
    bytes = await readRawBody(ctx, MAX_BODY_BYTES);
  } catch (err) {
    if (err instanceof BodyTooLargeError) return early('post数据过大');
    throw err;
  }
  if (bytes.byteLength === 0 || bytes.toString('utf8').trim() === '') return early('post数据为空');
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    return early('编码格式错误，请使用UTF-8编码');
  }
  let raw: XmlMap;
  try {
    raw = parseXml(text, { maxBytes: MAX_BODY_BYTES });
  } catch {
    return early('XML格式错误');
  }

  for (const name of [...COMMON_REQUIRED, ...required]) {
    if (!raw[name]) return early(wording.missing ? wording.missing(name) : `缺少参数${name}`);
  }
  const declared = raw.sign_type || 'MD5';
  if (!isSignType(declared)) return early('sign_type参数错误');
  const account = sandbox.accounts.merchant(raw.mch_id);
  if (!account) return early('商户号mch_id或sub_mch_id不存在');
  if (!signatureMatches(raw, account.key, declared)) return early(wording.sign ?? '签名错误');
  if ((raw.nonce_str ?? '').length > 32) return early('nonce_str参数长度有误');

  const appid = raw.appid as string;
  const faults = sandbox.faults.for(account.mchId, raw.out_trade_no);
  const delayMs = faults.slowReplyMs ?? 0;
  if (!sandbox.accounts.app(appid)) {
    return { reply: resultFailXml(account, declared, appid, 'APPID_NOT_EXIST', 'APPID不存在'), delayMs };
  }
  if (!sandbox.accounts.bound(appid, account.mchId)) {
    return {
      reply: resultFailXml(account, declared, appid, 'APPID_MCHID_NOT_MATCH', 'appid和mch_id不匹配'),
      delayMs,
    };
  }
  if (faults.systemErrorRate !== undefined && Math.random() < faults.systemErrorRate) {
    return { reply: resultFailXml(account, declared, appid, 'SYSTEMERROR', '系统错误'), delayMs };
  }
  const baseUrl = sandboxBaseUrl(sandbox, ctx);
  return { reply: handle({ raw, account, signType: declared, appid, baseUrl }, sandbox), delayMs };
}

/** WeChat checks the signature with the declared sign type (MD5 when absent), never by guessing from length. */
function signatureMatches(raw: XmlMap, key: string, signType: SignType): boolean {
  const expected = Buffer.from(signV2(raw, key, signType), 'latin1');
  const actual = Buffer.from(raw.sign ?? '', 'latin1');
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

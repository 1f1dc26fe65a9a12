import { createNonce } from '../core/nonce.ts';
import { isExpectedAppId, type ExpectedAppId } from './appid.ts';
import { WechatPayError, WechatPayInvalidRequestError, WechatPaySignatureError } from './errors.ts';
import { matchesSignV2, signV2 } from './sign.ts';
import { buildXml, parseXml, xmlSafeText, type XmlMap } from './xml.ts';

/**
 * Native (QR code) payments, APIv2 (docs/protocol.md §9 "Native"). Mode 2 is an ordinary unifiedorder whose
 * `code_url` (`weixin://wxpay/bizpayurl?pr=…`) becomes the QR code. Mode 1 places nothing up front: the merchant
 * shows a long link signed with its v2 key; when a buyer scans it, WeChat posts the scan to the merchant's scan
 * callback, the merchant places a NATIVE unifiedorder and answers with signed XML holding the prepay_id.
 *
 * Neither the link, nor the scan, nor the reply carries `sign_type`, so all three are signed with v2's default,
 * MD5, whatever the merchant's WECHATPAY_SIGN_TYPE, and verified as MD5 only: an HMAC-SHA256 link or reply would
 * be refused by WeChat, so our readers (and the sandbox, which uses them) refuse it too.
 */

const LINK_PREFIX = 'weixin://wxpay/bizpayurl?';
/** A QR code holds at most a few kilobytes; a real link is ~200 characters. */
const MAX_LINK_LENGTH = 2048;
/** WeChat documents product_id and nonce_str as String(32). */
const PRODUCT_ID_RE = /^[\x21-\x7e]{1,32}$/;
const NONCE_RE = /^[0-9A-Za-z]{1,32}$/;
const SECONDS_RE = /^\d{1,10}$/;
const PARAM_NAME_RE = /^[a-z][a-z_]{0,31}$/;

export interface NativeLongLinkInput {
  appId: string;
  mchId: string;
  /** The merchant's id of what the code sells; our server uses the order id. 1–32 printable ASCII. */
  productId: string;
  key: string;
  /** Seconds; now by default. */
  timeStamp?: string | number;
  nonceStr?: string;
}

/**
 * The mode-1 long link: `weixin://wxpay/bizpayurl?sign=…&appid=…&mch_id=…&product_id=…&time_stamp=…&nonce_str=…`,
 * the v2 signature over appid, mch_id, product_id, time_stamp and nonce_str (the raw values), each value
 * URL-encoded in the link.
 */
export function nativeLongLink(input: NativeLongLinkInput): string {
  const bad = (why: string) => new TypeError(`nativeLongLink: ${why}`);
  if (!input.appId || !input.mchId) throw bad('appId and mchId are required');
  if (!PRODUCT_ID_RE.test(input.productId)) throw bad('productId must be 1-32 printable ASCII characters');
  const timeStamp = String(input.timeStamp ?? Math.floor(Date.now() / 1000));
  if (!SECONDS_RE.test(timeStamp)) throw bad('timeStamp must be seconds');
  const nonceStr = input.nonceStr ?? createNonce();
  if (!NONCE_RE.test(nonceStr)) throw bad('nonceStr must be 1-32 characters of [0-9A-Za-z]');
  const fields = {
    appid: input.appId,
    mch_id: input.mchId,
    product_id: input.productId,
    time_stamp: timeStamp,
    nonce_str: nonceStr,
  };
  const sign = signV2(fields, input.key, 'MD5');
  const query = Object.entries({ sign, ...fields })
    .map(([name, value]) => `${name}=${encodeURIComponent(value)}`)
    .join('&');
  return LINK_PREFIX + query;
}

/** A mode-1 long link, read but not yet verified (verifyNativeLongLink checks its sign). */
export interface NativeLongLink {
  mode: 1;
  appId: string;
  mchId: string;
  productId: string;
  timeStamp: string;
  nonceStr: string;
  sign: string;
  /** Every parameter of the link, decoded: the signature covers all of them but `sign`. */
  params: Readonly<Record<string, string>>;
}

/** A mode-2 `code_url`: an opaque reference to a trade already placed with unifiedorder (NATIVE). */
export interface NativeCodeUrl {
  mode: 2;
  /** The `pr` parameter. */
  pr: string;
  codeUrl: string;
}

export type NativeLink = NativeLongLink | NativeCodeUrl;

/**
 * Reads what a WeChat scanner reads from a Native QR code. A `pr=` link is mode 2; a link with `sign` is mode 1
 * and must carry appid, mch_id, product_id, time_stamp and nonce_str. Anything else (another scheme, a repeated
 * or undecodable parameter, both `pr` and `sign`) throws WechatPayInvalidRequestError `BAD_LINK`.
 */
export function parseNativeLongLink(url: string): NativeLink {
  const fail = (why: string): never => {
    throw new WechatPayInvalidRequestError('BAD_LINK', `not a WeChat Pay Native link: ${why}`);
  };
  if (typeof url !== 'string') return fail('not a string');
  if (url.length > MAX_LINK_LENGTH) return fail(`longer than ${MAX_LINK_LENGTH} characters`);
  if (!url.startsWith(LINK_PREFIX)) return fail(`it must start with ${LINK_PREFIX}`);
  const query = url.slice(LINK_PREFIX.length);
  if (query.includes('#')) fail('it has a fragment');
  const params: Record<string, string> = {};
  for (const part of query.split('&')) {
    const eq = part.indexOf('=');
    if (eq < 1) fail(`malformed parameter ${JSON.stringify(part.slice(0, 40))}`);
    const name = part.slice(0, eq);
    if (!PARAM_NAME_RE.test(name)) fail(`unexpected parameter name ${JSON.stringify(name.slice(0, 40))}`);
    if (Object.hasOwn(params, name)) fail(`${name} is repeated`);
    let value: string;
    try {
      // A URI, not a form: `+` is a plus sign here, as encodeURIComponent leaves it encoded.
      value = decodeURIComponent(part.slice(eq + 1));
    } catch {
      return fail(`${name} is not valid percent-encoding`);
    }
    params[name] = value;
  }
  const has = (name: string) => Object.hasOwn(params, name);
  if (has('pr') && has('sign')) return fail('it has both pr (mode 2) and sign (mode 1)');
  if (has('pr')) {
    if (Object.keys(params).length !== 1) fail('a mode-2 code_url carries pr only');
    if (!params.pr) fail('pr is empty');
    return { mode: 2, pr: params.pr as string, codeUrl: url };
  }
  for (const name of ['sign', 'appid', 'mch_id', 'product_id', 'time_stamp', 'nonce_str']) {
    if (!params[name]) fail(`${name} is missing`);
  }
  return {
    mode: 1,
    appId: params.appid as string,
    mchId: params.mch_id as string,
    productId: params.product_id as string,
    timeStamp: params.time_stamp as string,
    nonceStr: params.nonce_str as string,
    sign: params.sign as string,
    params,
  };
}

/**
 * What WeChat would refuse in a mode-1 long link, or undefined when it is good: unreadable, a mode-2 code_url
 * (nothing to verify), a time_stamp that is not seconds, an over-long product_id or nonce_str, a sign that does
 * not match every other parameter under `key`.
 */
export function verifyNativeLongLink(link: string | NativeLink, key: string): string | undefined {
  let parsed: NativeLink;
  try {
    parsed = typeof link === 'string' ? parseNativeLongLink(link) : link;
  } catch (err) {
    if (err instanceof WechatPayError) return err.message;
    throw err;
  }
  if (parsed.mode !== 1) return 'a mode-2 code_url is not signed: only WeChat can resolve it';
  // The signature covers `params`; a hand-built or altered object must not carry other values in its fields.
  const { params } = parsed;
  if (
    params.appid !== parsed.appId ||
    params.mch_id !== parsed.mchId ||
    params.product_id !== parsed.productId ||
    params.time_stamp !== parsed.timeStamp ||
    params.nonce_str !== parsed.nonceStr ||
    params.sign !== parsed.sign
  ) {
    return 'the link fields do not match its signed parameters';
  }
  if (!SECONDS_RE.test(parsed.timeStamp)) return 'time_stamp must be whole seconds';
  if (!PRODUCT_ID_RE.test(parsed.productId)) return 'product_id must be 1-32 printable ASCII characters';
  if (!NONCE_RE.test(parsed.nonceStr)) return 'nonce_str must be 1-32 characters of [0-9A-Za-z]';
  if (!matchesSignV2(parsed.params, parsed.params.sign, key, 'MD5')) {
    return 'sign does not match appid, mch_id, product_id, time_stamp and nonce_str under the merchant key';
  }
  return undefined;
}

export interface VerifyNativeScanOptions {
  key: string;
  /** The AppID(s) whose long links this merchant shows. */
  appId: ExpectedAppId;
  mchId: string;
  /** Largest body accepted, 64 KiB by default (a scan is ~400 bytes). */
  maxBytes?: number;
}

/** A verified mode-1 scan: who scanned which product. */
export interface NativeScan {
  appId: string;
  mchId: string;
  /** The buyer's openid under `appId`. */
  openid: string;
  /** The long link's product_id (our order id). */
  productId: string;
  /** Whether the buyer follows the merchant's official account. */
  isSubscribe: boolean;
  nonceStr: string;
  /** The full received map. */
  raw: Readonly<XmlMap>;
}

/**
 * Verifies the scan callback WeChat posts for a mode-1 long link, exactly as verifyPaymentNotification
 * verifies a notification: hardened parse of the raw body (size cap, no DOCTYPE / entities), signature over the
 * raw received map, then appid and mch_id, then the fields. Throws WechatPayXmlError, WechatPaySignatureError,
 * WechatPayInvalidRequestError (`MERCHANT_MISMATCH`, `LACK_PARAMS`) or TypeError (a parsed object passed in).
 */
export function verifyNativeScan(body: unknown, options: VerifyNativeScanOptions): NativeScan {
  if (typeof body !== 'string' && !(body instanceof Uint8Array)) {
    throw new TypeError(
      'verifyNativeScan: pass the raw request body (string or Buffer), not a parsed object: ' +
        'the signature covers the fields exactly as received',
    );
  }
  const raw = parseXml(body, options.maxBytes === undefined ? {} : { maxBytes: options.maxBytes });
  if (!raw.sign) throw new WechatPaySignatureError('Native scan is not signed', raw);
  if (!matchesSignV2(raw, raw.sign, options.key, 'MD5')) {
    throw new WechatPaySignatureError(
      'Native scan signature does not match: check WECHATPAY_KEY and that the raw body was verified',
      raw,
    );
  }
  if (!isExpectedAppId(options.appId, raw.appid) || raw.mch_id !== options.mchId) {
    throw new WechatPayInvalidRequestError(
      'MERCHANT_MISMATCH',
      'Native scan is for another appid or mch_id',
      raw,
    );
  }
  for (const name of ['openid', 'product_id', 'nonce_str']) {
    if (!raw[name]) throw new WechatPayInvalidRequestError('LACK_PARAMS', `Native scan lacks ${name}`, raw);
  }
  if (raw.is_subscribe !== 'Y' && raw.is_subscribe !== 'N') {
    throw new WechatPayInvalidRequestError('LACK_PARAMS', 'Native scan is_subscribe must be Y or N', raw);
  }
  return {
    appId: raw.appid as string,
    mchId: raw.mch_id as string,
    openid: raw.openid as string,
    productId: raw.product_id as string,
    isSubscribe: raw.is_subscribe === 'Y',
    nonceStr: raw.nonce_str as string,
    raw,
  };
}

export interface NativeScanXmlInput {
  appId: string;
  mchId: string;
  key: string;
  openid: string;
  productId: string;
  isSubscribe?: boolean;
  nonceStr?: string;
}

/**
 * The scan callback body as WeChat sends it (appid, openid, mch_id, is_subscribe, nonce_str, product_id, sign),
 * for the sandbox's scanner and for tests.
 */
export function buildNativeScanXml(input: NativeScanXmlInput): string {
  const fields: Record<string, string> = {
    appid: input.appId,
    openid: input.openid,
    mch_id: input.mchId,
    is_subscribe: input.isSubscribe ? 'Y' : 'N',
    nonce_str: input.nonceStr ?? createNonce(),
    product_id: input.productId,
  };
  fields.sign = signV2(fields, input.key, 'MD5');
  return buildXml(fields);
}

export type NativeScanReplyInput = {
  appId: string;
  mchId: string;
  key: string;
  nonceStr?: string;
} & ({ prepayId: string } | { errCodeDes: string });

/** WeChat documents err_code_des as String(128). */
const MAX_ERR_CODE_DES = 128;

/**
 * The merchant's signed answer to a Native scan: `prepay_id` with result_code SUCCESS, or result_code FAIL with
 * `err_code_des`, which WeChat shows the buyer. return_code is SUCCESS either way: the scan itself was taken.
 */
export function nativeScanReplyXml(input: NativeScanReplyInput): string {
  if (!input.appId || !input.mchId) throw new TypeError('nativeScanReplyXml: appId and mchId are required');
  const paid = 'prepayId' in input;
  if (paid && !input.prepayId) throw new TypeError('nativeScanReplyXml: prepayId is empty');
  const fields: Record<string, string> = {
    return_code: 'SUCCESS',
    appid: input.appId,
    mch_id: input.mchId,
    nonce_str: input.nonceStr ?? createNonce(),
    ...(paid
      ? { prepay_id: input.prepayId, result_code: 'SUCCESS' }
      : {
          result_code: 'FAIL',
          err_code_des: [...xmlSafeText(input.errCodeDes || 'FAIL')].slice(0, MAX_ERR_CODE_DES).join(''),
        }),
  };
  fields.sign = signV2(fields, input.key, 'MD5');
  return buildXml(fields);
}

export type NativeScanReply =
  | { resultCode: 'SUCCESS'; prepayId: string; raw: Readonly<XmlMap> }
  | { resultCode: 'FAIL'; errCodeDes: string; raw: Readonly<XmlMap> };

/**
 * Reads a merchant's answer to a Native scan as WeChat does (the sandbox's scanner uses it): hardened parse,
 * return_code SUCCESS (else WechatPayInvalidRequestError `FAIL`), signature (WechatPaySignatureError), the
 * merchant named when `expected` is given (`MERCHANT_MISMATCH`), then prepay_id for SUCCESS (`BAD_REPLY`
 * without one).
 */
export function parseNativeScanReply(
  xml: string | Uint8Array,
  key: string,
  expected: { appId?: string; mchId?: string } = {},
): NativeScanReply {
  const raw = parseXml(xml);
  if (raw.return_code !== 'SUCCESS') {
    throw new WechatPayInvalidRequestError(
      raw.return_code === 'FAIL' ? 'FAIL' : 'BAD_REPLY',
      `Native scan reply return_code is ${raw.return_code ?? 'missing'}: ${raw.return_msg ?? 'no return_msg'}`,
      raw,
    );
  }
  if (!raw.sign) throw new WechatPaySignatureError('Native scan reply is not signed', raw);
  if (!matchesSignV2(raw, raw.sign, key, 'MD5'))
    throw new WechatPaySignatureError('Native scan reply has a bad signature', raw);
  if (
    (expected.appId !== undefined && raw.appid !== expected.appId) ||
    (expected.mchId !== undefined && raw.mch_id !== expected.mchId)
  ) {
    throw new WechatPayInvalidRequestError(
      'MERCHANT_MISMATCH',
      'Native scan reply names another appid or mch_id',
      raw,
    );
  }
  if (raw.result_code === 'SUCCESS') {
    if (!raw.prepay_id) {
      throw new WechatPayError('BAD_REPLY', 'Native scan reply is SUCCESS without a prepay_id', raw);
    }
    return { resultCode: 'SUCCESS', prepayId: raw.prepay_id, raw };
  }
  if (raw.result_code !== 'FAIL') {
    throw new WechatPayError(
      'BAD_REPLY',
      `Native scan reply result_code is ${raw.result_code ?? 'missing'}`,
      raw,
    );
  }
  return { resultCode: 'FAIL', errCodeDes: raw.err_code_des ?? '', raw };
}

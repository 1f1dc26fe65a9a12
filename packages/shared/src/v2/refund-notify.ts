import { createCipheriv, createDecipheriv, createHash } from 'node:crypto';
import { WechatPayError, WechatPayXmlError } from './errors.ts';
import { buildXml, parseXml, type XmlMap } from './xml.ts';

/**
 * APIv2 refund notifications (docs/protocol.md §6 "Refund notification"). Unlike payment notifications they
 * carry no `sign`: the outer `<xml>` holds return_code, appid, mch_id, nonce_str and `req_info`, which is
 * base64 of AES-256-ECB (PKCS#7 padding) over a `<root>` XML map. The AES key is the lowercase hex MD5 of the
 * APIv2 key: those 32 ASCII characters are the 256-bit key (not the 16 raw digest bytes, not upper case).
 *
 * Trust comes from the key alone, and ECB authenticates nothing: a req_info that decrypts to a well-formed map
 * was made with the key, but ECB blocks can be cut and reordered. Decryption here refuses anything that is not
 * exactly the expected shape (padding, UTF-8, the hardened flat-XML parser); a merchant should still confirm
 * the amounts against its own refund record, or with refundquery, before acting on them.
 */

/** What goes wrong, for callers that branch: a wrong key or tampered req_info are both `UNREADABLE`. */
export type RefundNotifyErrorReason = 'MALFORMED' | 'UNREADABLE' | 'BAD_KEY';

export class WechatPayRefundNotifyError extends WechatPayError {
  override readonly name = 'WechatPayRefundNotifyError';
  readonly reason: RefundNotifyErrorReason;

  constructor(reason: RefundNotifyErrorReason, message: string, options?: { cause?: unknown }) {
    super('REFUND_NOTIFY', message, undefined, options);
    this.reason = reason;
  }
}

/** The req_info XML is far smaller in practice (~1 KB); anything above this is not a refund notification. */
const MAX_REQ_INFO_CHARS = 64 * 1024;
const BLOCK = 16;
const BASE64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const utf8 = new TextDecoder('utf-8', { fatal: true });
/** WeChat wraps the decrypted map in `<root>`; the hardened parser only knows `<xml>`. */
const ROOT_OPEN_RE = /^(\uFEFF?(?:<\?xml[^>]*\?>)?\s*)<root>/;
const ROOT_CLOSE_RE = /<\/root>(\s*)$/;

const UNREADABLE_FIX =
  'req_info did not decrypt with this key: it is keyed by the MD5 of the APIv2 key (WECHATPAY_KEY, the 32 ' +
  'characters set in the merchant console under API安全), not the APIv3 key; if the key is right, the ' +
  'notification was altered or forged: do not act on it, and check the refund with refundquery';

/** The AES-256 key of req_info: the 32 ASCII characters of the lowercase hex MD5 of the APIv2 key. */
export function refundNotifyKey(apiKey: string): Buffer {
  if (typeof apiKey !== 'string' || apiKey === '') {
    throw new WechatPayRefundNotifyError(
      'BAD_KEY',
      'decrypting a refund notification needs the APIv2 key (WECHATPAY_KEY, 32 characters)',
    );
  }
  return Buffer.from(createHash('md5').update(apiKey, 'utf8').digest('hex'), 'ascii');
}

/**
 * Decrypts a refund notification's `req_info` with the merchant's APIv2 key and parses the map inside
 * (out_refund_no, out_trade_no, refund_id, transaction_id, total_fee, refund_fee, settlement_refund_fee,
 * refund_status, success_time, refund_recv_accout, refund_account, refund_request_source...). Every value
 * stays a string. A wrong key, a truncated or altered req_info: WechatPayRefundNotifyError naming the fix.
 */
export function decryptRefundNotification(reqInfo: string, apiKey: string): Record<string, string> {
  const key = refundNotifyKey(apiKey);
  if (typeof reqInfo !== 'string' || reqInfo.trim() === '') {
    throw new WechatPayRefundNotifyError(
      'MALFORMED',
      'the refund notification has no req_info: read it from the <req_info> field of the POSTed <xml>',
    );
  }
  const text = reqInfo.replace(/\s+/g, '');
  if (text.length > MAX_REQ_INFO_CHARS || !BASE64_RE.test(text)) {
    throw new WechatPayRefundNotifyError(
      'MALFORMED',
      'req_info is not base64 (pass the <req_info> text as received, not URL-decoded or re-encoded)',
    );
  }
  const sealed = Buffer.from(text, 'base64');
  if (sealed.length === 0 || sealed.length % BLOCK !== 0) {
    throw new WechatPayRefundNotifyError(
      'MALFORMED',
      `req_info is ${sealed.length} bytes, not whole 16-byte AES blocks: it was truncated or altered`,
    );
  }

  let plain: Buffer;
  try {
    const decipher = createDecipheriv('aes-256-ecb', key, null).setAutoPadding(false);
    plain = unpad(Buffer.concat([decipher.update(sealed), decipher.final()]));
  } catch (err) {
    throw new WechatPayRefundNotifyError('UNREADABLE', UNREADABLE_FIX, { cause: err });
  }
  let xml: string;
  try {
    xml = utf8.decode(plain);
  } catch (err) {
    throw new WechatPayRefundNotifyError('UNREADABLE', UNREADABLE_FIX, { cause: err });
  }
  const open = ROOT_OPEN_RE.exec(xml);
  const close = ROOT_CLOSE_RE.exec(xml);
  if (!open || !close || close.index < (open.index ?? 0) + open[0].length) {
    throw new WechatPayRefundNotifyError('UNREADABLE', UNREADABLE_FIX);
  }
  const asXml = `${open[1]}<xml>${xml.slice(open[0].length, close.index)}</xml>${close[1]}`;
  let map: XmlMap;
  try {
    map = parseXml(asXml);
  } catch (err) {
    if (err instanceof WechatPayXmlError) {
      throw new WechatPayRefundNotifyError('UNREADABLE', `${UNREADABLE_FIX} (${err.message})`, {
        cause: err,
      });
    }
    throw err;
  }
  if (!map.out_refund_no || !map.refund_status) {
    throw new WechatPayRefundNotifyError(
      'UNREADABLE',
      'req_info decrypted but lacks out_refund_no or refund_status: this is not a refund notification',
    );
  }
  return map;
}

/**
 * The reverse, as WeChat does it (the sandbox sends its refund notifications with this): the map serialised
 * as `<root>…</root>`, PKCS#7-padded, AES-256-ECB with the MD5-hex key, base64. Undefined values are left out.
 */
export function encryptRefundNotification(
  map: Readonly<Record<string, string | number | undefined>>,
  apiKey: string,
): string {
  const key = refundNotifyKey(apiKey);
  const xml = `<root>${buildXml(map).slice('<xml>'.length, -'</xml>'.length)}</root>`;
  const cipher = createCipheriv('aes-256-ecb', key, null).setAutoPadding(false);
  return Buffer.concat([cipher.update(pad(Buffer.from(xml, 'utf8'))), cipher.final()]).toString('base64');
}

function pad(data: Buffer): Buffer {
  const n = BLOCK - (data.length % BLOCK);
  return Buffer.concat([data, Buffer.alloc(n, n)]);
}

/** Strict PKCS#7: 1..16 bytes, all equal to their count. Anything else means the wrong key or altered data. */
function unpad(data: Buffer): Buffer {
  const n = data[data.length - 1] ?? 0;
  if (n < 1 || n > BLOCK || n > data.length) throw new Error('bad PKCS#7 padding');
  for (let i = data.length - n; i < data.length; i++) {
    if (data[i] !== n) throw new Error('bad PKCS#7 padding');
  }
  return data.subarray(0, data.length - n);
}

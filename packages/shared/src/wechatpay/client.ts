import {
  errorFromResult,
  WechatPayError,
  WechatPayInvalidRequestError,
  WechatPaySignatureError,
  WechatPayTimeoutError,
  WechatPayTransportError,
} from './errors.ts';
import { parseFen } from './notify.ts';
import { createNonce, OUT_TRADE_NO_RE } from './nonce.ts';
import { signV2, verifyV2, type SignType, type V2Params } from './sign.ts';
import { buildXml, parseXml, type XmlMap } from './xml.ts';

export const WECHATPAY_API_BASE = 'https://api.mch.weixin.qq.com';

export interface WechatPayV2ClientOptions {
  appId: string;
  mchId: string;
  /** The 32-character APIv2 key. Used to sign; never logged nor put into an error. */
  key: string;
  signType?: SignType;
  /** Defaults to the live host; point it at the mp-pay sandbox (e.g. http://127.0.0.1:4010) for local runs. */
  baseUrl?: string;
  timeoutMs?: number;
}

export interface UnifiedOrderRequest {
  body: string;
  outTradeNo: string;
  /** Fen, a positive integer. */
  totalFee: number;
  spbillCreateIp: string;
  notifyUrl: string;
  openid: string;
  tradeType?: 'JSAPI';
  attach?: string;
  detail?: string;
  /** `yyyyMMddHHmmss`, Beijing time. */
  timeStart?: string;
  timeExpire?: string;
  goodsTag?: string;
  limitPay?: 'no_credit';
}

export interface UnifiedOrderResult {
  prepayId: string;
  tradeType: string;
  raw: Readonly<XmlMap>;
}

export type TradeState = 'SUCCESS' | 'REFUND' | 'NOTPAY' | 'CLOSED' | 'REVOKED' | 'USERPAYING' | 'PAYERROR';

export interface OrderQueryResult {
  tradeState: TradeState;
  tradeStateDesc: string;
  outTradeNo: string;
  transactionId: string | undefined;
  totalFee: number | undefined;
  cashFee: number | undefined;
  timeEnd: string | undefined;
  openid: string | undefined;
  attach: string | undefined;
  raw: Readonly<XmlMap>;
}

export type OrderRef = { outTradeNo: string } | { transactionId: string };

const TRADE_STATES = new Set<string>([
  'SUCCESS',
  'REFUND',
  'NOTPAY',
  'CLOSED',
  'REVOKED',
  'USERPAYING',
  'PAYERROR',
]);
const MAX_REPLY_BYTES = 64 * 1024;

/**
 * WeChat Pay APIv2 client (XML over HTTPS). Every request is signed with a fresh nonce; every SUCCESS reply
 * must carry a valid signature for this merchant, or the call fails with WechatPaySignatureError.
 */
export class WechatPayV2Client {
  readonly appId: string;
  readonly mchId: string;
  readonly signType: SignType;
  readonly baseUrl: string;
  readonly timeoutMs: number;
  readonly #key: string;

  constructor(options: WechatPayV2ClientOptions) {
    if (!options.appId || !options.mchId)
      throw new TypeError('WechatPayV2Client: appId and mchId are required');
    if (!options.key) throw new TypeError('WechatPayV2Client: key (the APIv2 key) is required');
    this.appId = options.appId;
    this.mchId = options.mchId;
    this.#key = options.key;
    this.signType = options.signType ?? 'MD5';
    this.baseUrl = (options.baseUrl ?? WECHATPAY_API_BASE).replace(/\/+$/, '');
    this.timeoutMs = options.timeoutMs ?? 10_000;
  }

  /** POST /pay/unifiedorder. Re-submitting the same parameters for an unpaid order yields a fresh prepay_id. */
  async unifiedOrder(req: UnifiedOrderRequest): Promise<UnifiedOrderResult> {
    if (!Number.isSafeInteger(req.totalFee) || req.totalFee <= 0) {
      throw new RangeError('unifiedOrder: totalFee must be a positive integer number of fen');
    }
    if (!OUT_TRADE_NO_RE.test(req.outTradeNo)) {
      throw new RangeError('unifiedOrder: outTradeNo must be 1-32 characters of [0-9A-Za-z_-|*]');
    }
    const raw = await this.request('/pay/unifiedorder', {
      body: req.body,
      out_trade_no: req.outTradeNo,
      total_fee: req.totalFee,
      spbill_create_ip: req.spbillCreateIp,
      notify_url: req.notifyUrl,
      trade_type: req.tradeType ?? 'JSAPI',
      openid: req.openid,
      attach: req.attach,
      detail: req.detail,
      time_start: req.timeStart,
      time_expire: req.timeExpire,
      goods_tag: req.goodsTag,
      limit_pay: req.limitPay,
    });
    if (!raw.prepay_id)
      throw new WechatPayError('NO_PREPAY_ID', 'unifiedorder succeeded without a prepay_id', raw);
    return { prepayId: raw.prepay_id, tradeType: raw.trade_type ?? '', raw };
  }

  /** POST /pay/orderquery. Unknown orders throw WechatPayOrderNotExistError. */
  async orderQuery(ref: OrderRef): Promise<OrderQueryResult> {
    const raw = await this.request('/pay/orderquery', refFields(ref));
    const state = raw.trade_state ?? '';
    if (!TRADE_STATES.has(state)) {
      throw new WechatPayError(
        'BAD_REPLY',
        `orderquery returned unknown trade_state ${state || '(none)'}`,
        raw,
      );
    }
    const paid = state === 'SUCCESS';
    // A payment is recorded by its transaction_id: without one, a later notification for the same payment
    // would look like a second charge.
    if (paid && !raw.transaction_id) {
      throw new WechatPayError('BAD_REPLY', 'orderquery reported SUCCESS without a transaction_id', raw);
    }
    return {
      tradeState: state as TradeState,
      tradeStateDesc: raw.trade_state_desc ?? '',
      outTradeNo: raw.out_trade_no ?? ('outTradeNo' in ref ? ref.outTradeNo : ''),
      transactionId: raw.transaction_id || undefined,
      totalFee: raw.total_fee === undefined && !paid ? undefined : parseFen(raw.total_fee, 'total_fee', raw),
      cashFee: raw.cash_fee === undefined ? undefined : parseFen(raw.cash_fee, 'cash_fee', raw),
      timeEnd: raw.time_end || undefined,
      openid: raw.openid || undefined,
      attach: raw.attach,
      raw,
    };
  }

  /** POST /pay/closeorder. ORDERPAID means the buyer paid after all: treat the order as paid. */
  async closeOrder(ref: { outTradeNo: string }): Promise<void> {
    await this.request('/pay/closeorder', { out_trade_no: ref.outTradeNo });
  }

  /**
   * Signs and sends any v2 call, verifies the reply and maps failures to the error hierarchy. The public
   * methods above are thin typed wrappers over this.
   */
  async request(path: string, fields: V2Params): Promise<XmlMap> {
    const params: Record<string, string | number | undefined | null> = {
      appid: this.appId,
      mch_id: this.mchId,
      nonce_str: createNonce(),
      ...(this.signType === 'MD5' ? {} : { sign_type: this.signType }),
      ...fields,
    };
    params.sign = signV2(params, this.#key, this.signType);
    const text = await this.post(path, buildXml(params));

    let raw: XmlMap;
    try {
      raw = parseXml(text, { maxBytes: MAX_REPLY_BYTES });
    } catch (err) {
      throw new WechatPayTransportError(
        'BAD_REPLY',
        `unreadable reply from ${path}: ${(err as Error).message}`,
        undefined,
        {
          cause: err,
        },
      );
    }
    if (raw.return_code !== 'SUCCESS') {
      // return_code=FAIL replies are unsigned by design (bad signature, missing field, wrong method ...).
      throw new WechatPayInvalidRequestError(
        raw.return_code === 'FAIL' ? 'FAIL' : 'BAD_REPLY',
        `WeChat Pay refused ${path}: ${raw.return_msg ?? 'no return_msg'}`,
        raw,
      );
    }
    if (!raw.sign) throw new WechatPaySignatureError(`reply from ${path} is not signed`, raw);
    if (!verifyV2(raw, this.#key))
      throw new WechatPaySignatureError(`reply from ${path} has a bad signature`, raw);
    if ((raw.appid && raw.appid !== this.appId) || (raw.mch_id && raw.mch_id !== this.mchId)) {
      throw new WechatPaySignatureError(`reply from ${path} names another appid or mch_id`, raw);
    }
    if (raw.result_code !== 'SUCCESS') throw errorFromResult(raw);
    return raw;
  }

  private async post(path: string, body: string): Promise<string> {
    let res: Response;
    try {
      res = await fetch(this.baseUrl + path, {
        method: 'POST',
        headers: { 'content-type': 'text/xml; charset=utf-8', accept: 'text/xml' },
        body,
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      if (!res.ok) {
        await res.body?.cancel();
        throw new WechatPayTransportError(
          'HTTP_' + res.status,
          `WeChat Pay answered HTTP ${res.status} for ${path}`,
        );
      }
      return await readCapped(res, MAX_REPLY_BYTES);
    } catch (err) {
      if (err instanceof WechatPayError) throw err;
      const name = (err as Error | undefined)?.name;
      if (name === 'TimeoutError' || name === 'AbortError')
        throw new WechatPayTimeoutError(this.timeoutMs, { cause: err });
      throw new WechatPayTransportError('NETWORK', `could not reach WeChat Pay for ${path}`, undefined, {
        cause: err,
      });
    }
  }
}

function refFields(ref: OrderRef): V2Params {
  if ('transactionId' in ref && ref.transactionId) return { transaction_id: ref.transactionId };
  if ('outTradeNo' in ref && ref.outTradeNo) return { out_trade_no: ref.outTradeNo };
  throw new TypeError('an order reference needs outTradeNo or transactionId');
}

/** Reads a fetch body as UTF-8 text, refusing to buffer more than `limit` bytes. */
export async function readCapped(res: Response, limit: number): Promise<string> {
  const declared = Number(res.headers.get('content-length') ?? NaN);
  if (declared > limit) {
    await res.body?.cancel();
    throw new WechatPayTransportError('TOO_LARGE', `reply larger than ${limit} bytes`);
  }
  if (!res.body) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    size += chunk.byteLength;
    if (size > limit) throw new WechatPayTransportError('TOO_LARGE', `reply larger than ${limit} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

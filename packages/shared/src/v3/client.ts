import { parseV3Refund, v3RefundBody, type V3Refund, type V3RefundRequest } from './refund.ts';
import {
  combineCloseBody,
  combinePrepayBody,
  COMBINE_OUT_TRADE_NO_RE,
  parseV3CombineTransaction,
  type CombineChannel,
  type CombineCloseSubOrder,
  type CombinePrepayReplies,
  type CombinePrepayRequest,
  type V3CombineTransaction,
} from './combine.ts';
import type { KeyObject } from 'node:crypto';
import { isIP } from 'node:net';
import { WechatTransportError } from '../core/errors.ts';
import { OUT_TRADE_NO_RE } from '../core/nonce.ts';
import { HttpTransport, type HttpReply, type HttpRequest } from '../core/transport.ts';
import { buildAuthorizationV3 } from './authorization.ts';
import type { V3EncryptedResource } from './aead.ts';
import {
  WechatPayV3BadMessageError,
  WechatPayV3SignatureError,
  WechatPayV3Error,
  WechatPayV3TransportError,
} from './errors.ts';
import { hasSignatureHeadersV3, signedMessageFromHeadersV3 } from './headers.ts';
import type { V3KeySet } from './keys.ts';
import { errorFromV3Reply, isRecord } from './reply-errors.ts';
import { toPrivateKey } from './sign.ts';
import { formatV3Time } from './time.ts';
import { parseV3Transaction, type V3Transaction } from './transaction.ts';
import { verifyV3, type V3SignedMessage } from './verify.ts';
import { BodyTooLargeError } from '../core/body.ts';
import { MAX_BILL_BYTES, requestBytes } from '../bills/download.ts';
import { billErrorCodeOf, isBillDate } from '../bills/errors.ts';
import { checkBillHash } from '../bills/hash.ts';
import type { BillType } from '../bills/types.ts';

export const WECHATPAY_V3_API_BASE = 'https://api.mch.weixin.qq.com';

export interface WechatPayV3ClientOptions {
  mchId: string;
  /** Serial of the merchant API certificate (apiclient_cert.pem) whose private key signs. */
  serialNo: string;
  /** The merchant private key, apiclient_key.pem (PEM text or a KeyObject). Never logged. */
  privateKey: string | KeyObject;
  /** WeChat's keys for verifying replies: public key and/or platform certificates (PlatformCertificates fills it). */
  keys: V3KeySet;
  /** Defaults to the live host; the mp-pay sandbox for local runs. */
  baseUrl?: string;
  timeoutMs?: number;
  /** Shared transport (connection pool); one of our own otherwise. */
  transport?: HttpTransport;
  /** Largest reply read, 256 KiB by default. */
  maxReplyBytes?: number;
  /** Reply timestamp window, 300 s by default (docs/protocol.md §7). */
  toleranceSeconds?: number;
  /** Clock in ms, for tests; Date.now by default. */
  now?: () => number;
}

export type V3Method = HttpRequest['method'];

export interface V3Reply {
  status: number;
  /** Lower-case names. */
  headers: Readonly<Record<string, string>>;
  /** The body as received. */
  text: string;
  /** The body parsed as JSON; undefined when empty (204). */
  data: unknown;
  requestId: string | undefined;
}

/** What every prepay call (JSAPI, APP, H5, Native) sends (docs/protocol.md §7, §9). */
export interface PrepayV3Request {
  appid: string;
  /** What the buyer sees in the payment sheet and the bill (≤ 127 characters). */
  description: string;
  outTradeNo: string;
  notifyUrl: string;
  amountFen: number;
  /** After this the order can no longer be paid; sent in Beijing time (RFC 3339, +08:00). */
  timeExpire?: Date;
  /** Echoed back in the query reply and the notification (≤ 128 characters). */
  attach?: string;
}

export interface JsapiPrepayV3Request extends PrepayV3Request {
  payerOpenid: string;
}

/** APP: `appid` is the mobile app's Open Platform AppID; no payer. */
export type AppPrepayV3Request = PrepayV3Request;

/** Native (QR code, mode 2): no payer; the reply's code_url is the QR code. */
export type NativePrepayV3Request = PrepayV3Request;

/** `scene_info.h5_info` of an H5 order: where the buyer pays from. */
export interface H5InfoV3 {
  type: 'Wap' | 'iOS' | 'Android';
  appName?: string;
  appUrl?: string;
  bundleId?: string;
  packageName?: string;
}

export interface H5PrepayV3Request extends PrepayV3Request {
  /** The buyer's public IP, as seen by us: WeChat compares it with the IP that opens h5_url. */
  payerClientIp: string;
  h5Info: H5InfoV3;
}

/** `GET /v3/bill/tradebill` query (docs/protocol.md §8 "Bills"). */
export interface TradeBillV3Request {
  /** The Beijing calendar day, 'yyyy-MM-dd'. */
  billDate: string;
  billType: BillType;
  tarType?: 'GZIP';
}

/** Where to fetch the file, and the SHA1 it must have (of the bytes as served, gzipped or not). */
export interface TradeBillV3 {
  hashType: 'SHA1';
  hashValue: string;
  downloadUrl: string;
}

/** One entry of `GET /v3/certificates` (docs/protocol.md §7 "Platform certificates and the public key"). */
export interface V3EncryptedCertificate {
  serial_no: string;
  effective_time: string;
  expire_time: string;
  encrypt_certificate: V3EncryptedResource;
}

/**
 * The certificate list as received: NOT yet verified, because the key that signed it may be inside it. Open it
 * with openCertificateDownloadV3 (PlatformCertificates does), which decrypts and then checks the signature.
 */
export interface V3CertificateDownload {
  entries: V3EncryptedCertificate[];
  signed: V3SignedMessage;
  requestId: string | undefined;
}

const MAX_REPLY_BYTES = 256 * 1024;
const USER_AGENT = `mp-pay/0.1 (node ${process.versions.node})`;

/**
 * WeChat Pay APIv3 client (JSON over HTTPS, docs/protocol.md §7). Every request carries a fresh Authorization;
 * every reply that carries signature headers is verified with the key set, and a 2xx reply with a body must
 * carry them. Failures are WechatPayV3Error subclasses with status, WeChat's code, detail and Request-ID.
 */
export class WechatPayV3Client {
  readonly mchId: string;
  readonly serialNo: string;
  readonly baseUrl: string;
  readonly timeoutMs: number;
  readonly keys: V3KeySet;
  readonly #privateKey: KeyObject;
  readonly #transport: HttpTransport;
  readonly #ownsTransport: boolean;
  readonly #maxReplyBytes: number;
  readonly #toleranceSeconds: number;
  readonly #now: () => number;

  constructor(options: WechatPayV3ClientOptions) {
    if (!options.mchId || !options.serialNo)
      throw new TypeError('WechatPayV3Client: mchId and serialNo are required');
    if (!options.keys) throw new TypeError('WechatPayV3Client: keys (a V3KeySet) is required');
    this.mchId = options.mchId;
    this.serialNo = options.serialNo;
    this.#privateKey = toPrivateKey(options.privateKey);
    this.keys = options.keys;
    this.baseUrl = (options.baseUrl ?? WECHATPAY_V3_API_BASE).replace(/\/+$/, '');
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.#ownsTransport = !options.transport;
    this.#transport = options.transport ?? new HttpTransport();
    this.#maxReplyBytes = options.maxReplyBytes ?? MAX_REPLY_BYTES;
    this.#toleranceSeconds = options.toleranceSeconds ?? 300;
    this.#now = options.now ?? Date.now;
  }

  /** POST /v3/pay/transactions/jsapi (mini-program and JSAPI pages) → prepay_id, valid for two hours. */
  async jsapiPrepay(req: JsapiPrepayV3Request): Promise<{ prepayId: string }> {
    checkPrepay(req, 'jsapiPrepay');
    if (!req.payerOpenid) throw new TypeError('jsapiPrepay: payerOpenid is required');
    const reply = await this.requestReply('POST', '/v3/pay/transactions/jsapi', {
      ...this.#prepayBody(req),
      payer: { openid: req.payerOpenid },
    });
    return { prepayId: replyString(reply, 'prepay_id', 'jsapi') };
  }

  /**
   * POST /v3/pay/transactions/app (mobile app, OpenSDK) → prepay_id; the app is launched with appPayParamsV3
   * (docs/protocol.md §9 "APP").
   */
  async appPrepay(req: AppPrepayV3Request): Promise<{ prepayId: string }> {
    checkPrepay(req, 'appPrepay');
    const reply = await this.requestReply('POST', '/v3/pay/transactions/app', this.#prepayBody(req));
    return { prepayId: replyString(reply, 'prepay_id', 'app') };
  }

  /**
   * POST /v3/pay/transactions/h5 (mobile browser outside WeChat) → h5_url, valid 5 minutes; append
   * `&redirect_url=<encoded>` to come back after paying (docs/protocol.md §9 "H5").
   */
  async h5Prepay(req: H5PrepayV3Request): Promise<{ h5Url: string }> {
    checkPrepay(req, 'h5Prepay');
    if (isIP(req.payerClientIp) === 0) throw new TypeError('h5Prepay: payerClientIp must be an IP address');
    const info = req.h5Info;
    if (!info || !['Wap', 'iOS', 'Android'].includes(info.type)) {
      throw new TypeError('h5Prepay: h5Info.type must be Wap, iOS or Android');
    }
    const reply = await this.requestReply('POST', '/v3/pay/transactions/h5', {
      ...this.#prepayBody(req),
      scene_info: {
        payer_client_ip: req.payerClientIp,
        h5_info: {
          type: info.type,
          ...(info.appName === undefined ? {} : { app_name: info.appName }),
          ...(info.appUrl === undefined ? {} : { app_url: info.appUrl }),
          ...(info.bundleId === undefined ? {} : { bundle_id: info.bundleId }),
          ...(info.packageName === undefined ? {} : { package_name: info.packageName }),
        },
      },
    });
    return { h5Url: replyString(reply, 'h5_url', 'h5') };
  }

  /** POST /v3/pay/transactions/native (QR code) → code_url (`weixin://wxpay/bizpayurl?pr=…`), valid 2 hours. */
  async nativePrepay(req: NativePrepayV3Request): Promise<{ codeUrl: string }> {
    checkPrepay(req, 'nativePrepay');
    const reply = await this.requestReply('POST', '/v3/pay/transactions/native', this.#prepayBody(req));
    return { codeUrl: replyString(reply, 'code_url', 'native') };
  }

  /** The fields every prepay call shares, in WeChat's documented order. */
  #prepayBody(req: PrepayV3Request): Record<string, unknown> {
    return {
      appid: req.appid,
      mchid: this.mchId,
      description: req.description,
      out_trade_no: req.outTradeNo,
      ...(req.timeExpire ? { time_expire: formatV3Time(req.timeExpire) } : {}),
      ...(req.attach === undefined ? {} : { attach: req.attach }),
      notify_url: req.notifyUrl,
      amount: { total: req.amountFen, currency: 'CNY' },
    };
  }

  /** GET /v3/pay/transactions/out-trade-no/{no}?mchid=… Unknown orders throw WechatPayV3OrderNotExistError. */
  async queryByOutTradeNo(outTradeNo: string): Promise<V3Transaction> {
    if (!OUT_TRADE_NO_RE.test(outTradeNo)) throw new TypeError('queryByOutTradeNo: malformed out_trade_no');
    const path = `/v3/pay/transactions/out-trade-no/${encodeURIComponent(outTradeNo)}?mchid=${this.mchId}`;
    const trade = this.#transaction(await this.requestReply('GET', path));
    if (trade.outTradeNo !== outTradeNo) {
      throw new WechatPayV3BadMessageError(`query reply is for out_trade_no ${trade.outTradeNo}`);
    }
    return trade;
  }

  /** POST /v3/refund/domestic/refunds: the refund as WeChat accepted it (usually PROCESSING). */
  async refund(req: V3RefundRequest): Promise<V3Refund> {
    const refund = parseV3Refund(
      (await this.requestReply('POST', '/v3/refund/domestic/refunds', v3RefundBody(req))).data,
    );
    if (refund.outRefundNo !== req.outRefundNo) {
      throw new WechatPayV3BadMessageError(`refund reply is for out_refund_no ${refund.outRefundNo}`);
    }
    return refund;
  }

  /** GET /v3/refund/domestic/refunds/{out_refund_no}. */
  async queryRefund(outRefundNo: string): Promise<V3Refund> {
    const path = `/v3/refund/domestic/refunds/${encodeURIComponent(outRefundNo)}`;
    const refund = parseV3Refund((await this.requestReply('GET', path)).data);
    if (refund.outRefundNo !== outRefundNo) {
      throw new WechatPayV3BadMessageError(`refund query reply is for out_refund_no ${refund.outRefundNo}`);
    }
    return refund;
  }

  /**
   * POST /v3/combine-transactions/{channel} (combine payment, 合单): this client's merchant is combine_mchid.
   * jsapi and app → prepay_id (paid like a single order's, signType RSA over the combine AppID), h5 → h5_url,
   * native → code_url. The body rules are checked first (combinePrepayBody) and throw TypeError.
   */
  async combinePrepay<C extends CombineChannel>(
    channel: C,
    req: CombinePrepayRequest,
  ): Promise<CombinePrepayReplies[C]> {
    const body = combinePrepayBody(channel, this.mchId, req);
    const reply = await this.requestReply('POST', `/v3/combine-transactions/${channel}`, body);
    const result =
      channel === 'h5'
        ? { h5Url: replyString(reply, 'h5_url', 'combine h5') }
        : channel === 'native'
          ? { codeUrl: replyString(reply, 'code_url', 'combine native') }
          : { prepayId: replyString(reply, 'prepay_id', `combine ${channel}`) };
    return result as CombinePrepayReplies[C];
  }

  /**
   * GET /v3/combine-transactions/out-trade-no/{combine_out_trade_no}: the combine and each sub-order's state.
   * Unknown combines throw WechatPayV3OrderNotExistError.
   */
  async queryCombine(combineOutTradeNo: string): Promise<V3CombineTransaction> {
    if (!COMBINE_OUT_TRADE_NO_RE.test(combineOutTradeNo)) {
      throw new TypeError('queryCombine: malformed combine_out_trade_no');
    }
    const path = `/v3/combine-transactions/out-trade-no/${encodeURIComponent(combineOutTradeNo)}`;
    const reply = await this.requestReply('GET', path);
    let combine: V3CombineTransaction;
    try {
      combine = parseV3CombineTransaction(reply.data);
    } catch (err) {
      throw new WechatPayV3BadMessageError((err as Error).message, { ...details(reply), cause: err });
    }
    if (combine.combineMchid !== this.mchId) {
      throw new WechatPayV3BadMessageError(
        `reply names combine_mchid ${combine.combineMchid}`,
        details(reply),
      );
    }
    if (combine.combineOutTradeNo !== combineOutTradeNo) {
      throw new WechatPayV3BadMessageError(
        `query reply is for combine_out_trade_no ${combine.combineOutTradeNo}`,
        details(reply),
      );
    }
    return combine;
  }

  /**
   * POST /v3/combine-transactions/out-trade-no/{combine_out_trade_no}/close {combine_appid, sub_orders} → 204.
   * List every sub-order of the combine; a paid one makes WeChat refuse (403 ORDER_PAID).
   */
  async closeCombine(
    combineOutTradeNo: string,
    combineAppid: string,
    subOrders: CombineCloseSubOrder[],
  ): Promise<void> {
    if (!COMBINE_OUT_TRADE_NO_RE.test(combineOutTradeNo)) {
      throw new TypeError('closeCombine: malformed combine_out_trade_no');
    }
    const path = `/v3/combine-transactions/out-trade-no/${encodeURIComponent(combineOutTradeNo)}/close`;
    await this.requestReply('POST', path, combineCloseBody(combineAppid, subOrders));
  }

  /** GET /v3/pay/transactions/id/{transaction_id}?mchid=… (paid orders only). */
  async queryByTransactionId(transactionId: string): Promise<V3Transaction> {
    if (!/^[0-9A-Za-z]{1,32}$/.test(transactionId)) throw new TypeError('queryByTransactionId: malformed id');
    const path = `/v3/pay/transactions/id/${transactionId}?mchid=${this.mchId}`;
    const trade = this.#transaction(await this.requestReply('GET', path));
    if (trade.transactionId !== transactionId) {
      throw new WechatPayV3BadMessageError(`query reply is for transaction_id ${trade.transactionId}`);
    }
    return trade;
  }

  /** POST /v3/pay/transactions/out-trade-no/{no}/close → 204. A paid order throws WechatPayV3OrderPaidError. */
  async close(outTradeNo: string): Promise<void> {
    if (!OUT_TRADE_NO_RE.test(outTradeNo)) throw new TypeError('close: malformed out_trade_no');
    const path = `/v3/pay/transactions/out-trade-no/${encodeURIComponent(outTradeNo)}/close`;
    await this.requestReply('POST', path, { mchid: this.mchId });
  }

  /**
   * GET /v3/bill/tradebill → where to download the day's bill. No bill for the day (or older than 3 months)
   * throws code NO_BILL, not made yet (before 10:00 Beijing the next day) BILL_CREATING (retryable).
   */
  async tradeBill(req: TradeBillV3Request): Promise<TradeBillV3> {
    if (!isBillDate(req.billDate, 'v3')) throw new TypeError('tradeBill: billDate must be yyyy-MM-dd');
    if (!['ALL', 'SUCCESS', 'REFUND'].includes(req.billType)) {
      throw new TypeError('tradeBill: billType must be ALL, SUCCESS or REFUND');
    }
    if (req.tarType !== undefined && req.tarType !== 'GZIP')
      throw new TypeError('tradeBill: tarType is GZIP');
    const query = new URLSearchParams({ bill_date: req.billDate, bill_type: req.billType });
    if (req.tarType) query.set('tar_type', req.tarType);
    let reply: V3Reply;
    try {
      reply = await this.requestReply('GET', `/v3/bill/tradebill?${query.toString()}`);
    } catch (err) {
      const code = err instanceof WechatPayV3Error ? billErrorCodeOf(err.code) : undefined;
      if (!code || !(err instanceof WechatPayV3Error)) throw err;
      throw new WechatPayV3Error(code, err.message, {
        httpStatus: err.httpStatus,
        rawBody: err.rawBody,
        requestId: err.requestId,
        detail: err.detail,
        retryable: code === 'BILL_CREATING',
        cause: err,
      });
    }
    const data = isRecord(reply.data) ? reply.data : {};
    const { hash_type: hashType, hash_value: hashValue, download_url: downloadUrl } = data;
    if (hashType !== 'SHA1' || typeof hashValue !== 'string' || !/^[0-9a-fA-F]{40}$/.test(hashValue)) {
      throw new WechatPayV3BadMessageError('tradebill reply lacks a SHA1 hash_value', details(reply));
    }
    if (typeof downloadUrl !== 'string' || !downloadUrl) {
      throw new WechatPayV3BadMessageError('tradebill reply lacks download_url', details(reply));
    }
    return { hashType, hashValue, downloadUrl };
  }

  /**
   * GET a bill file (the download_url of tradeBill) with a signed request. The reply is NOT signed by WeChat, so
   * it is not verified; pass the tradeBill hashValue and the bytes are checked against it (code
   * BILL_HASH_MISMATCH otherwise). Only URLs on this client's host get our Authorization.
   */
  async downloadBillFile(
    downloadUrl: string,
    hashValue?: string,
    options: { maxBytes?: number } = {},
  ): Promise<Buffer> {
    let url: URL;
    try {
      url = new URL(downloadUrl);
    } catch {
      throw new WechatPayV3BadMessageError('download_url is not a URL');
    }
    if (url.origin !== new URL(this.baseUrl).origin) {
      throw new WechatPayV3BadMessageError(`download_url is not on ${new URL(this.baseUrl).host}`);
    }
    const path = url.pathname;
    const maxBytes = options.maxBytes ?? MAX_BILL_BYTES;
    const authorization = buildAuthorizationV3({
      method: 'GET',
      url: url.pathname + url.search,
      body: '',
      mchId: this.mchId,
      serialNo: this.serialNo,
      privateKey: this.#privateKey,
      timestamp: Math.floor(this.#now() / 1000),
    });
    let reply;
    try {
      reply = await requestBytes({
        method: 'GET',
        url,
        headers: { authorization, accept: '*/*', 'user-agent': USER_AGENT },
        timeoutMs: this.timeoutMs,
        maxBytes,
      });
    } catch (err) {
      if (err instanceof BodyTooLargeError) {
        throw new WechatPayV3TransportError('TOO_LARGE', `bill from ${path} larger than ${maxBytes} bytes`, {
          cause: err,
        });
      }
      const code = (err as Error).name === 'TimeoutError' ? 'TIMEOUT' : 'NETWORK';
      throw new WechatPayV3TransportError(code, `could not download the bill from ${path}`, { cause: err });
    }
    if (reply.status < 200 || reply.status > 299) {
      throw errorFromV3Reply(
        reply.status,
        reply.body.toString('utf8').slice(0, 4096),
        reply.headers['request-id'],
        path,
      );
    }
    if (hashValue !== undefined && !checkBillHash(reply.body, hashValue)) {
      throw new WechatPayV3Error(
        'BILL_HASH_MISMATCH',
        `bill from ${path} does not match its SHA1 hash_value`,
        {
          httpStatus: reply.status,
          requestId: reply.headers['request-id'],
          retryable: false,
        },
      );
    }
    return reply.body;
  }

  /**
   * GET /v3/certificates, unverified on purpose (see V3CertificateDownload). Public-key merchants get a 404
   * (docs/protocol.md §7).
   */
  async downloadCertificates(): Promise<V3CertificateDownload> {
    const reply = await this.#send('GET', '/v3/certificates', undefined, false);
    const data = isRecord(reply.data) ? reply.data.data : undefined;
    if (!Array.isArray(data))
      throw new WechatPayV3BadMessageError('certificates reply lacks data[]', details(reply));
    return {
      entries: data as V3EncryptedCertificate[],
      signed: signedMessageFromHeadersV3(reply.headers, reply.text),
      requestId: reply.requestId,
    };
  }

  /**
   * Signs and sends any v3 call and verifies the reply; resolves to the parsed JSON body (undefined for an empty
   * 204). `body` is an object (sent as JSON) or the exact text to send; `path` includes the query. The typed
   * methods are thin wrappers over requestReply, which also gives status, headers and Request-ID.
   */
  async request(method: V3Method, path: string, body?: unknown): Promise<unknown> {
    return (await this.requestReply(method, path, body)).data;
  }

  /** request() with the whole verified reply. */
  requestReply(method: V3Method, path: string, body?: unknown): Promise<V3Reply> {
    return this.#send(method, path, body, true);
  }

  /** Closes pooled connections of a transport this client created (`close` is the order call). */
  closeConnections(): void {
    if (this.#ownsTransport) this.#transport.close();
  }

  async #send(method: V3Method, path: string, body: unknown, verify: boolean): Promise<V3Reply> {
    if (!path.startsWith('/')) throw new TypeError(`WechatPayV3Client: path must start with / (${path})`);
    const text = body === undefined ? '' : typeof body === 'string' ? body : JSON.stringify(body);
    const url = new URL(this.baseUrl + path);
    const publicKeyId = this.keys.serials().find((serial) => serial.startsWith('PUB_KEY_ID_'));
    const authorization = buildAuthorizationV3({
      method,
      url: url.pathname + url.search,
      body: text,
      mchId: this.mchId,
      serialNo: this.serialNo,
      privateKey: this.#privateKey,
      timestamp: Math.floor(this.#now() / 1000),
    });
    let raw: HttpReply;
    try {
      raw = await this.#transport.request({
        method,
        url,
        headers: {
          authorization,
          accept: 'application/json',
          'user-agent': USER_AGENT,
          ...(text ? { 'content-type': 'application/json' } : {}),
          // During a migration WeChat signs its reply with the key the request names (docs/protocol.md §7): a
          // merchant holding the public key asks for it, so the reply verifies even before certificates expire.
          ...(publicKeyId === undefined ? {} : { 'wechatpay-serial': publicKeyId }),
        },
        ...(text ? { body: text } : {}),
        timeoutMs: this.timeoutMs,
        maxBytes: this.#maxReplyBytes,
      });
    } catch (err) {
      throw transportFailure(err, path);
    }
    const reply: V3Reply = {
      status: raw.status,
      headers: raw.headers,
      text: raw.text,
      data: undefined,
      requestId: raw.headers['request-id'],
    };
    const ok = raw.status >= 200 && raw.status <= 299;
    const signed = verify && this.#verifyReply(reply, ok, path);
    if (!ok) {
      // Only WeChat's signed word may decide an order's fate (ORDER_PAID, ORDER_NOT_EXIST...); an unsigned error
      // (a proxy's 502, or anyone in between) is a transport failure, retried as such.
      if (verify && !signed) {
        throw new WechatPayV3Error(`HTTP_${raw.status}`, `unsigned HTTP ${raw.status} reply from ${path}`, {
          ...details(reply),
          retryable: true,
        });
      }
      throw errorFromV3Reply(raw.status, raw.text, reply.requestId, path);
    }
    if (raw.text) {
      try {
        reply.data = JSON.parse(raw.text);
      } catch (err) {
        throw new WechatPayV3BadMessageError(`reply from ${path} is not JSON`, {
          ...details(reply),
          cause: err,
        });
      }
    }
    return reply;
  }

  /**
   * Signature headers present: they must verify. Absent: a 2xx (204 included: WeChat signs those too) is refused;
   * an error reply is reported unsigned (false) so the caller treats it as a transport failure.
   */
  #verifyReply(reply: V3Reply, ok: boolean, path: string): boolean {
    const context = details(reply);
    try {
      if (!hasSignatureHeadersV3(reply.headers)) {
        if (ok) throw new WechatPayV3SignatureError('MISSING_HEADERS', `reply from ${path} is not signed`);
        return false;
      }
      const message = signedMessageFromHeadersV3(reply.headers, reply.text);
      const valid = verifyV3(message, this.keys, {
        now: this.#now(),
        toleranceSeconds: this.#toleranceSeconds,
      });
      if (!valid) {
        throw new WechatPayV3SignatureError('BAD_SIGNATURE', `reply from ${path} has a bad signature`);
      }
      return true;
    } catch (err) {
      if (err instanceof WechatPayV3SignatureError) {
        throw new WechatPayV3SignatureError(err.reason, err.message, { ...context, cause: err.cause });
      }
      throw err;
    }
  }

  #transaction(reply: V3Reply): V3Transaction {
    let trade: V3Transaction;
    try {
      trade = parseV3Transaction(reply.data);
    } catch (err) {
      throw new WechatPayV3BadMessageError((err as Error).message, { ...details(reply), cause: err });
    }
    if (trade.mchid !== this.mchId)
      throw new WechatPayV3BadMessageError(`reply names mchid ${trade.mchid}`, details(reply));
    return trade;
  }
}

function details(reply: V3Reply) {
  return { httpStatus: reply.status, rawBody: reply.text, requestId: reply.requestId };
}

/** The core transport's failures, in the v3 family. */
function transportFailure(err: unknown, path: string): unknown {
  if (!(err instanceof WechatTransportError)) return err;
  const message =
    err.code === 'TIMEOUT'
      ? `WeChat Pay did not answer ${path} in time (${err.message})`
      : err.code === 'TOO_LARGE'
        ? `reply from ${path} too large`
        : `could not reach WeChat Pay for ${path}`;
  return new WechatPayV3TransportError(err.code, message, {
    cause: err,
    httpStatus: err.httpStatus,
    requestId: err.requestId,
  });
}

/** A 2xx prepay reply must carry its one result; without it the buyer could not pay at all. */
function replyString(reply: V3Reply, field: string, call: string): string {
  const value = isRecord(reply.data) ? reply.data[field] : undefined;
  if (typeof value !== 'string' || !value) {
    throw new WechatPayV3BadMessageError(`${call} reply lacks ${field}`, details(reply));
  }
  return value;
}

function checkPrepay(req: PrepayV3Request, call: string): void {
  const bad = (why: string) => new TypeError(`${call}: ${why}`);
  if (!req.appid) throw bad('appid is required');
  if (!req.description || [...req.description].length > 127)
    throw bad('description must be 1–127 characters');
  if (!OUT_TRADE_NO_RE.test(req.outTradeNo) || req.outTradeNo.length < 6) {
    throw bad('outTradeNo must be 6–32 of [0-9A-Za-z_-|*]');
  }
  // WeChat wants a public https URL without a query; the sandbox takes local http ones, so only the shape is ours.
  if (!/^https?:\/\/[^?#\s]+$/.test(req.notifyUrl))
    throw bad('notifyUrl must be an http(s) URL without a query');
  if (!Number.isSafeInteger(req.amountFen) || req.amountFen < 1)
    throw bad('amountFen must be a whole number ≥ 1');
  if (req.timeExpire !== undefined && Number.isNaN(req.timeExpire.getTime()))
    throw bad('timeExpire is invalid');
  if (req.attach !== undefined && [...req.attach].length > 128) throw bad('attach must be ≤ 128 characters');
}

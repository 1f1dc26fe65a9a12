import type { ClientCertificate, TlsOptions } from '../core/client-certificate.ts';
import { WechatTransportError, type WechatErrorOptions } from '../core/errors.ts';
import { createNonce } from '../core/nonce.ts';
import { HttpTransport, type HttpReply } from '../core/transport.ts';
import {
  errorFromResult,
  WechatPayInvalidRequestError,
  WechatPaySignatureError,
  WechatPayTimeoutError,
  WechatPayTransportError,
} from './errors.ts';
import {
  closeOrder,
  orderQuery,
  unifiedOrder,
  type CloseOrderRef,
  type OrderQueryResult,
  type OrderRef,
  type UnifiedOrderRequest,
  type UnifiedOrderResult,
} from './orders.ts';
import {
  refund,
  refundQuery,
  type RefundQueryRef,
  type RefundQueryResult,
  type RefundRequest,
  type RefundResult,
} from './refunds.ts';
import { signV2, verifyV2, type SignType, type V2Params } from './sign.ts';
import { buildXml, parseXml, type XmlMap } from './xml.ts';
import { downloadBillV2, type DownloadBillV2Request } from './bill.ts';

export const WECHATPAY_API_BASE = 'https://api.mch.weixin.qq.com';

export interface WechatPayV2ClientOptions {
  /** The default AppID; each call may name another one bound to the same merchant (V2CallOptions.appId). */
  appId: string;
  mchId: string;
  /** The 32-character APIv2 key. Used to sign; never logged nor put into an error. */
  key: string;
  /** The default sign type; each call may override it (V2CallOptions.signType). */
  signType?: SignType;
  /** Defaults to the live host; point it at the mp-pay sandbox (e.g. http://127.0.0.1:4010) for local runs. */
  baseUrl?: string;
  timeoutMs?: number;
  /**
   * The merchant API client certificate, which refund() needs (mutual TLS). A `{pfx}` without a passphrase
   * uses the mch_id, as WeChat's apiclient_cert.p12 does. Loaded here: a wrong passphrase fails construction.
   */
  clientCertificate?: ClientCertificate;
  /** Trust roots replacing Node's, for a local HTTPS stand-in only (see TlsOptions.ca). */
  ca?: TlsOptions['ca'];
  /**
   * Where the mutual-TLS calls (`/secapi/…`) go, when not to `baseUrl`: WeChat serves both on one host, a local
   * stand-in such as the mp-pay sandbox serves its TLS endpoint on a port of its own.
   */
  secureBaseUrl?: string;
}

/**
 * Per-call choices for a merchant that serves several AppIDs (mini-program, official account, app) under one
 * mch_id: a trade is queried and closed with the AppID it was placed with, and re-submitted with its sign type.
 */
export interface V2CallOptions {
  appId?: string;
  signType?: SignType;
}

export interface V2RequestOptions extends V2CallOptions {
  /** The call goes to a `/secapi/` path, which WeChat serves only over mutual TLS (refunds). */
  clientCertificate?: boolean;
}

/** What the typed calls (orders.ts, refunds.ts) need from the client. */
export interface V2Caller {
  request(path: string, fields: V2Params, options?: V2RequestOptions): Promise<XmlMap>;
}

const MAX_REPLY_BYTES = 64 * 1024;

/**
 * WeChat Pay APIv2 client (XML over HTTPS). Every request is signed with a fresh nonce; every SUCCESS reply
 * must carry a valid signature for this merchant and name the call's AppID, or the call fails with
 * WechatPaySignatureError.
 */
export class WechatPayV2Client implements V2Caller {
  readonly appId: string;
  readonly mchId: string;
  readonly signType: SignType;
  readonly baseUrl: string;
  readonly secureBaseUrl: string;
  readonly timeoutMs: number;
  readonly #key: string;
  readonly #transport: HttpTransport;
  readonly #ca: TlsOptions['ca'];

  constructor(options: WechatPayV2ClientOptions) {
    if (!options.appId || !options.mchId)
      throw new TypeError('WechatPayV2Client: appId and mchId are required');
    if (!options.key) throw new TypeError('WechatPayV2Client: key (the APIv2 key) is required');
    this.appId = options.appId;
    this.mchId = options.mchId;
    this.#key = options.key;
    this.signType = options.signType ?? 'MD5';
    this.baseUrl = (options.baseUrl ?? WECHATPAY_API_BASE).replace(/\/+$/, '');
    this.secureBaseUrl = (options.secureBaseUrl ?? this.baseUrl).replace(/\/+$/, '');
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.#ca = options.ca;
    const cert = options.clientCertificate;
    this.#transport = new HttpTransport({
      clientCertificate:
        cert && 'pfx' in cert ? { ...cert, passphrase: cert.passphrase ?? this.mchId } : cert,
      ca: options.ca,
    });
  }

  /** POST /pay/unifiedorder. Re-submitting the same parameters for an unpaid order yields a fresh prepay_id. */
  unifiedOrder(req: UnifiedOrderRequest): Promise<UnifiedOrderResult> {
    return unifiedOrder(this, req);
  }

  /** POST /pay/orderquery. Unknown orders throw WechatPayOrderNotExistError. */
  orderQuery(ref: OrderRef): Promise<OrderQueryResult> {
    return orderQuery(this, ref);
  }

  /** POST /pay/closeorder. ORDERPAID means the buyer paid after all: treat the order as paid. */
  closeOrder(ref: CloseOrderRef): Promise<void> {
    return closeOrder(this, ref);
  }

  /** POST /secapi/pay/refund (mutual TLS). The reply means "accepted"; refundQuery tells the outcome. */
  refund(req: RefundRequest): Promise<RefundResult> {
    return refund(this, req);
  }

  /** POST /pay/refundquery. No matching refund throws WechatPayRefundNotExistError. */
  refundQuery(ref: RefundQueryRef): Promise<RefundQueryResult> {
    return refundQuery(this, ref);
  }

  /**
   * POST /pay/downloadbill → the bill's bytes (gzip when tarType is GZIP), unsigned by design. Failures come as
   * XML: `No Bill Exist` → code NO_BILL, `Bill Creating` → BILL_CREATING, the rest WechatPayInvalidRequestError
   * (docs/protocol.md §8 "Bills"). Parse with billLines + parseBillLines from @mp-pay/shared/bills.
   */
  downloadBill(
    req: DownloadBillV2Request,
    options: V2CallOptions & { maxBytes?: number } = {},
  ): Promise<Buffer> {
    return downloadBillV2(
      {
        url: new URL(this.baseUrl + '/pay/downloadbill'),
        body: (fields) => this.signedXml(fields, options),
        timeoutMs: this.timeoutMs,
        ca: this.#ca,
      },
      req,
      options.maxBytes,
    );
  }

  /** The XML body of a call: the merchant's fields plus appid, mch_id, a fresh nonce and the signature. */
  private signedXml(fields: V2Params, options: V2CallOptions): string {
    const signType = options.signType ?? this.signType;
    const params: Record<string, string | number | undefined | null> = {
      appid: options.appId || this.appId,
      mch_id: this.mchId,
      nonce_str: createNonce(),
      ...(signType === 'MD5' ? {} : { sign_type: signType }),
      ...fields,
    };
    params.sign = signV2(params, this.#key, signType);
    return buildXml(params);
  }

  /**
   * Signs and sends any v2 call, verifies the reply and maps failures to the error hierarchy. The public
   * methods above are thin typed wrappers over this.
   */
  async request(path: string, fields: V2Params, options: V2RequestOptions = {}): Promise<XmlMap> {
    if (options.clientCertificate && !this.#transport.hasClientCertificate) {
      throw new TypeError(
        `WechatPayV2Client: ${path} needs the merchant API client certificate (mutual TLS); pass ` +
          'clientCertificate: {pfx} (apiclient_cert.p12) or {cert, key} (PEM) to the constructor',
      );
    }
    const appId = options.appId || this.appId;
    const reply = await this.post(path, this.signedXml(fields, options), options.clientCertificate === true);
    const details: WechatErrorOptions = {
      httpStatus: reply.status,
      rawBody: reply.text,
      requestId: reply.headers['request-id'],
    };

    let raw: XmlMap;
    try {
      raw = parseXml(reply.text, { maxBytes: MAX_REPLY_BYTES });
    } catch (err) {
      throw new WechatPayTransportError(
        'BAD_REPLY',
        `unreadable reply from ${path}: ${(err as Error).message}`,
        undefined,
        { ...details, cause: err },
      );
    }
    if (raw.return_code !== 'SUCCESS') {
      // return_code=FAIL replies are unsigned by design (bad signature, missing field, wrong method ...).
      throw new WechatPayInvalidRequestError(
        raw.return_code === 'FAIL' ? 'FAIL' : 'BAD_REPLY',
        `WeChat Pay refused ${path}: ${raw.return_msg ?? 'no return_msg'}`,
        raw,
        details,
      );
    }
    if (!raw.sign) throw new WechatPaySignatureError(`reply from ${path} is not signed`, raw, details);
    if (!verifyV2(raw, this.#key))
      throw new WechatPaySignatureError(`reply from ${path} has a bad signature`, raw, details);
    if ((raw.appid && raw.appid !== appId) || (raw.mch_id && raw.mch_id !== this.mchId)) {
      throw new WechatPaySignatureError(`reply from ${path} names another appid or mch_id`, raw, details);
    }
    if (raw.result_code !== 'SUCCESS') throw errorFromResult(raw, details);
    return raw;
  }

  /** Closes pooled connections; only needed by a process that wants to exit before idle sockets time out. */
  close(): void {
    this.#transport.close();
  }

  private async post(path: string, body: string, secure = false): Promise<HttpReply> {
    let reply: HttpReply;
    try {
      reply = await this.#transport.request({
        method: 'POST',
        url: (secure ? this.secureBaseUrl : this.baseUrl) + path,
        headers: { 'content-type': 'text/xml; charset=utf-8', accept: 'text/xml' },
        body,
        timeoutMs: this.timeoutMs,
        maxBytes: MAX_REPLY_BYTES,
      });
    } catch (err) {
      throw this.transportFailure(err, path);
    }
    if (reply.status < 200 || reply.status > 299) {
      throw new WechatPayTransportError(
        'HTTP_' + reply.status,
        `WeChat Pay answered HTTP ${reply.status} for ${path}`,
        undefined,
        { httpStatus: reply.status, rawBody: reply.text, requestId: reply.headers['request-id'] },
      );
    }
    return reply;
  }

  /** The core transport's failures, in the v2 family. */
  private transportFailure(err: unknown, path: string): unknown {
    if (!(err instanceof WechatTransportError)) return err;
    if (err.code === 'TIMEOUT') return new WechatPayTimeoutError(this.timeoutMs, { cause: err });
    if (err.code === 'TOO_LARGE') {
      return new WechatPayTransportError(
        'TOO_LARGE',
        `reply larger than ${MAX_REPLY_BYTES} bytes`,
        undefined,
        {
          cause: err,
          httpStatus: err.httpStatus,
        },
      );
    }
    return new WechatPayTransportError('NETWORK', `could not reach WeChat Pay for ${path}`, undefined, {
      cause: err,
    });
  }
}

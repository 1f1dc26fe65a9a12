/**
 * The APIv2 adapter: the gateway boundary over the v2 XML protocol (docs/protocol.md §2–§6). The only server
 * module that imports v2 classes and branches on v2 codes; everything leaves it as gateway types.
 */
import type { PaymentLaunch } from '@mp-pay/shared/api';
import type { BillEntry, BillType } from '@mp-pay/shared/bills';
import {
  appPayParams,
  decryptRefundNotification,
  h5RedirectUrl,
  h5SceneInfo,
  isSignType,
  nativeLongLink,
  nativeScanReplyXml,
  verifyNativeScan,
  parseXml,
  miniProgramPayParams,
  NOTIFY_SUCCESS_XML,
  notifyFailXml,
  parseWechatTime,
  formatWechatTime,
  verifyPaymentNotification,
  WechatPayV2Client,
  type ClientCertificate,
  type OrderQueryResult,
  type SignType,
  type UnifiedOrderRequest,
  type UnifiedOrderResult,
} from '@mp-pay/shared/wechatpay';
import type {
  CloseResult,
  LaunchRequest,
  NativeScan,
  NativeScanAnswer,
  NotificationAnswer,
  NotificationFact,
  NotificationReply,
  PaymentGateway,
  PrepareRequest,
  Prepared,
  RawNotification,
  RefundRequest,
  RefundStatus,
  TradeRef,
  TradeStatus,
} from '../types.ts';
import { GatewayError, NotificationRejectedError } from '../errors.ts';
import { billEntries, billFailure, checkBillWindow } from '../bill-file.ts';
import { appLaunch, need } from '../launch-parts.ts';
import { nativeCode } from '../prepared.ts';
import { gatewayError, notificationError } from './errors.ts';

export interface V2GatewayOptions {
  mchId: string;
  /** The APIv2 key: signs requests and launches, verifies replies and notifications. Never logged. */
  key: string;
  signType: SignType;
  /** Every AppID bound to this merchant: notifications naming any of them are accepted. The first is the default. */
  appIds: readonly string[];
  baseUrl: string;
  timeoutMs: number;
  /** v2 refunds: the merchant's client certificate, and where the mutual-TLS calls go. */
  refundTls: {
    clientCertificate: ClientCertificate | undefined;
    ca: string | undefined;
    secureBaseUrl: string;
  };
  /** Largest notification body read (bytes). */
  notifyLimitBytes: number;
  /** Native QR codes: 2 (code_url, default) or 1 (signed long link, trade placed on scan). */
  nativeMode?: 1 | 2;
  now: () => number;
}

export class V2Gateway implements PaymentGateway {
  readonly apiVersion = 'v2' as const;
  readonly notifyPath = '/wechatpay/notify';
  readonly refundNotifyPath = '/wechatpay/refund-notify';
  readonly defaultSignType: SignType;
  readonly #client: WechatPayV2Client;
  readonly #key: string;
  readonly #mchId: string;
  readonly #appIds: ReadonlySet<string>;
  readonly #notifyLimitBytes: number;
  readonly #canRefund: boolean;
  readonly #now: () => number;
  readonly #nativeMode: 1 | 2;
  readonly #primaryAppId: string;

  constructor(options: V2GatewayOptions) {
    const [primary] = options.appIds;
    if (primary === undefined) throw new TypeError('V2Gateway: at least one AppID is required');
    this.defaultSignType = options.signType;
    this.#key = options.key;
    this.#mchId = options.mchId;
    this.#appIds = new Set(options.appIds);
    this.#notifyLimitBytes = options.notifyLimitBytes;
    this.#canRefund = options.refundTls.clientCertificate !== undefined;
    this.#now = options.now;
    this.#nativeMode = options.nativeMode ?? 2;
    this.#primaryAppId = primary;
    this.#client = new WechatPayV2Client({
      appId: primary,
      mchId: options.mchId,
      key: options.key,
      signType: options.signType,
      baseUrl: options.baseUrl,
      timeoutMs: options.timeoutMs,
      secureBaseUrl: options.refundTls.secureBaseUrl,
      ...(options.refundTls.clientCertificate === undefined
        ? {}
        : { clientCertificate: options.refundTls.clientCertificate }),
      ...(options.refundTls.ca === undefined ? {} : { ca: options.refundTls.ca }),
    });
  }

  /**
   * unifiedorder for the attempt's channel (docs/channels.md): JSAPI with the payer's openid, APP, MWEB with
   * scene_info, NATIVE with product_id. Native mode 1 places nothing: the launch is a signed long link and the
   * trade is placed when a buyer scans it (placeScanned).
   */
  async prepare(request: PrepareRequest): Promise<Prepared> {
    onlyOwnTrades(request);
    if (request.subOrders !== undefined) throw new TypeError(COMBINE_V3_ONLY);
    switch (request.channel) {
      case 'miniprogram':
      case 'official_account': {
        if (request.payerOpenid === undefined) throw new TypeError('V2Gateway: JSAPI needs the payer openid');
        const reply = await this.#unifiedOrder(request, { tradeType: 'JSAPI', openid: request.payerOpenid });
        return { prepayId: reply.prepayId };
      }
      case 'app': {
        const reply = await this.#unifiedOrder(request, { tradeType: 'APP' });
        return { prepayId: reply.prepayId };
      }
      case 'h5': {
        const reply = await this.#unifiedOrder(request, {
          tradeType: 'MWEB',
          sceneInfo: JSON.stringify(h5SceneInfo({ wapUrl: request.h5.wapUrl, wapName: request.h5.wapName })),
        });
        if (reply.mwebUrl === undefined)
          throw new GatewayError('bad_reply', 'unifiedorder: MWEB without mweb_url');
        return { redirectUrl: reply.mwebUrl };
      }
      case 'native': {
        if (this.#nativeMode === 1) {
          // Signed MD5 by the shared builder whatever WECHATPAY_SIGN_TYPE: the link carries no sign_type.
          return {
            link: nativeLongLink({
              appId: request.appId,
              mchId: this.#mchId,
              productId: request.productId,
              key: this.#key,
              timeStamp: Math.floor(this.#now() / 1000),
            }),
          };
        }
        return this.placeScanned(request);
      }
    }
  }

  async placeScanned(request: PrepareRequest): Promise<Prepared> {
    const reply = await this.#unifiedOrder(request, { tradeType: 'NATIVE', productId: request.productId });
    if (reply.codeUrl === undefined)
      throw new GatewayError('bad_reply', 'unifiedorder: NATIVE without code_url');
    return { prepayId: reply.prepayId, codeUrl: reply.codeUrl };
  }

  /** One unifiedorder with the parameters every channel shares: the same request always gives the same bytes. */
  async #unifiedOrder(
    request: PrepareRequest,
    specific: Pick<UnifiedOrderRequest, 'tradeType' | 'openid' | 'productId' | 'sceneInfo'>,
  ): Promise<UnifiedOrderResult> {
    try {
      return await this.#client.unifiedOrder({
        appId: request.appId,
        signType: v2SignType(request.signType),
        body: request.description,
        outTradeNo: request.outTradeNo,
        totalFee: request.totalFen,
        spbillCreateIp: request.clientIp,
        notifyUrl: request.notifyUrl,
        ...specific,
        timeStart: formatWechatTime(new Date(request.createdAt)),
        timeExpire: formatWechatTime(new Date(request.expiresAt)),
      });
    } catch (err) {
      throw gatewayError(err, 'unifiedorder');
    }
  }

  launch(request: LaunchRequest): PaymentLaunch {
    onlyOwnTrades(request);
    const { prepared } = request;
    switch (request.channel) {
      case 'miniprogram':
      case 'official_account': {
        const params = miniProgramPayParams({
          appId: request.appId,
          prepayId: need(prepared.prepayId, 'prepay_id', GATEWAY),
          key: this.#key,
          signType: v2SignType(request.signType),
        });
        return { kind: 'jsapi', appId: request.appId, ...params };
      }
      case 'app': {
        const p = appPayParams({
          appId: request.appId,
          mchId: this.#mchId,
          prepayId: need(prepared.prepayId, 'prepay_id', GATEWAY),
          key: this.#key,
          signType: v2SignType(request.signType),
          // The injected clock, as in v3: a launch is dated by the server's time, testable.
          timeStamp: Math.floor(this.#now() / 1000),
        });
        return appLaunch(p);
      }
      case 'h5':
        return {
          kind: 'h5',
          redirectUrl: h5RedirectUrl(need(prepared.redirectUrl, 'mweb_url', GATEWAY), request.returnUrl),
        };
      case 'native':
        return { kind: 'native', codeUrl: need(nativeCode(prepared), 'code_url', GATEWAY) };
    }
  }

  async query(ref: TradeRef): Promise<TradeStatus> {
    onlyOwnTrades(ref);
    let reply: OrderQueryResult;
    try {
      reply = await this.#client.orderQuery({ outTradeNo: ref.outTradeNo, appId: ref.appId });
    } catch (err) {
      const mapped = gatewayError(err, 'orderquery');
      if (mapped.reason === 'not_found') return { state: 'unknown' };
      throw mapped;
    }
    switch (reply.tradeState) {
      case 'SUCCESS':
      case 'REFUND':
        return {
          state: 'paid',
          payment: {
            outTradeNo: ref.outTradeNo,
            appId: reply.raw.appid ?? ref.appId,
            transactionId: reply.transactionId ?? '',
            totalFen: reply.totalFee ?? -1,
            paidAt: this.#paidAt(reply.timeEnd),
            payerOpenid: reply.openid,
          },
        };
      case 'CLOSED':
      case 'REVOKED':
        return { state: 'closed' };
      case 'PAYERROR':
        return { state: 'failed' };
      case 'USERPAYING':
        return { state: 'paying' };
      case 'NOTPAY':
        return { state: 'not_paid' };
    }
  }

  /** Combine payments and other merchants' trades exist only in APIv3 (docs/combine.md). */
  readonly combine = false;

  queryCombine(): never {
    throw new TypeError(COMBINE_V3_ONLY);
  }

  closeCombine(): never {
    throw new TypeError(COMBINE_V3_ONLY);
  }

  async close(ref: TradeRef): Promise<CloseResult> {
    onlyOwnTrades(ref);
    try {
      await this.#client.closeOrder({ outTradeNo: ref.outTradeNo, appId: ref.appId });
      return 'closed';
    } catch (err) {
      const mapped = gatewayError(err, 'closeorder');
      if (mapped.reason === 'already_paid') return 'already_paid';
      if (mapped.reason === 'closed') return 'already_closed';
      if (mapped.reason === 'not_found') return 'unknown';
      throw mapped;
    }
  }

  async refund(request: RefundRequest): Promise<RefundStatus> {
    onlyOwnTrades(request);
    if (!this.#canRefund) {
      // Refused before any request, with what to configure: retrying cannot help until someone does.
      throw new GatewayError(
        'refused',
        'APIv2 refunds need the merchant API client certificate: set WECHATPAY_CERT_P12 ' +
          '(or WECHATPAY_CLIENT_CERT and WECHATPAY_CLIENT_KEY)',
      );
    }
    try {
      const reply = await this.#client.refund({
        appId: request.appId,
        outTradeNo: request.outTradeNo,
        outRefundNo: request.outRefundNo,
        totalFee: request.totalFen,
        refundFee: request.refundFen,
        ...(request.reason === undefined ? {} : { refundDesc: request.reason }),
        ...(request.notifyUrl === undefined ? {} : { notifyUrl: request.notifyUrl }),
      });
      return {
        outRefundNo: request.outRefundNo,
        refundId: reply.refundId,
        // v2 answers a refund request synchronously only with "accepted"; the outcome comes by query or notice.
        state: 'processing',
        refundFen: reply.refundFee,
        succeededAt: undefined,
      };
    } catch (err) {
      throw gatewayError(err, 'refund');
    }
  }

  async queryRefund(ref: TradeRef & { outRefundNo: string }): Promise<RefundStatus> {
    onlyOwnTrades(ref);
    try {
      const reply = await this.#client.refundQuery({ appId: ref.appId, outRefundNo: ref.outRefundNo });
      const entry = reply.refunds.find((r) => r.outRefundNo === ref.outRefundNo) ?? reply.refunds[0];
      if (entry === undefined)
        return {
          outRefundNo: ref.outRefundNo,
          refundId: undefined,
          state: 'processing',
          refundFen: undefined,
          succeededAt: undefined,
        };
      return {
        outRefundNo: entry.outRefundNo,
        refundId: entry.refundId,
        state: REFUND_STATES[entry.status] ?? 'processing',
        refundFen: entry.refundFee,
        succeededAt: entry.successTime === undefined ? undefined : this.#refundTime(entry.successTime),
      };
    } catch (err) {
      throw gatewayError(err, 'refundquery');
    }
  }

  parseNotification(raw: RawNotification): NotificationFact {
    let n;
    try {
      n = verifyPaymentNotification(raw.body, {
        key: this.#key,
        appId: this.#appIds,
        mchId: this.#mchId,
        maxBytes: this.#notifyLimitBytes,
      });
    } catch (err) {
      throw notificationError(err);
    }
    if (n.resultCode !== 'SUCCESS') return { kind: 'payment_failed', outTradeNo: n.outTradeNo };
    return {
      kind: 'payment',
      payment: {
        outTradeNo: n.outTradeNo,
        appId: n.raw.appid ?? '',
        transactionId: n.transactionId,
        totalFen: n.totalFee,
        paidAt: this.#paidAt(n.timeEnd),
        payerOpenid: n.openid || undefined,
      },
    };
  }

  /**
   * v2 refund notifications carry no sign: `req_info` is encrypted (AES-256-ECB, keyed by the MD5 of the API key),
   * and only the holder of the key could have made it decrypt (docs/protocol.md §8).
   */
  parseRefundNotification(raw: RawNotification): RefundStatus {
    let map;
    try {
      map = parseXml(raw.body, { maxBytes: this.#notifyLimitBytes });
    } catch (err) {
      throw notificationError(err);
    }
    if (map.return_code !== 'SUCCESS' || !map.req_info) {
      throw new NotificationRejectedError(
        'fields',
        'refund notification without return_code SUCCESS and req_info',
      );
    }
    if (map.mch_id !== this.#mchId || (map.appid !== undefined && !this.#appIds.has(map.appid))) {
      throw new NotificationRejectedError(
        'merchant',
        'refund notification for another mch_id or an unbound appid',
      );
    }
    let info: Record<string, string>;
    try {
      info = decryptRefundNotification(map.req_info, this.#key);
    } catch (err) {
      throw new NotificationRejectedError('signature', (err as Error).message);
    }
    const outRefundNo = info.out_refund_no;
    const state = REFUND_STATES[info.refund_status ?? ''];
    if (!outRefundNo || state === undefined) {
      throw new NotificationRejectedError(
        'fields',
        'refund notification lacks out_refund_no or refund_status',
      );
    }
    const fee = info.refund_fee === undefined ? undefined : Number(info.refund_fee);
    return {
      outRefundNo,
      refundId: info.refund_id,
      state,
      refundFen: fee !== undefined && Number.isSafeInteger(fee) ? fee : undefined,
      succeededAt: info.success_time === undefined ? undefined : this.#refundTime(info.success_time),
    };
  }

  readonly nativeScanPath = '/wechatpay/native-scan';

  parseNativeScan(raw: RawNotification): NativeScan {
    try {
      const scan = verifyNativeScan(raw.body, {
        key: this.#key,
        appId: this.#appIds,
        mchId: this.#mchId,
        maxBytes: this.#notifyLimitBytes,
      });
      return { productId: scan.productId, appId: scan.appId, openid: scan.openid };
    } catch (err) {
      throw notificationError(err);
    }
  }

  /**
   * The scan reply is signed with MD5 (it names no sign_type, so WeChat verifies MD5) for the scan's AppID; a
   * rejected scan gets the plain FAIL XML (nothing signed for someone we cannot trust).
   */
  renderScanReply(answer: NativeScanAnswer | NotificationAnswer, appId?: string): NotificationReply {
    if ('ack' in answer) {
      return answer.ack
        ? { status: 200, contentType: 'text/xml', body: NOTIFY_SUCCESS_XML }
        : { status: answer.status, contentType: 'text/xml', body: notifyFailXml(answer.message) };
    }
    const signed = {
      appId: appId ?? this.#primaryAppId,
      mchId: this.#mchId,
      key: this.#key,
    };
    const body =
      'prepayId' in answer
        ? nativeScanReplyXml({ ...signed, prepayId: answer.prepayId })
        : nativeScanReplyXml({ ...signed, errCodeDes: answer.refuse });
    return { status: 200, contentType: 'text/xml', body };
  }

  renderNotificationReply(answer: NotificationAnswer): NotificationReply {
    return answer.ack
      ? { status: 200, contentType: 'text/xml', body: NOTIFY_SUCCESS_XML }
      : { status: answer.status, contentType: 'text/xml', body: notifyFailXml(answer.message) };
  }

  /** WeChat's time_end (Beijing time); a signed reply with an unreadable one is dated when we learn of it. */
  #paidAt(timeEnd: string | undefined): number {
    return (timeEnd === undefined ? undefined : parseWechatTime(timeEnd)?.getTime()) ?? this.#now();
  }

  /** refund_success_time_$n is `yyyy-MM-dd HH:mm:ss`, Beijing time (docs/protocol.md §8). */
  #refundTime(text: string): number {
    return parseWechatTime(text.replace(/[- :]/g, ''))?.getTime() ?? this.#now();
  }

  /** downloadbill (tar_type GZIP); failures are XML, mapped to the typed bill codes by the client. */
  async downloadBill(date: string, type: BillType, mchid?: string): Promise<AsyncIterable<BillEntry>> {
    // The shop's own bill only: another merchant's is signed with its key, which APIv2 never holds.
    if (mchid !== undefined && mchid !== this.#mchId) throw new TypeError(COMBINE_V3_ONLY);
    checkBillWindow(date, this.#now());
    let file: Uint8Array;
    try {
      file = await this.#client.downloadBill({
        billDate: date.replaceAll('-', ''),
        billType: type,
        tarType: 'GZIP',
      });
    } catch (err) {
      throw billFailure(err, 'downloadbill') ?? gatewayError(err, 'downloadbill');
    }
    return billEntries(file);
  }
}

/** Names the adapter in launch errors. */
const GATEWAY = 'V2Gateway';

const REFUND_STATES: Record<string, RefundStatus['state']> = {
  SUCCESS: 'succeeded',
  PROCESSING: 'processing',
  REFUNDCLOSE: 'closed',
  CHANGE: 'abnormal',
};

function v2SignType(signType: string): SignType {
  if (!isSignType(signType)) throw new TypeError(`APIv2 cannot sign with ${signType}`);
  return signType;
}

const COMBINE_V3_ONLY = "V2Gateway: combine payments and other merchants' trades exist only in APIv3";

/** The v2 gateway holds one merchant's key: a trade of another merchant cannot be signed here. */
function onlyOwnTrades(ref: TradeRef): void {
  if (ref.mchid !== undefined) throw new TypeError(COMBINE_V3_ONLY);
}

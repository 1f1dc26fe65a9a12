/**
 * The APIv3 adapter: the gateway boundary over RSA-signed JSON and encrypted notifications (docs/protocol.md §7).
 * The only server module that imports v3 classes and branches on v3 codes; everything leaves it as gateway types.
 * Replies and notifications are verified against a key set holding the WeChat Pay public key (public-key mode)
 * and/or the platform certificates (certificate mode), both at once during a migration.
 */
import type { PaymentLaunch } from '@mp-pay/shared/api';
import { checkBillHash, type BillEntry, type BillType } from '@mp-pay/shared/bills';
import {
  appPayParamsV3,
  h5RedirectUrl,
  miniProgramPayParamsV3,
  parseV3Refund,
  parseV3Transaction,
  type V3Refund,
  type V3RefundStatus,
  PlatformCertificates,
  V3KeySet,
  verifyV3Notification,
  WechatPayV3Client,
} from '@mp-pay/shared/wechatpay';
import { GatewayError, NotificationRejectedError } from '../errors.ts';
import { billEntries, billFailure, checkBillWindow } from '../bill-file.ts';
import type {
  CloseResult,
  LaunchRequest,
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
import { appLaunch, need } from '../launch-parts.ts';
import { gatewayErrorV3, notificationErrorV3 } from './errors.ts';

/** Names the adapter in launch errors. */
const GATEWAY = 'V3Gateway';

export interface V3GatewayOptions {
  mchId: string;
  appIds: readonly string[];
  /** The 32-byte APIv3 key: decrypts notifications and certificates. Never logged. */
  apiV3Key: string;
  /** PEM of the merchant's private key (apiclient_key.pem): signs requests and launches. Never logged. */
  privateKey: string;
  certSerial: string;
  publicKey: { id: string; pem: string } | undefined;
  platformCertificates: boolean;
  baseUrl: string;
  timeoutMs: number;
  now: () => number;
}

const TRADE_STATES: Record<string, TradeStatus['state']> = {
  SUCCESS: 'paid',
  REFUND: 'paid',
  NOTPAY: 'not_paid',
  USERPAYING: 'paying',
  // Accepted, awaiting the bank (payment codes): not paid yet, and not failed.
  ACCEPT: 'paying',
  PAYERROR: 'failed',
  CLOSED: 'closed',
  REVOKED: 'closed',
};

/** After a failed certificate download, how long the keys held are used before trying again. */
const CERTIFICATE_RETRY_MS = 60_000;

const REFUND_STATES: Record<V3RefundStatus, RefundStatus['state']> = {
  SUCCESS: 'succeeded',
  PROCESSING: 'processing',
  CLOSED: 'closed',
  ABNORMAL: 'abnormal',
};

export class V3Gateway implements PaymentGateway {
  readonly apiVersion = 'v3' as const;
  readonly defaultSignType = 'RSA' as const;
  readonly notifyPath = '/wechatpay/v3/notify';
  readonly refundNotifyPath = '/wechatpay/v3/refund-notify';
  readonly #client: WechatPayV3Client;
  readonly #keys: V3KeySet;
  readonly #certificates: PlatformCertificates | undefined;
  readonly #apiV3Key: string;
  readonly #privateKey: string;
  readonly #mchId: string;
  readonly #appIds: ReadonlySet<string>;
  readonly #now: () => number;
  #retryCertificatesAt = 0;

  constructor(options: V3GatewayOptions) {
    this.#keys = new V3KeySet();
    if (options.publicKey) this.#keys.addPublicKey(options.publicKey.id, options.publicKey.pem);
    this.#apiV3Key = options.apiV3Key;
    this.#privateKey = options.privateKey;
    this.#mchId = options.mchId;
    this.#appIds = new Set(options.appIds);
    this.#now = options.now;
    this.#client = new WechatPayV3Client({
      mchId: options.mchId,
      serialNo: options.certSerial,
      privateKey: options.privateKey,
      keys: this.#keys,
      baseUrl: options.baseUrl,
      timeoutMs: options.timeoutMs,
      // One clock for everything this gateway verifies (replies, notifications, certificate validity).
      now: options.now,
    });
    this.#certificates = options.platformCertificates
      ? new PlatformCertificates({ client: this.#client, apiV3Key: options.apiV3Key, keys: this.#keys })
      : undefined;
  }

  /**
   * Certificate mode: WeChat's platform certificates are fetched before the first request. Failing that, the
   * server may still start when it holds another way to verify WeChat (the public key, during a migration).
   */
  async start(): Promise<void> {
    if (!this.#certificates) return;
    try {
      await this.#certificates.refreshIfDue(this.#now());
    } catch (err) {
      if (this.#keys.size === 0) throw err;
      this.#retryCertificatesAt = this.#now() + CERTIFICATE_RETRY_MS;
    }
  }

  /** The prepay endpoint of the attempt's channel (docs/channels.md): jsapi, app, h5 or native. */
  async prepare(request: PrepareRequest): Promise<Prepared> {
    await this.#refreshCertificates();
    const common = {
      appid: request.appId,
      description: request.description,
      outTradeNo: request.outTradeNo,
      notifyUrl: request.notifyUrl,
      amountFen: request.totalFen,
      timeExpire: new Date(request.expiresAt),
    };
    const call = `${request.channel === 'miniprogram' || request.channel === 'official_account' ? 'jsapi' : request.channel} prepay`;
    try {
      switch (request.channel) {
        case 'miniprogram':
        case 'official_account': {
          if (request.payerOpenid === undefined)
            throw new TypeError('V3Gateway: JSAPI needs the payer openid');
          const { prepayId } = await this.#client.jsapiPrepay({
            ...common,
            payerOpenid: request.payerOpenid,
          });
          return { prepayId };
        }
        case 'app': {
          const { prepayId } = await this.#client.appPrepay(common);
          return { prepayId };
        }
        case 'h5': {
          const { h5Url } = await this.#client.h5Prepay({
            ...common,
            payerClientIp: request.clientIp,
            h5Info: { type: 'Wap', appName: request.h5.wapName, appUrl: request.h5.wapUrl },
          });
          return { redirectUrl: h5Url };
        }
        case 'native': {
          const { codeUrl } = await this.#client.nativePrepay(common);
          return { codeUrl };
        }
      }
    } catch (err) {
      if (err instanceof TypeError) throw err;
      throw gatewayErrorV3(err, call);
    }
  }

  launch(request: LaunchRequest): PaymentLaunch {
    if (request.signType !== 'RSA')
      throw new TypeError(`APIv3 launches are signed with RSA, not ${request.signType}`);
    const { prepared } = request;
    switch (request.channel) {
      case 'miniprogram':
      case 'official_account': {
        const prepayId = need(prepared.prepayId, 'prepay_id', GATEWAY);
        const params = miniProgramPayParamsV3({
          appId: request.appId,
          prepayId,
          privateKey: this.#privateKey,
        });
        return { kind: 'jsapi', appId: request.appId, ...params };
      }
      case 'app': {
        const p = appPayParamsV3({
          appId: request.appId,
          partnerId: this.#mchId,
          prepayId: need(prepared.prepayId, 'prepay_id', GATEWAY),
          privateKey: this.#privateKey,
          timestamp: Math.floor(this.#now() / 1000),
        });
        return appLaunch(p);
      }
      case 'h5':
        return {
          kind: 'h5',
          redirectUrl: h5RedirectUrl(need(prepared.redirectUrl, 'h5_url', GATEWAY), request.returnUrl),
        };
      case 'native':
        return { kind: 'native', codeUrl: need(prepared.codeUrl, 'code_url', GATEWAY) };
    }
  }

  /** Native mode 1 (signed long links, a scan callback) exists only in APIv2 (docs/channels.md). */
  readonly nativeScanPath = undefined;

  parseNativeScan(): never {
    throw new TypeError(
      'V3Gateway: Native mode 1 scan callbacks exist only in APIv2 (WECHATPAY_NATIVE_MODE=2)',
    );
  }

  placeScanned(): never {
    throw new TypeError(
      'V3Gateway: Native mode 1 scan callbacks exist only in APIv2 (WECHATPAY_NATIVE_MODE=2)',
    );
  }

  renderScanReply(): never {
    throw new TypeError(
      'V3Gateway: Native mode 1 scan callbacks exist only in APIv2 (WECHATPAY_NATIVE_MODE=2)',
    );
  }

  async query(ref: TradeRef): Promise<TradeStatus> {
    await this.#refreshCertificates();
    let trade;
    try {
      trade = await this.#client.queryByOutTradeNo(ref.outTradeNo);
    } catch (err) {
      const mapped = gatewayErrorV3(err, 'query');
      if (mapped.reason === 'not_found') return { state: 'unknown' };
      throw mapped;
    }
    const state = TRADE_STATES[trade.tradeState];
    if (state === undefined)
      throw new GatewayError('bad_reply', `query: unknown trade_state ${trade.tradeState}`);
    if (state !== 'paid') return { state };
    if (!trade.transactionId || trade.amount?.total === undefined) {
      throw new GatewayError('bad_reply', 'query: a paid trade without transaction_id or amount');
    }
    return {
      state,
      payment: {
        outTradeNo: ref.outTradeNo,
        appId: trade.appid ?? ref.appId,
        transactionId: trade.transactionId,
        totalFen: trade.amount.total,
        paidAt: this.#time(trade.successTime),
        payerOpenid: trade.payer?.openid,
      },
    };
  }

  async close(ref: TradeRef): Promise<CloseResult> {
    await this.#refreshCertificates();
    try {
      await this.#client.close(ref.outTradeNo);
      return 'closed';
    } catch (err) {
      const mapped = gatewayErrorV3(err, 'close');
      if (mapped.reason === 'already_paid') return 'already_paid';
      if (mapped.reason === 'closed') return 'already_closed';
      if (mapped.reason === 'not_found') return 'unknown';
      throw mapped;
    }
  }

  async refund(request: RefundRequest): Promise<RefundStatus> {
    try {
      return this.#refundStatus(
        await this.#client.refund({
          outTradeNo: request.outTradeNo,
          outRefundNo: request.outRefundNo,
          refundFen: request.refundFen,
          totalFen: request.totalFen,
          ...(request.reason === undefined ? {} : { reason: request.reason }),
          ...(request.notifyUrl === undefined ? {} : { notifyUrl: request.notifyUrl }),
        }),
      );
    } catch (err) {
      throw gatewayErrorV3(err, 'refund');
    }
  }

  async queryRefund(ref: TradeRef & { outRefundNo: string }): Promise<RefundStatus> {
    try {
      return this.#refundStatus(await this.#client.queryRefund(ref.outRefundNo));
    } catch (err) {
      throw gatewayErrorV3(err, 'refund query');
    }
  }

  parseNotification(raw: RawNotification): NotificationFact {
    const event = this.#verified(raw);
    // The shared parser validates the transaction resource (amount in fen, RFC 3339 time, ids present).
    let trade;
    try {
      trade = parseV3Transaction(event.resource);
    } catch (err) {
      throw new NotificationRejectedError('fields', (err as Error).message);
    }
    if (trade.mchid !== this.#mchId || !this.#appIds.has(trade.appid)) {
      throw new NotificationRejectedError(
        'merchant',
        'notification is for another mchid or an unbound appid',
        trade.outTradeNo,
      );
    }
    if (event.eventType !== 'TRANSACTION.SUCCESS' || trade.tradeState !== 'SUCCESS') {
      return { kind: 'payment_failed', outTradeNo: trade.outTradeNo };
    }
    return {
      kind: 'payment',
      payment: {
        outTradeNo: trade.outTradeNo,
        appId: trade.appid,
        transactionId: trade.transactionId,
        totalFen: trade.amount.total,
        paidAt: this.#time(trade.successTime),
        payerOpenid: trade.payer?.openid,
      },
    };
  }

  /** Signature, time window and GCM tag over the raw notification; any failure is an untrusted notification. */
  #verified(raw: RawNotification) {
    try {
      return verifyV3Notification(raw.body, raw.headers, {
        apiV3Key: this.#apiV3Key,
        keys: this.#keys,
        now: this.#now(),
      });
    } catch (err) {
      throw notificationErrorV3(err);
    }
  }

  /** REFUND.SUCCESS / REFUND.ABNORMAL / REFUND.CLOSED, verified and decrypted like payment notifications. */
  parseRefundNotification(raw: RawNotification): RefundStatus {
    const event = this.#verified(raw);
    let refund: V3Refund;
    try {
      if (!event.eventType.startsWith('REFUND.')) throw new Error(`event_type ${event.eventType}`);
      refund = parseV3Refund(event.resource);
    } catch (err) {
      throw new NotificationRejectedError('fields', `not a refund notification: ${(err as Error).message}`);
    }
    if (refund.mchid !== this.#mchId) {
      throw new NotificationRejectedError('merchant', 'refund notification for another mchid');
    }
    return this.#refundStatus(refund);
  }

  /** v3: a 2xx (204, empty) stops the retries; anything else is a failure with a JSON reason. */
  renderNotificationReply(answer: NotificationAnswer): NotificationReply {
    return answer.ack
      ? { status: 204, contentType: 'application/json', body: '' }
      : {
          status: answer.status,
          contentType: 'application/json',
          body: JSON.stringify({ code: 'FAIL', message: answer.message }),
        };
  }

  /**
   * A due refresh that fails must not stop payments while the keys held still verify: it is retried a minute
   * later, and only an empty key set (nothing left to verify WeChat with) fails the request.
   */
  async #refreshCertificates(): Promise<void> {
    if (!this.#certificates) return;
    const now = this.#now();
    if (now < this.#retryCertificatesAt) return;
    try {
      await this.#certificates.refreshIfDue(now);
    } catch (err) {
      this.#retryCertificatesAt = now + CERTIFICATE_RETRY_MS;
      this.#keys.pruneExpired(now);
      if (this.#keys.size === 0) throw gatewayErrorV3(err, 'certificates');
    }
  }

  /** The same refund object in replies, queries and notifications (shared parseV3Refund), in domain terms. */
  #refundStatus(refund: V3Refund): RefundStatus {
    return {
      outRefundNo: refund.outRefundNo,
      refundId: refund.refundId,
      state: REFUND_STATES[refund.status],
      refundFen: refund.refundFen,
      succeededAt: refund.successTime === undefined ? undefined : this.#time(refund.successTime),
    };
  }

  /** v3 times are RFC 3339 with an offset; an unreadable one is dated when we learn of it. */
  #time(text: string | undefined): number {
    const ms = text === undefined ? Number.NaN : Date.parse(text);
    return Number.isNaN(ms) ? this.#now() : ms;
  }

  /** tradebill → download_url (fetched with a signed GET; the file itself is unsigned) → SHA1 checked. */
  async downloadBill(date: string, type: BillType): Promise<AsyncIterable<BillEntry>> {
    checkBillWindow(date, this.#now());
    let file: Uint8Array;
    try {
      const bill = await this.#client.tradeBill({ billDate: date, billType: type, tarType: 'GZIP' });
      file = await this.#client.downloadBillFile(bill.downloadUrl);
      if (!checkBillHash(file, bill.hashValue)) {
        throw new GatewayError('bad_reply', `bill of ${date}: the file does not match its SHA1 hash_value`, {
          wechatCode: 'BILL_HASH_MISMATCH',
        });
      }
    } catch (err) {
      throw billFailure(err, 'tradebill') ?? gatewayErrorV3(err, 'tradebill');
    }
    return billEntries(file);
  }
}

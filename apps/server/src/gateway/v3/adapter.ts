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
  combineFromNotificationV3,
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
  WechatPayV3DecryptError,
  type CombineChannel,
  type V3CombineTransaction,
  type V3Notification,
} from '@mp-pay/shared/wechatpay';
import { GatewayError, NotificationRejectedError } from '../errors.ts';
import { billEntries, billFailure, checkBillWindow } from '../bill-file.ts';
import type {
  CloseResult,
  CombineStatus,
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
  SubOrderStatus,
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
  /**
   * The other merchants the shop takes payments for (their own trades and combine sub-orders, docs/combine.md),
   * each with its own APIv3 identity. Their WeChat Pay public keys join the one key set.
   */
  subMerchants?: readonly V3Merchant[];
  baseUrl: string;
  timeoutMs: number;
  now: () => number;
}

export interface V3Merchant {
  mchId: string;
  apiV3Key: string;
  privateKey: string;
  certSerial: string;
  publicKey: { id: string; pem: string } | undefined;
}

/** A merchant as the adapter uses it: the client that signs as it, and what decrypts and signs for it. */
interface MerchantEntry {
  client: WechatPayV3Client;
  privateKey: string;
  apiV3Key: string;
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
  readonly #mchId: string;
  /** Every merchant by mchid, the shop's own first (notifications are decrypted trying them in this order). */
  readonly #merchants = new Map<string, MerchantEntry>();
  readonly #appIds: ReadonlySet<string>;
  readonly #now: () => number;
  #retryCertificatesAt = 0;

  constructor(options: V3GatewayOptions) {
    this.#keys = new V3KeySet();
    if (options.publicKey) this.#keys.addPublicKey(options.publicKey.id, options.publicKey.pem);
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
    this.#merchants.set(options.mchId, {
      client: this.#client,
      privateKey: options.privateKey,
      apiV3Key: options.apiV3Key,
    });
    for (const sub of options.subMerchants ?? []) {
      if (sub.publicKey) this.#keys.addPublicKey(sub.publicKey.id, sub.publicKey.pem);
      this.#merchants.set(sub.mchId, {
        client: new WechatPayV3Client({
          mchId: sub.mchId,
          serialNo: sub.certSerial,
          privateKey: sub.privateKey,
          keys: this.#keys,
          baseUrl: options.baseUrl,
          timeoutMs: options.timeoutMs,
          now: options.now,
        }),
        privateKey: sub.privateKey,
        apiV3Key: sub.apiV3Key,
      });
    }
  }

  /** Sub-merchant trades and combine payments (docs/combine.md). */
  readonly combine = true;

  /** The merchant a trade belongs to: the shop's own unless the trade names another. */
  #merchant(mchid: string | undefined): MerchantEntry {
    const entry = this.#merchants.get(mchid ?? this.#mchId);
    if (entry === undefined) {
      throw new GatewayError('refused', `merchant ${mchid} is not configured (WECHATPAY_SUB_MERCHANTS)`);
    }
    return entry;
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
    if (request.subOrders !== undefined) return this.#prepareCombine(request);
    const client = this.#merchant(request.mchid).client;
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
          const { prepayId } = await client.jsapiPrepay({
            ...common,
            payerOpenid: request.payerOpenid,
          });
          return { prepayId };
        }
        case 'app': {
          const { prepayId } = await client.appPrepay(common);
          return { prepayId };
        }
        case 'h5': {
          const { h5Url } = await client.h5Prepay({
            ...common,
            payerClientIp: request.clientIp,
            h5Info: { type: 'Wap', appName: request.h5.wapName, appUrl: request.h5.wapUrl },
          });
          return { redirectUrl: h5Url };
        }
        case 'native': {
          const { codeUrl } = await client.nativePrepay(common);
          return { codeUrl };
        }
      }
    } catch (err) {
      if (err instanceof TypeError) throw err;
      throw gatewayErrorV3(err, call);
    }
  }

  /**
   * POST /v3/combine-transactions/{jsapi,app,h5,native}: the shop's own merchant is combine_mchid, each
   * sub-order names its merchant (docs/combine.md). Its launch is signed like a single trade's, by combine_mchid.
   */
  async #prepareCombine(request: PrepareRequest): Promise<Prepared> {
    const subOrders = request.subOrders ?? [];
    const channel: CombineChannel =
      request.channel === 'miniprogram' || request.channel === 'official_account' ? 'jsapi' : request.channel;
    const combine = {
      combineAppid: request.appId,
      combineOutTradeNo: request.outTradeNo,
      notifyUrl: request.notifyUrl,
      timeExpire: new Date(request.expiresAt),
      subOrders: subOrders.map((sub) => ({
        mchid: sub.mchid,
        outTradeNo: sub.outTradeNo,
        description: sub.description,
        amountFen: sub.totalFen,
        // attach is required per sub-order: the order it pays, echoed in notifications.
        attach: request.productId,
      })),
      ...(channel === 'jsapi' ? { payerOpenid: request.payerOpenid } : {}),
      ...(channel === 'h5' || channel === 'native' ? { payerClientIp: request.clientIp } : {}),
      ...(channel === 'h5'
        ? { h5Info: { type: 'Wap' as const, appName: request.h5.wapName, appUrl: request.h5.wapUrl } }
        : {}),
    };
    if (channel === 'jsapi' && request.payerOpenid === undefined) {
      throw new TypeError('V3Gateway: a JSAPI combine needs the payer openid');
    }
    try {
      const client = this.#client;
      switch (channel) {
        case 'jsapi':
        case 'app':
          return { prepayId: (await client.combinePrepay(channel, combine)).prepayId };
        case 'h5':
          return { redirectUrl: (await client.combinePrepay('h5', combine)).h5Url };
        case 'native':
          return { codeUrl: (await client.combinePrepay('native', combine)).codeUrl };
      }
    } catch (err) {
      if (err instanceof TypeError) throw err;
      throw gatewayErrorV3(err, `combine ${channel} prepay`);
    }
  }

  async queryCombine(ref: TradeRef): Promise<CombineStatus> {
    await this.#refreshCertificates();
    let combine: V3CombineTransaction;
    try {
      combine = await this.#client.queryCombine(ref.outTradeNo);
    } catch (err) {
      const mapped = gatewayErrorV3(err, 'combine query');
      if (mapped.reason === 'not_found') return { state: 'unknown' };
      throw mapped;
    }
    return { state: 'known', subOrders: this.#subOrders(combine, 'combine query') };
  }

  async closeCombine(
    ref: TradeRef,
    subOrders: readonly { outTradeNo: string; mchid: string }[],
  ): Promise<CloseResult> {
    await this.#refreshCertificates();
    try {
      await this.#client.closeCombine(ref.outTradeNo, ref.appId, [...subOrders]);
      return 'closed';
    } catch (err) {
      const mapped = gatewayErrorV3(err, 'combine close');
      if (mapped.reason === 'already_paid') return 'already_paid';
      if (mapped.reason === 'closed') return 'already_closed';
      if (mapped.reason === 'not_found') return 'unknown';
      throw mapped;
    }
  }

  /** Each sub-order's state in domain terms; a paid one must carry what shipping relies on. */
  #subOrders(combine: V3CombineTransaction, call: string): SubOrderStatus[] {
    return combine.subOrders.map((sub) => {
      const state = TRADE_STATES[sub.tradeState];
      if (state === undefined) {
        throw new GatewayError('bad_reply', `${call}: unknown trade_state ${sub.tradeState}`);
      }
      const out: SubOrderStatus = { outTradeNo: sub.outTradeNo, mchid: sub.mchid, state };
      if (state === 'paid') {
        out.payment = {
          transactionId: sub.transactionId,
          totalFen: sub.amount.totalAmount,
          paidAt: this.#time(sub.successTime),
        };
      }
      return out;
    });
  }

  launch(request: LaunchRequest): PaymentLaunch {
    if (request.signType !== 'RSA')
      throw new TypeError(`APIv3 launches are signed with RSA, not ${request.signType}`);
    const { prepared } = request;
    // Signed by the merchant that placed the trade (a combine: the shop's own, its combine_mchid).
    const merchant = this.#merchant(request.mchid);
    const partnerId = request.mchid ?? this.#mchId;
    switch (request.channel) {
      case 'miniprogram':
      case 'official_account': {
        const prepayId = need(prepared.prepayId, 'prepay_id', GATEWAY);
        const params = miniProgramPayParamsV3({
          appId: request.appId,
          prepayId,
          privateKey: merchant.privateKey,
        });
        return { kind: 'jsapi', appId: request.appId, ...params };
      }
      case 'app': {
        const p = appPayParamsV3({
          appId: request.appId,
          partnerId,
          prepayId: need(prepared.prepayId, 'prepay_id', GATEWAY),
          privateKey: merchant.privateKey,
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
      trade = await this.#merchant(ref.mchid).client.queryByOutTradeNo(ref.outTradeNo);
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
        ...this.#otherMerchant(trade.mchid),
      },
    };
  }

  async close(ref: TradeRef): Promise<CloseResult> {
    await this.#refreshCertificates();
    try {
      await this.#merchant(ref.mchid).client.close(ref.outTradeNo);
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
        await this.#merchant(request.mchid).client.refund({
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
      return this.#refundStatus(await this.#merchant(ref.mchid).client.queryRefund(ref.outRefundNo));
    } catch (err) {
      throw gatewayErrorV3(err, 'refund query');
    }
  }

  parseNotification(raw: RawNotification): NotificationFact {
    const event = this.#verified(raw);
    if (isCombineResource(event.resource)) return this.#combineFact(event);
    // The shared parser validates the transaction resource (amount in fen, RFC 3339 time, ids present).
    let trade;
    try {
      trade = parseV3Transaction(event.resource);
    } catch (err) {
      throw new NotificationRejectedError('fields', (err as Error).message);
    }
    if (!this.#merchants.has(trade.mchid) || !this.#appIds.has(trade.appid)) {
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
        ...this.#otherMerchant(trade.mchid),
      },
    };
  }

  /** A combine's notification: ours (combine_mchid, a bound AppID, our sub-merchants), each sub-order's state. */
  #combineFact(event: V3Notification): NotificationFact {
    let combine: V3CombineTransaction;
    try {
      combine = combineFromNotificationV3(event);
    } catch (err) {
      throw new NotificationRejectedError('fields', (err as Error).message);
    }
    const foreign =
      combine.combineMchid !== this.#mchId ||
      !this.#appIds.has(combine.combineAppid) ||
      combine.subOrders.some((sub) => !this.#merchants.has(sub.mchid));
    if (foreign) {
      throw new NotificationRejectedError(
        'merchant',
        'combine notification for another merchant or an unbound appid',
        combine.combineOutTradeNo,
      );
    }
    let subOrders: SubOrderStatus[];
    try {
      subOrders = this.#subOrders(combine, 'combine notification');
    } catch (err) {
      throw new NotificationRejectedError('fields', (err as Error).message);
    }
    return {
      kind: 'combine',
      combine: { outTradeNo: combine.combineOutTradeNo, appId: combine.combineAppid, subOrders },
    };
  }

  /**
   * Signature, time window and GCM tag over the raw notification; any failure is an untrusted notification.
   * Each merchant's notifications are encrypted with its own APIv3 key (a sub-merchant's refunds, say): a tag
   * mismatch under one key is tried under the next, and only all of them failing rejects it.
   */
  #verified(raw: RawNotification) {
    let last: unknown;
    for (const merchant of this.#merchants.values()) {
      try {
        return verifyV3Notification(raw.body, raw.headers, {
          apiV3Key: merchant.apiV3Key,
          keys: this.#keys,
          now: this.#now(),
        });
      } catch (err) {
        last = err;
        if (!(err instanceof WechatPayV3DecryptError)) break;
      }
    }
    throw notificationErrorV3(last);
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
    if (refund.mchid === undefined || !this.#merchants.has(refund.mchid)) {
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
      ...this.#otherMerchant(refund.mchid),
    };
  }

  /** `mchid` when WeChat names another merchant than the shop's own (the services check it is the trade's). */
  #otherMerchant(mchid: string | undefined): { mchid?: string } {
    return mchid === undefined || mchid === this.#mchId ? {} : { mchid };
  }

  /** v3 times are RFC 3339 with an offset; an unreadable one is dated when we learn of it. */
  #time(text: string | undefined): number {
    const ms = text === undefined ? Number.NaN : Date.parse(text);
    return Number.isNaN(ms) ? this.#now() : ms;
  }

  /**
   * tradebill → download_url (fetched with a signed GET; the file itself is unsigned) → SHA1 checked. Another
   * merchant's bill is asked for by that merchant (its key signs both requests): WeChat serves a merchant's
   * bill, combine sub-orders of its own included, only to it.
   */
  async downloadBill(date: string, type: BillType, mchid?: string): Promise<AsyncIterable<BillEntry>> {
    checkBillWindow(date, this.#now());
    const client = this.#merchant(mchid).client;
    let file: Uint8Array;
    try {
      const bill = await client.tradeBill({ billDate: date, billType: type, tarType: 'GZIP' });
      file = await client.downloadBillFile(bill.downloadUrl);
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

/** A combine's resource names combine_out_trade_no where a single trade's names out_trade_no. */
function isCombineResource(resource: unknown): boolean {
  return typeof resource === 'object' && resource !== null && 'combine_out_trade_no' in resource;
}

/**
 * Decorators that time and count every call to WeChat (mppay_wechat_api_calls_total and
 * mppay_wechat_api_duration_seconds) and report what notification parsing gave (notify-observer.ts). They are put
 * around the gateway and the login clients where those are built (gateway/index.ts, server.ts); services keep
 * calling the same interfaces and never see a metric.
 */
import type { Code2SessionClient, OAuthClient } from '@mp-pay/shared/login';
import { GatewayError, NotificationRejectedError } from '../gateway/errors.ts';
import type {
  CloseResult,
  CombineStatus,
  LaunchRequest,
  NativeScan,
  NativeScanAnswer,
  NotificationAnswer,
  NotificationFact,
  NotificationReply,
  PaymentGateway,
  Prepared,
  PrepareRequest,
  RawNotification,
  RefundRequest,
  RefundStatus,
  TradeRef,
  TradeStatus,
} from '../gateway/types.ts';
import type { PaymentLaunch } from '@mp-pay/shared/api';
import type { BillEntry, BillType } from '@mp-pay/shared/bills';
import type { NotifyObserver } from './notify-observer.ts';
import type { Metrics, WechatEndpoint } from './registry.ts';

/** A failure's label: the gateway's reason, the login error's code, or `error`. Never a message (cardinality). */
function failureOutcome(err: unknown): string {
  if (err instanceof GatewayError) return err.reason;
  const code = (err as { code?: unknown } | undefined)?.code;
  if (typeof code === 'number' || (typeof code === 'string' && /^[A-Z0-9_-]{1,24}$/i.test(code))) {
    return `errcode_${String(code).toLowerCase()}`;
  }
  return 'error';
}

/** Runs one WeChat call, counting and timing it. */
export async function timedCall<T>(
  metrics: Metrics,
  endpoint: WechatEndpoint,
  api: string,
  call: () => Promise<T>,
): Promise<T> {
  const started = performance.now();
  let outcome = 'ok';
  try {
    return await call();
  } catch (err) {
    outcome = failureOutcome(err);
    throw err;
  } finally {
    const labels = { endpoint, api, outcome };
    metrics.wechatCalls.inc(labels);
    metrics.wechatDuration.observe(labels, (performance.now() - started) / 1000);
  }
}

/** The payment gateway with every WeChat call measured; signing and rendering pass straight through. */
export class InstrumentedGateway implements PaymentGateway {
  readonly #inner: PaymentGateway;
  readonly #metrics: Metrics;
  readonly #notify: NotifyObserver | undefined;

  constructor(inner: PaymentGateway, metrics: Metrics, notify?: NotifyObserver) {
    this.#inner = inner;
    this.#metrics = metrics;
    this.#notify = notify;
  }

  get apiVersion() {
    return this.#inner.apiVersion;
  }
  get notifyPath() {
    return this.#inner.notifyPath;
  }
  get refundNotifyPath() {
    return this.#inner.refundNotifyPath;
  }
  get nativeScanPath() {
    return this.#inner.nativeScanPath;
  }
  get defaultSignType() {
    return this.#inner.defaultSignType;
  }
  get combine() {
    return this.#inner.combine;
  }

  /** Not measured: in certificate mode it downloads WeChat's certificates once, at startup. */
  async start(): Promise<void> {
    await this.#inner.start?.();
  }

  #time<T>(endpoint: WechatEndpoint, call: () => Promise<T>): Promise<T> {
    return timedCall(this.#metrics, endpoint, this.#inner.apiVersion, call);
  }

  prepare(request: PrepareRequest): Promise<Prepared> {
    return this.#time('prepare', () => this.#inner.prepare(request));
  }
  placeScanned(request: PrepareRequest): Promise<Prepared> {
    return this.#time('prepare', () => this.#inner.placeScanned(request));
  }
  query(ref: TradeRef): Promise<TradeStatus> {
    return this.#time('query', () => this.#inner.query(ref));
  }
  close(ref: TradeRef): Promise<CloseResult> {
    return this.#time('close', () => this.#inner.close(ref));
  }
  queryCombine(ref: TradeRef): Promise<CombineStatus> {
    return this.#time('query', () => this.#inner.queryCombine(ref));
  }
  closeCombine(
    ref: TradeRef,
    subOrders: readonly { outTradeNo: string; mchid: string }[],
  ): Promise<CloseResult> {
    return this.#time('close', () => this.#inner.closeCombine(ref, subOrders));
  }
  refund(request: RefundRequest): Promise<RefundStatus> {
    return this.#time('refund', () => this.#inner.refund(request));
  }
  queryRefund(ref: TradeRef & { outRefundNo: string }): Promise<RefundStatus> {
    return this.#time('query_refund', () => this.#inner.queryRefund(ref));
  }

  launch(request: LaunchRequest): PaymentLaunch {
    return this.#inner.launch(request);
  }
  /** Passed through untimed: one call a day, and its stream is read after the call returns. */
  downloadBill(date: string, type: BillType, mchid?: string): Promise<AsyncIterable<BillEntry>> {
    return this.#inner.downloadBill(date, type, mchid);
  }

  parseNotification(raw: RawNotification): NotificationFact {
    const fact = this.#parsing(raw, () => this.#inner.parseNotification(raw));
    this.#notify?.parsed(raw.headers, fact.kind === 'payment_failed' ? 'payment_failed' : 'payment');
    return fact;
  }
  parseRefundNotification(raw: RawNotification): RefundStatus {
    const status = this.#parsing(raw, () => this.#inner.parseRefundNotification(raw));
    this.#notify?.parsed(raw.headers, status.state === 'processing' ? 'refund_processing' : 'refund');
    return status;
  }
  parseNativeScan(raw: RawNotification): NativeScan {
    const scan = this.#parsing(raw, () => this.#inner.parseNativeScan(raw));
    this.#notify?.parsed(raw.headers, 'scan');
    return scan;
  }

  #parsing<T>(raw: RawNotification, parse: () => T): T {
    try {
      return parse();
    } catch (err) {
      if (err instanceof NotificationRejectedError) this.#notify?.rejected(raw.headers, err.reason);
      throw err;
    }
  }

  renderNotificationReply(answer: NotificationAnswer): NotificationReply {
    return this.#inner.renderNotificationReply(answer);
  }
  renderScanReply(answer: NativeScanAnswer | NotificationAnswer, appId?: string): NotificationReply {
    return this.#inner.renderScanReply(answer, appId);
  }
}

/**
 * The login clients, measured in place (their classes keep private fields, so they cannot be wrapped by another
 * object of their type): the instance's method is replaced by a timed call of the original.
 */
export function instrumentCode2Session(client: Code2SessionClient, metrics: Metrics): Code2SessionClient {
  const original = client.code2Session.bind(client);
  client.code2Session = (jsCode) => timedCall(metrics, 'code2session', 'sns', () => original(jsCode));
  return client;
}

export function instrumentOAuth(client: OAuthClient, metrics: Metrics): OAuthClient {
  const original = client.exchangeCode.bind(client);
  client.exchangeCode = (code) => timedCall(metrics, 'oauth', 'sns', () => original(code));
  return client;
}

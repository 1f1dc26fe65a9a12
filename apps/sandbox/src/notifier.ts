import { signedPaymentNotification } from '@mp-pay/shared/testing';
import { canonicalString, parseXml, readCapped } from '@mp-pay/shared/wechatpay';
import type { SandboxContext } from './context.ts';
import { FORGERIES, V3_ONLY_FORGERIES, type FaultSettings, type Forgery } from './faults.ts';
import type { NotificationAttempt, OrderRecord } from './state.ts';
import { isV3Acknowledgement, v3Notification } from './v3/notification.ts';

/**
 * Payment (and refund) notifications, as WeChat sends them: a signed XML POST to the order's notify_url (v2 orders) or a
 * signed JSON POST with an encrypted resource (v3 orders), repeated on the documented schedule until the
 * merchant answers the SUCCESS XML (v2) or HTTP 200/204 (v3). The first attempt goes out right after
 * payment; these are the waits after each failed one (24h4m in total), divided by the time scale.
 */
export const RETRY_DELAYS_MS: readonly number[] = [
  15, 15, 30, 180, 600, 1200, 1800, 1800, 1800, 3600, 10800, 10800, 10800, 21600, 21600,
].map((s) => s * 1000);

const MAX_RECORDED_ATTEMPTS = 500;
/** The forgeries a v2 payment notification can carry (the others exist in APIv3 only). */
const V2_FORGERIES: readonly Forgery[] = FORGERIES.filter((f) => !V3_ONLY_FORGERIES.includes(f));
const REPLY_EXCERPT = 200;
const MAX_REPLY_BYTES = 16 * 1024;
/** What each attempt keeps of the request body and the reply, for the sandbox console. */
const MAX_RECORDED_BODY = 16 * 1024;
const MAX_RECORDED_REPLY = 4 * 1024;
const KEY_WITHHELD = '<APIv2 key, not shown>';

type Kind = NotificationAttempt['kind'];

/** What a notification is about (a paid order, a finished refund): where attempts are recorded. */
export interface NotificationSubject {
  mchId: string;
  /** Faults are looked up by the merchant and this order. */
  outTradeNo: string;
  notifications: NotificationAttempt[];
  nextNotificationAt?: number;
}

/** One notification, ready to POST. */
export interface RenderedNotification {
  headers: Record<string, string>;
  body: string;
  /** v3: the Wechatpay-Serial it is signed under. */
  serial?: string;
  /** The text the signature covers, key withheld (recorded on the attempt for the sandbox console). */
  signed?: string;
  /** Acknowledged the v3 way (200/204) rather than by the SUCCESS XML. */
  v3: boolean;
}

/** How one kind of notification is built, and which forgeries it knows. */
export interface NotificationPlan {
  url: string;
  render: (kind: Kind) => RenderedNotification;
  forgeries: readonly Forgery[];
}

const V2_HEADERS = { 'content-type': 'text/xml; charset=utf-8', 'user-agent': 'Mozilla/4.0 mp-pay-sandbox' };

export class Notifier {
  /** Subjects with a schedule under way: an attempt waiting (nextNotificationAt set) or in flight (not set). */
  readonly #running = new WeakSet<NotificationSubject>();

  constructor(private readonly sandbox: SandboxContext) {}

  /** Whether the subject's notification schedule is still running (WeChat never runs two for one). */
  running(subject: NotificationSubject): boolean {
    return this.#running.has(subject);
  }

  /** Starts delivery for a freshly paid order (honouring the delay fault). */
  start(order: OrderRecord): void {
    this.begin(order, {
      url: order.notifyUrl,
      render: (kind) => {
        if (order.api === 'v3') return { ...v3Notification(this.sandbox, order, kind), v3: true };
        const signed = this.body(order, kind);
        return { headers: V2_HEADERS, body: signed.xml, signed: signed.signed, v3: false };
      },
      forgeries: order.api === 'v3' ? FORGERIES : V2_FORGERIES,
    });
  }

  /** Starts delivery for any subject (refunds use it with their own plan). */
  begin(subject: NotificationSubject, plan: NotificationPlan): void {
    const faults = this.faults(subject);
    this.schedule(subject, plan, 1, faults.notifyDelayMs ?? 0);
  }

  private faults(subject: NotificationSubject): FaultSettings {
    return this.sandbox.faults.for(subject.mchId, subject.outTradeNo);
  }

  private schedule(
    subject: NotificationSubject,
    plan: NotificationPlan,
    attempt: number,
    delayMs: number,
  ): void {
    subject.nextNotificationAt = this.sandbox.clock.now() + delayMs;
    this.#running.add(subject);
    this.sandbox.timers.after(delayMs, () => {
      void this.attempt(subject, plan, attempt).finally(() => {
        // Not rescheduled (acknowledged, out of retries, closing): the schedule is over.
        if (subject.nextNotificationAt === undefined) this.#running.delete(subject);
      });
    });
  }

  private async attempt(
    subject: NotificationSubject,
    plan: NotificationPlan,
    attempt: number,
  ): Promise<void> {
    subject.nextNotificationAt = undefined;
    if (this.sandbox.timers.closed) return;
    // Faults are read at each attempt, so a test can stop dropping notifications half-way through.
    const faults = this.faults(subject);
    const forgery = faults.forgeNotification;
    if (attempt === 1 && forgery && plan.forgeries.includes(forgery)) {
      await this.deliver(subject, plan, attempt, `forged-${forgery}`, 0);
    }

    let acknowledged = false;
    const drop = faults.dropNotifications;
    if (drop === true || (typeof drop === 'number' && attempt <= drop)) {
      this.record(subject, {
        at: new Date(this.sandbox.clock.now()).toISOString(),
        attempt,
        kind: 'genuine',
        copy: 0,
        outcome: 'dropped',
      });
    } else {
      const copies = faults.concurrentNotifications ?? 1;
      const results = await Promise.all(
        Array.from({ length: copies }, (_, copy) => this.deliver(subject, plan, attempt, 'genuine', copy)),
      );
      acknowledged = results.some(Boolean);
    }
    if (this.sandbox.timers.closed) return;

    if (acknowledged) {
      for (let i = 0; i < (faults.duplicateNotifications ?? 0) && !this.sandbox.timers.closed; i++) {
        await this.deliver(subject, plan, attempt, 'duplicate', i);
      }
      return;
    }
    const wait = RETRY_DELAYS_MS[attempt - 1];
    if (wait !== undefined) this.schedule(subject, plan, attempt + 1, this.sandbox.clock.scaled(wait));
  }

  /** One POST; true when the merchant acknowledged a genuine notification. */
  private async deliver(
    subject: NotificationSubject,
    plan: NotificationPlan,
    attempt: number,
    kind: Kind,
    copy: number,
  ): Promise<boolean> {
    const started = Date.now();
    const entry: NotificationAttempt = {
      at: new Date(this.sandbox.clock.now()).toISOString(),
      attempt,
      kind,
      copy,
      outcome: 'error',
    };
    try {
      const rendered = plan.render(kind);
      if (rendered.serial !== undefined) entry.serial = rendered.serial;
      entry.request = {
        url: plan.url,
        headers: rendered.headers,
        body: rendered.body.slice(0, MAX_RECORDED_BODY),
      };
      if (rendered.signed !== undefined) entry.signed = rendered.signed;
      const res = await fetch(plan.url, {
        method: 'POST',
        headers: rendered.headers,
        body: rendered.body,
        signal: AbortSignal.any([
          AbortSignal.timeout(this.sandbox.config.notifyTimeoutMs),
          this.sandbox.shutdown.signal,
        ]),
      });
      const reply = await readCapped(res, MAX_REPLY_BYTES);
      entry.httpStatus = res.status;
      entry.reply = reply.slice(0, REPLY_EXCERPT);
      entry.replyBody = reply.slice(0, MAX_RECORDED_REPLY);
      const accepted = rendered.v3
        ? isV3Acknowledgement(res.status, reply)
        : res.status === 200 && isSuccessReply(reply);
      entry.outcome = accepted ? 'acknowledged' : 'rejected';
    } catch (err) {
      entry.error = describe(err);
    }
    entry.durationMs = Date.now() - started;
    this.record(subject, entry);
    return entry.outcome === 'acknowledged' && !kind.startsWith('forged-');
  }

  /** Built by the same factory the server's tests and the benchmarks use, so all of them see one shape. */
  private body(order: OrderRecord, kind: Kind): { xml: string; signed: string } {
    const account = this.sandbox.accounts.merchant(order.mchId);
    if (!account) throw new Error(`merchant ${order.mchId} is no longer configured`);
    if (!order.transactionId || !order.timeEnd) throw new Error(`order ${order.outTradeNo} is not paid`);
    if (order.signType === 'RSA') throw new Error(`order ${order.outTradeNo} was placed with APIv3`);
    // Validly signed but for another amount: only the merchant's own amount check catches it.
    const forgedFee = kind === 'forged-wrong-amount' ? (order.totalFee === 1 ? 2 : 1) : undefined;
    const { map, xml } = signedPaymentNotification({
      appId: order.appId,
      mchId: order.mchId,
      key: kind === 'forged-bad-sign' ? [...account.key].reverse().join('') : account.key,
      signType: order.signType,
      // Like the real service, no sign_type field even for HMAC-SHA256: receivers must infer it.
      omitSignType: true,
      outTradeNo: order.outTradeNo,
      totalFee: forgedFee ?? order.totalFee,
      cashFee: forgedFee ?? order.cashFee,
      transactionId: order.transactionId,
      openid: order.openid,
      timeEnd: order.timeEnd,
      tradeType: order.tradeType,
      bankType: order.bankType,
      feeType: order.feeType,
      attach: order.attach,
      extra: order.paidExtras,
    });
    // The key is a secret: the recorded string shows where it goes, not what it is.
    return { xml, signed: `${canonicalString(map)}&key=${KEY_WITHHELD}` };
  }

  private record(subject: NotificationSubject, entry: NotificationAttempt): void {
    subject.notifications.push(entry);
    if (subject.notifications.length > MAX_RECORDED_ATTEMPTS) subject.notifications.shift();
  }
}

/** Only `<xml><return_code>SUCCESS</return_code>…` stops the retries; "success", JSON or an empty 200 do not. */
function isSuccessReply(reply: string): boolean {
  try {
    return parseXml(reply, { maxBytes: MAX_REPLY_BYTES }).return_code === 'SUCCESS';
  } catch {
    return false;
  }
}

function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = (err as Error & { cause?: unknown }).cause;
  const detail = cause instanceof Error ? `: ${cause.message}` : '';
  return `${err.name}: ${err.message}${detail}`;
}

import { signedPaymentNotification } from '@mp-pay/shared/testing';
import { parseXml, readCapped } from '@mp-pay/shared/wechatpay';
import type { SandboxContext } from './context.ts';
import { V3_ONLY_FORGERIES, type FaultSettings } from './faults.ts';
import type { NotificationAttempt, OrderRecord } from './state.ts';
import { isV3Acknowledgement, v3Notification } from './v3/notification.ts';

/**
 * Payment notifications, as WeChat sends them: a signed XML POST to the order's notify_url (v2 orders) or a
 * signed JSON POST with an encrypted resource (v3 orders), repeated on the documented schedule until the
 * merchant answers the SUCCESS XML (v2) or HTTP 200/204 (v3). The first attempt goes out right after
 * payment; these are the waits after each failed one (24h4m in total), divided by the time scale.
 */
export const RETRY_DELAYS_MS: readonly number[] = [
  15, 15, 30, 180, 600, 1200, 1800, 1800, 1800, 3600, 10800, 10800, 10800, 21600, 21600,
].map((s) => s * 1000);

const MAX_RECORDED_ATTEMPTS = 500;
const REPLY_EXCERPT = 200;
const MAX_REPLY_BYTES = 16 * 1024;

type Kind = NotificationAttempt['kind'];

export class Notifier {
  constructor(private readonly sandbox: SandboxContext) {}

  /** Starts delivery for a freshly paid order (honouring the delay fault). */
  start(order: OrderRecord): void {
    const faults = this.faults(order);
    this.schedule(order, 1, faults.notifyDelayMs ?? 0);
  }

  private faults(order: OrderRecord): FaultSettings {
    return this.sandbox.faults.for(order.mchId, order.outTradeNo);
  }

  private schedule(order: OrderRecord, attempt: number, delayMs: number): void {
    order.nextNotificationAt = this.sandbox.clock.now() + delayMs;
    this.sandbox.timers.after(delayMs, () => {
      void this.attempt(order, attempt);
    });
  }

  private async attempt(order: OrderRecord, attempt: number): Promise<void> {
    order.nextNotificationAt = undefined;
    if (this.sandbox.timers.closed) return;
    // Faults are read at each attempt, so a test can stop dropping notifications half-way through.
    const faults = this.faults(order);
    const forgery = faults.forgeNotification;
    if (attempt === 1 && forgery && (order.api === 'v3' || !V3_ONLY_FORGERIES.includes(forgery))) {
      await this.deliver(order, attempt, `forged-${forgery}`, 0);
    }

    let acknowledged = false;
    const drop = faults.dropNotifications;
    if (drop === true || (typeof drop === 'number' && attempt <= drop)) {
      this.record(order, {
        at: new Date(this.sandbox.clock.now()).toISOString(),
        attempt,
        kind: 'genuine',
        copy: 0,
        outcome: 'dropped',
      });
    } else {
      const copies = faults.concurrentNotifications ?? 1;
      const results = await Promise.all(
        Array.from({ length: copies }, (_, copy) => this.deliver(order, attempt, 'genuine', copy)),
      );
      acknowledged = results.some(Boolean);
    }
    if (this.sandbox.timers.closed) return;

    if (acknowledged) {
      for (let i = 0; i < (faults.duplicateNotifications ?? 0) && !this.sandbox.timers.closed; i++) {
        await this.deliver(order, attempt, 'duplicate', i);
      }
      return;
    }
    const wait = RETRY_DELAYS_MS[attempt - 1];
    if (wait !== undefined) this.schedule(order, attempt + 1, this.sandbox.clock.scaled(wait));
  }

  /** One POST; true when the merchant answered the SUCCESS XML. */
  private async deliver(order: OrderRecord, attempt: number, kind: Kind, copy: number): Promise<boolean> {
    const started = Date.now();
    const entry: NotificationAttempt = {
      at: new Date(this.sandbox.clock.now()).toISOString(),
      attempt,
      kind,
      copy,
      outcome: 'error',
    };
    try {
      const v3 = order.api === 'v3' ? v3Notification(this.sandbox, order, kind) : undefined;
      if (v3) entry.serial = v3.serial;
      const res = await fetch(order.notifyUrl, {
        method: 'POST',
        headers: v3?.headers ?? {
          'content-type': 'text/xml; charset=utf-8',
          'user-agent': 'Mozilla/4.0 mp-pay-sandbox',
        },
        body: v3?.body ?? this.body(order, kind),
        signal: AbortSignal.any([
          AbortSignal.timeout(this.sandbox.config.notifyTimeoutMs),
          this.sandbox.shutdown.signal,
        ]),
      });
      const reply = await readCapped(res, MAX_REPLY_BYTES);
      entry.httpStatus = res.status;
      entry.reply = reply.slice(0, REPLY_EXCERPT);
      const accepted = v3
        ? isV3Acknowledgement(res.status, reply)
        : res.status === 200 && isSuccessReply(reply);
      entry.outcome = accepted ? 'acknowledged' : 'rejected';
    } catch (err) {
      entry.error = describe(err);
    }
    entry.durationMs = Date.now() - started;
    this.record(order, entry);
    return entry.outcome === 'acknowledged' && !kind.startsWith('forged-');
  }

  /** Built by the same factory the server's tests and the benchmarks use, so all of them see one shape. */
  private body(order: OrderRecord, kind: Kind): string {
    const account = this.sandbox.accounts.merchant(order.mchId);
    if (!account) throw new Error(`merchant ${order.mchId} is no longer configured`);
    if (!order.transactionId || !order.timeEnd) throw new Error(`order ${order.outTradeNo} is not paid`);
    if (order.signType === 'RSA') throw new Error(`order ${order.outTradeNo} was placed with APIv3`);
    // Validly signed but for another amount: only the merchant's own amount check catches it.
    const forgedFee = kind === 'forged-wrong-amount' ? (order.totalFee === 1 ? 2 : 1) : undefined;
    return signedPaymentNotification({
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
    }).xml;
  }

  private record(order: OrderRecord, entry: NotificationAttempt): void {
    order.notifications.push(entry);
    if (order.notifications.length > MAX_RECORDED_ATTEMPTS) order.notifications.shift();
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

import { z } from 'zod';
import { BoundedMap } from './state.ts';

/**
 * Fault injection: the failure modes of the real WeChat that a merchant must survive, switched on per merchant
 * (mch_id) or per order (out_trade_no) for the pay API and notifications, and per mini-program (appid) for
 * login. An order's settings override its merchant's, field by field.
 */
export const FORGERIES = [
  'bad-sign',
  'wrong-amount',
  'signtest',
  'stale-timestamp',
  'unknown-serial',
  'tampered-ciphertext',
] as const;
export type Forgery = (typeof FORGERIES)[number];
/** The forgeries that only exist in APIv3 (ignored for v2 orders). */
export const V3_ONLY_FORGERIES: readonly Forgery[] = [
  'signtest',
  'stale-timestamp',
  'unknown-serial',
  'tampered-ciphertext',
];

export const faultSettingsSchema = z
  .object({
    /** true: never deliver notifications; a number: lose that many attempts, then deliver normally. */
    dropNotifications: z.union([z.boolean(), z.number().int().min(0).max(100)]),
    /** Send the notification this many extra times after it was acknowledged (WeChat does re-send). */
    duplicateNotifications: z.number().int().min(0).max(20),
    /** Deliver every attempt as this many simultaneous copies (several WeChat servers at once). */
    concurrentNotifications: z.number().int().min(1).max(20),
    /** Wait this long (ms, not scaled) before the first notification. */
    notifyDelayMs: z.number().int().min(0).max(600_000),
    /**
     * Share of pay API calls (0..1) answered with SYSTEMERROR (v2 err_code; v3 HTTP 500 SYSTEM_ERROR) without
     * doing anything.
     */
    systemErrorRate: z.number().min(0).max(1),
    /** Share of APIv3 calls (0..1) answered HTTP 429 FREQUENCY_LIMITED without doing anything. */
    frequencyLimitedRate: z.number().min(0).max(1),
    /** Delay every /pay/* reply by this many ms. */
    slowReplyMs: z.number().int().min(0).max(120_000),
    /**
     * Before the genuine notification, send a forged or faulty one: bad signature, or validly signed but wrong
     * amount (v2 and v3); v3 only: a WECHATPAY/SIGNTEST/ probe, a stale Wechatpay-Timestamp, an unknown
     * Wechatpay-Serial, a tampered ciphertext (signature valid, GCM tag broken).
     */
    forgeNotification: z.enum(FORGERIES),
    /**
     * How the order's refunds end once their processing delay is over (read then, so it may be set after the
     * refund was requested): success (default), abnormal (v2 CHANGE, v3 ABNORMAL: the money could not reach
     * the buyer) or closed (v2 REFUNDCLOSE, v3 CLOSED: the money goes back to the merchant).
     */
    refundOutcome: z.enum(['success', 'abnormal', 'closed']),
    /** The merchant's balance cannot cover refunds: v2 NOTENOUGH, v3 403 NOT_ENOUGH, nothing done. */
    refundNotEnough: z.boolean(),
    /** Pay part of the order with a coupon, so notifications carry coupon_* fields (raw-map verification). */
    coupon: z.object({
      fee: z.number().int().positive(),
      type: z.enum(['CASH', 'NO_CASH']).default('NO_CASH'),
      id: z
        .string()
        .regex(/^[0-9A-Za-z]{1,20}$/)
        .default('10000001'),
    }),
  })
  .partial()
  .strict();

export type FaultSettings = z.infer<typeof faultSettingsSchema>;

/** Login faults, per mini-program (appid): what jscode2session does when WeChat has a bad day. */
export const loginFaultSettingsSchema = z
  .object({
    /** Share of jscode2session calls (0..1) answered with errcode -1 (system busy), the code left unused. */
    systemErrorRate: z.number().min(0).max(1),
    /** Delay every jscode2session reply by this many ms. */
    slowReplyMs: z.number().int().min(0).max(120_000),
  })
  .partial()
  .strict();

export type LoginFaultSettings = z.infer<typeof loginFaultSettingsSchema>;

export const faultRequestSchema = z.union([
  z.object({ mch_id: z.string().min(1), faults: faultSettingsSchema }).strict(),
  z.object({ out_trade_no: z.string().min(1), faults: faultSettingsSchema }).strict(),
  z.object({ appid: z.string().min(1), faults: loginFaultSettingsSchema }).strict(),
]);

export type FaultTarget = { mch_id: string } | { out_trade_no: string };
type ClearTarget = Partial<{ mch_id: string; out_trade_no: string; appid: string }>;

export class Faults {
  // Bounded like the rest of the state: the keys come from HTTP callers and need not name a known merchant,
  // order or app (settings may precede the order), so an unbounded map would grow with every new key.
  readonly #byMerchant = new BoundedMap<string, FaultSettings>(1_000);
  readonly #byOrder = new BoundedMap<string, FaultSettings>(10_000);
  readonly #byApp = new BoundedMap<string, LoginFaultSettings>(1_000);

  set(target: FaultTarget, settings: FaultSettings): void {
    if ('mch_id' in target) this.#byMerchant.set(target.mch_id, settings);
    else this.#byOrder.set(target.out_trade_no, settings);
  }

  setLogin(appid: string, settings: LoginFaultSettings): void {
    this.#byApp.set(appid, settings);
  }

  clear(target: ClearTarget = {}): void {
    if (!target.mch_id && !target.out_trade_no && !target.appid) {
      this.#byMerchant.clear();
      this.#byOrder.clear();
      this.#byApp.clear();
      return;
    }
    if (target.mch_id) this.#byMerchant.delete(target.mch_id);
    if (target.out_trade_no) this.#byOrder.delete(target.out_trade_no);
    if (target.appid) this.#byApp.delete(target.appid);
  }

  forLogin(appid: string): LoginFaultSettings {
    return this.#byApp.get(appid) ?? {};
  }

  /** The effective settings for a call: merchant-wide ones, overridden by the order's. */
  for(mchId: string | undefined, outTradeNo: string | undefined): FaultSettings {
    return {
      ...(mchId === undefined ? {} : this.#byMerchant.get(mchId)),
      ...(outTradeNo === undefined ? {} : this.#byOrder.get(outTradeNo)),
    };
  }

  list(): {
    merchants: Record<string, FaultSettings>;
    orders: Record<string, FaultSettings>;
    apps: Record<string, LoginFaultSettings>;
  } {
    return {
      merchants: Object.fromEntries(this.#byMerchant),
      orders: Object.fromEntries(this.#byOrder),
      apps: Object.fromEntries(this.#byApp),
    };
  }
}

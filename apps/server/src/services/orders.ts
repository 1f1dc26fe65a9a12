/**
 * Order business rules: pricing from the catalogue, creation with idempotency, payment attempts and their
 * launches, owner-only reads, refresh of stale PENDING orders, buyer close. WeChat is reached through the gateway
 * (ctx.pay) only; its failures arrive as GatewayError reasons (docs/architecture.md).
 */
import { createHash } from 'node:crypto';
import {
  ORDER_FILTER_STATUSES,
  type Order,
  type OrderItemInput,
  type OrderListFilter,
  type OrderListResponse,
  type OrderStatus,
  type PaymentChannel,
  type PaymentLaunch,
  type SubOrderView,
} from '@mp-pay/shared/api';
import type { AppContext } from '../context.ts';
import {
  attemptOutTradeNo,
  MAX_COMBINE_ATTEMPTS,
  MAX_SUB_ORDERS,
  subOrderOutTradeNo,
} from '../domain/ids.ts';
import { AppError } from '../errors.ts';
import { isPublicIp } from '../domain/public-ip.ts';
import { GatewayError, isPlaced, type Prepared, type PrepareRequest } from '../gateway/index.ts';
import type { Logger } from '../logger.ts';
import { decodeCursor, encodeCursor } from '../store/codec.ts';
import type {
  AttemptRecord,
  ListPosition,
  NewAttempt,
  OrderPage,
  OrderRecord,
  RefundRecord,
  SubOrderSpec,
} from '../store/index.ts';
import type { PricedPart } from './catalog.ts';
import { combinePart, tradeRefOf } from './combine.ts';
import { payerFor } from './channels.ts';
import {
  CLOSE_MIN_AGE_MS,
  closeOrderAtWechat,
  closeOrderLater,
  reconcileAttempt,
  refreshOrder,
} from './payments.ts';
import { toRefundSummary } from './refunds.ts';
import type { Session } from './sessions.ts';
import { toPaidMessageView } from './subscribe-messages.ts';

/** The client's view: no openid, no prepay_id, no internal bookkeeping. */
export function toApiOrder(order: OrderRecord): Order {
  const out: Order = {
    id: order.id,
    outTradeNo: order.paidAttempt ?? order.currentAttempt,
    status: order.status,
    description: order.description,
    items: order.items,
    totalFen: order.totalFen,
    createdAt: new Date(order.createdAt).toISOString(),
    expiresAt: new Date(order.expiresAt).toISOString(),
  };
  if (order.paidAt !== undefined) out.paidAt = new Date(order.paidAt).toISOString();
  if (order.closedAt !== undefined) out.closedAt = new Date(order.closedAt).toISOString();
  if (order.transactionId !== undefined) out.transactionId = order.transactionId;
  const request = order.refundRequest;
  if (request !== undefined) {
    out.refundRequest = {
      state: request.state,
      reason: request.reason,
      requestedAt: new Date(request.requestedAt).toISOString(),
      ...(request.decidedAt === undefined ? {} : { decidedAt: new Date(request.decidedAt).toISOString() }),
    };
  }
  if (order.paidMessage !== undefined) out.paidMessage = toPaidMessageView(order.paidMessage);
  if (order.paidFen !== undefined) out.partiallyPaidFen = order.paidFen;
  return out;
}

export interface CreateOrderInput {
  session: Session;
  items: OrderItemInput[];
  channel: PaymentChannel;
  clientIp: string;
  idempotencyKey: string | undefined;
}

export async function createOrder(ctx: AppContext, input: CreateOrderInput, log: Logger) {
  const priced = ctx.catalog.price(input.items);
  const split = splitOf(priced.parts, ctx.pay.combine);
  const payer = payerFor(ctx, input.channel, input.session);
  checkBuyerIp(ctx, input.channel, input.clientIp);
  const now = ctx.now();
  // Minted into its idempotency key's shard, so one script writes both (src/store/shards.ts).
  const id = ctx.store.ids.orderId(now, input.session.userId, input.idempotencyKey);
  // Whole seconds, so the stored expiry is exactly the time_expire WeChat gets.
  const expiresAt = Math.ceil((now + ctx.config.orders.ttlSeconds * 1000) / 1000) * 1000;
  const order = {
    id,
    userId: input.session.userId,
    description: priced.description,
    items: priced.lines,
    totalFen: priced.totalFen,
    createdAt: now,
    expiresAt,
  };
  const first = newAttempt(ctx, order, 1, input.channel, payer, input.clientIp, now, split);
  const result = await ctx.store.orders.createOrder(order, first, {
    ...(input.idempotencyKey === undefined ? {} : { idempotencyKey: input.idempotencyKey }),
    fingerprint: fingerprint(input.items, input.channel),
    idempotencyTtlSeconds: ctx.config.orders.idempotencyTtlSeconds,
    queryDueAt: now + ctx.config.worker.queryDelayMs,
  });
  if (result.kind === 'conflict') throw new AppError('idempotency_conflict');
  const stored = result.order;
  log.info(
    { orderId: stored.id, totalFen: stored.totalFen, replayed: result.kind === 'replayed' },
    'order created',
  );
  if (stored.status === 'PAID') throw new AppError('order_already_paid');
  if (stored.status === 'CLOSED') throw new AppError('order_closed');
  const issued = await issuePayment(
    ctx,
    stored,
    input.session,
    input.clientIp,
    log,
    undefined,
    result.kind === 'created' ? result.attempt : undefined,
  );
  return {
    // Only a combine has sub-orders to show: no extra read on the hot path of ordinary orders.
    order: split.kind === 'combine' ? await orderView(ctx, issued.order, []) : toApiOrder(issued.order),
    payment: issued.payment,
    replayed: result.kind === 'replayed',
  };
}

/**
 * Who is paid for an order (docs/combine.md): the shop's own merchant, one other merchant (its own trade, placed
 * with its credentials), or several: a combine payment with one sub-order per merchant. Fixed with the first
 * attempt; later attempts of the order repeat it (splitOfAttempt), whatever the catalogue says by then.
 */
export type Split =
  | { kind: 'single'; mchid: string | undefined }
  | { kind: 'combine'; parts: Omit<SubOrderSpec, 'outTradeNo'>[] };

export function splitOf(parts: readonly PricedPart[], combineAvailable: boolean): Split {
  const own = parts.length === 1 && parts[0]?.seller === 'main';
  if (own) return { kind: 'single', mchid: undefined };
  // The catalogue offers other merchants' goods only when this gateway can take their payments (APIv3).
  if (!combineAvailable) {
    throw new AppError(
      'channel_not_available',
      'Goods of other merchants need APIv3 (WECHATPAY_API_VERSION=v3).',
    );
  }
  if (parts.length > MAX_SUB_ORDERS) {
    throw new AppError(
      'invalid_request',
      `One order can pay at most ${MAX_SUB_ORDERS} merchants at once; split the cart into several orders.`,
    );
  }
  const [only] = parts;
  if (parts.length === 1 && only !== undefined) return { kind: 'single', mchid: only.mchid };
  return {
    kind: 'combine',
    parts: parts.map((part) => ({
      mchid: part.mchid,
      merchant: part.seller,
      totalFen: part.totalFen,
      description: part.description,
    })),
  };
}

function splitOfAttempt(attempt: AttemptRecord | undefined): Split {
  if (attempt?.combine !== undefined) {
    return {
      kind: 'combine',
      parts: attempt.combine.subOrders.map(({ outTradeNo: _no, ...part }) => part),
    };
  }
  return { kind: 'single', mchid: attempt?.mchid };
}

/** Same items and channel, same request: order-insensitive so a client may reorder lines on retry. */
function fingerprint(items: OrderItemInput[], channel: PaymentChannel): string {
  const canonical = [...items]
    .map((i) => [i.productId, i.quantity] as const)
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] - b[1]));
  // The default channel hashes as before, so keys issued before channels existed still replay.
  const what = channel === 'miniprogram' ? canonical : { channel, items: canonical };
  return createHash('sha256').update(JSON.stringify(what)).digest('hex');
}

function newAttempt(
  ctx: AppContext,
  order: Pick<OrderRecord, 'id' | 'description' | 'totalFen' | 'expiresAt'>,
  seq: number,
  channel: PaymentChannel,
  payer: { appId: string; payerOpenid: string | undefined },
  clientIp: string,
  now: number,
  split: Split,
): NewAttempt {
  return {
    ...(split.kind === 'single' && split.mchid !== undefined ? { mchid: split.mchid } : {}),
    ...(split.kind === 'combine'
      ? {
          combine: {
            subOrders: split.parts.map((part, i) => ({
              outTradeNo: subOrderOutTradeNo(order.id, seq, i),
              ...part,
            })),
          },
        }
      : {}),
    outTradeNo: attemptOutTradeNo(order.id, seq),
    orderId: order.id,
    seq,
    channel,
    apiVersion: ctx.pay.apiVersion,
    signType: ctx.pay.defaultSignType,
    appId: payer.appId,
    ...(payer.payerOpenid === undefined ? {} : { payerOpenid: payer.payerOpenid }),
    totalFen: order.totalFen,
    description: order.description,
    clientIp,
    notifyUrl: ctx.notifyUrl(),
    // Kept like clientIp and notifyUrl: a re-placed H5 trade must send the scene_info it was placed with.
    ...(channel === 'h5' ? { h5Scene: currentH5Scene(ctx) } : {}),
    createdAt: now,
    expiresAt: order.expiresAt,
  };
}

/**
 * WeChat refuses a time_expire closer than this (every trade type; the sandbox enforces the same rule): a trade
 * not placed by then cannot be placed any more. Also the Native scan's cut-off (services/native-scan.ts).
 */
export const MIN_EXPIRE_LEAD_MS = 5 * 60_000;

/**
 * The launch for a PENDING order: its open attempt's prepay_id signed afresh (docs/protocol.md §4) with the
 * attempt's own sign type and AppID. A prepay_id lives 2 hours, as long as the longest order, so it is reused
 * rather than re-placed (WeChat would refuse a re-submission in the order's last 5 minutes). The trade is placed
 * again, with byte-identical parameters, only when no prepay_id was recorded (the first try failed). An attempt
 * that ended (the payment failed at WeChat) is replaced by a new one with a new out_trade_no.
 */
export async function issuePayment(
  ctx: AppContext,
  order: OrderRecord,
  session: Session,
  clientIp: string,
  log: Logger,
  channel?: PaymentChannel,
  /** The order's current attempt when the caller holds it already (just written, or just read). */
  current?: AttemptRecord,
): Promise<{ order: OrderRecord; payment: PaymentLaunch }> {
  // Past time_expire WeChat refuses to pay: parameters issued now could only fail in the buyer's hands.
  if (ctx.now() >= order.expiresAt) throw new AppError('order_closed');
  let attempt =
    current?.outTradeNo === order.currentAttempt
      ? current
      : await ctx.store.attempts.getAttempt(order.currentAttempt);
  if (!attempt || attempt.state !== 'OPEN') {
    ({ order, attempt } = await openNextAttempt(ctx, order, attempt, session, clientIp, log, false, channel));
  } else if (attempt.apiVersion !== ctx.pay.apiVersion) {
    // Placed through the other API version (a v2 → v3 migration with open orders): its launch can only be
    // signed by that version's rules, so this process replaces it; the old trade is closed at WeChat.
    ({ order, attempt } = await openNextAttempt(ctx, order, attempt, session, clientIp, log, true, channel));
  } else if (channel !== undefined && channel !== attempt.channel) {
    // The buyer moved (desktop QR → phone, say): a new trade for the new channel; the old one is closed at
    // WeChat later (docs/channels.md).
    await checkSwitches(ctx, order);
    ({ order, attempt } = await openNextAttempt(ctx, order, attempt, session, clientIp, log, true, channel));
  } else if (attempt.channel === 'h5' && clientIp !== attempt.clientIp) {
    // WeChat's cashier opens only from the address the trade names, and a re-placed trade must repeat it: a
    // buyer whose address changed (Wi-Fi → mobile data) gets a new H5 trade bound to the new one; the old one
    // is closed at WeChat later (docs/channels.md "H5").
    await checkSwitches(ctx, order);
    ({ order, attempt } = await openNextAttempt(ctx, order, attempt, session, clientIp, log, true, 'h5'));
  }
  const prepared = reusable(ctx, order, attempt) ?? (await placeTrade(ctx, order, attempt, log));
  return {
    order,
    payment: ctx.pay.launch({
      ...tradeRefOf(attempt),
      channel: attempt.channel,
      signType: attempt.signType,
      prepared,
      ...(attempt.channel === 'h5' ? { returnUrl: resultPageUrl(ctx, order.id) } : {}),
    }),
  };
}

/** WeChat's mweb_url / h5_url lives 5 minutes; one older than this is re-placed for a fresh one. */
export const H5_URL_REFRESH_MS = 270_000;
/** How long WeChat's mweb_url / h5_url works (docs/channels.md "H5"). */
const H5_URL_LIFETIME_MS = 300_000;

/**
 * How many times one order may change its trade for the buyer's sake (another channel, an H5 buyer's new address):
 * each change is a new trade at WeChat and a closeorder later, so a client looping on switches is stopped well
 * before the attempt numbers (MAX_ATTEMPTS_PER_ORDER) run out; a real buyer needs a handful at most.
 */
export const MAX_PAYMENT_SWITCHES = 10;

async function checkSwitches(ctx: AppContext, order: OrderRecord): Promise<void> {
  const attempts = await ctx.store.attempts.listAttempts(order.id);
  const switches = attempts.filter((a) => a.endReason === 'superseded').length;
  if (switches >= MAX_PAYMENT_SWITCHES) {
    throw new AppError(
      'order_closed',
      `This order changed its way of paying ${MAX_PAYMENT_SWITCHES} times already and takes no more changes.`,
    );
  }
}

/**
 * What the open attempt already has that can be launched again. An H5 URL due for a refresh is re-placed, except
 * in the order's last 5 minutes, when WeChat would refuse: then the URL is still handed out while it lives, as the
 * mini-program's prepay_id is (the close queue ends the order at expiry).
 */
function reusable(ctx: AppContext, order: OrderRecord, attempt: AttemptRecord): Prepared | undefined {
  if (attempt.prepared === undefined) return undefined;
  if (!isStale(ctx, attempt)) return attempt.prepared;
  const late = order.expiresAt - ctx.now() < MIN_EXPIRE_LEAD_MS;
  const alive = attempt.preparedAt !== undefined && ctx.now() - attempt.preparedAt < H5_URL_LIFETIME_MS;
  return late && alive ? attempt.prepared : undefined;
}

/**
 * An H5 attempt's redirect URL about to expire (or of unknown age) is re-placed: identical parameters, which
 * WeChat answers with a fresh URL for the same trade (docs/channels.md "H5"). Other launches do not expire
 * before the order does.
 */
function isStale(ctx: AppContext, attempt: AttemptRecord): boolean {
  if (attempt.channel !== 'h5') return false;
  return attempt.preparedAt === undefined || ctx.now() - attempt.preparedAt > H5_URL_REFRESH_MS;
}

/** Where WeChat's H5 cashier sends the buyer back: the web checkout's result page, which asks the server. */
export function resultPageUrl(ctx: AppContext, orderId: string): string {
  return `${ctx.publicBaseUrl()}/shop/result.html?order=${encodeURIComponent(orderId)}`;
}

/**
 * H5 with H5_REQUIRE_PUBLIC_IP: WeChat compares the address the trade names with the one that opens the cashier,
 * so a private or missing one can only fail there; say why here, before WeChat sees it.
 */
function checkBuyerIp(ctx: AppContext, channel: PaymentChannel, ip: string): void {
  if (channel !== 'h5' || !ctx.config.channels.h5.requirePublicIp || isPublicIp(ip)) return;
  throw new AppError(
    'invalid_request',
    "H5 payments need the buyer's public IP; behind a proxy set TRUST_PROXY.",
  );
}

/** The H5 scene_info a new attempt is placed with (H5_WAP_URL / H5_WAP_NAME, docs/channels.md "H5"). */
function currentH5Scene(ctx: AppContext): { wapUrl: string; wapName: string } {
  const h5 = ctx.config.channels.h5;
  return { wapUrl: h5.wapUrl ?? `${ctx.publicBaseUrl()}/shop/`, wapName: h5.wapName };
}

/** Everything WeChat is sent to place an attempt's trade, always the same for the same attempt. */
export function prepareRequestOf(ctx: AppContext, attempt: AttemptRecord): PrepareRequest {
  return {
    ...tradeRefOf(attempt),
    ...combinePart(attempt),
    channel: attempt.channel,
    signType: attempt.signType,
    description: attempt.description,
    totalFen: attempt.totalFen,
    payerOpenid: attempt.payerOpenid,
    productId: attempt.orderId,
    // Attempts stored before the scene was kept fall back to the current setting.
    h5: attempt.h5Scene ?? currentH5Scene(ctx),
    clientIp: attempt.clientIp,
    notifyUrl: attempt.notifyUrl,
    createdAt: attempt.createdAt,
    expiresAt: attempt.expiresAt,
  };
}

async function openNextAttempt(
  ctx: AppContext,
  order: OrderRecord,
  previous: AttemptRecord | undefined,
  session: Session,
  clientIp: string,
  log: Logger,
  supersede: boolean,
  requested?: PaymentChannel,
): Promise<{ order: OrderRecord; attempt: AttemptRecord }> {
  const now = ctx.now();
  if (order.expiresAt - now < MIN_EXPIRE_LEAD_MS) throw tooLate();
  const channel = requested ?? previous?.channel ?? 'miniprogram';
  checkBuyerIp(ctx, channel, clientIp);
  const split = splitOfAttempt(previous);
  // A combine's sub-order numbers hold the attempt number in one character (domain/ids.ts).
  if (split.kind === 'combine' && order.attemptCount >= MAX_COMBINE_ATTEMPTS) {
    log.warn({ orderId: order.id }, 'combine order has used every payment attempt');
    throw new AppError('order_closed');
  }
  const next = newAttempt(
    ctx,
    order,
    order.attemptCount + 1,
    channel,
    payerFor(ctx, channel, session),
    clientIp,
    now,
    split,
  );
  const opened = await ctx.store.attempts.openAttempt(next, {
    supersede,
    queryDueAt: now + ctx.config.worker.queryDelayMs,
    closeDueAt: now + CLOSE_MIN_AGE_MS,
    now,
  });
  switch (opened.kind) {
    case 'opened':
      log.info(
        { orderId: order.id, outTradeNo: next.outTradeNo, previous: previous?.outTradeNo },
        'new payment attempt',
      );
      return {
        order: { ...order, currentAttempt: next.outTradeNo, attemptCount: order.attemptCount + 1 },
        attempt: opened.attempt,
      };
    case 'open_exists': {
      // Another request opened one meanwhile: use it.
      const attempt = await ctx.store.attempts.getAttempt(opened.outTradeNo);
      if (!attempt) throw new AppError('order_not_found');
      return { order: { ...order, currentAttempt: attempt.outTradeNo }, attempt };
    }
    case 'not_pending':
      throw new AppError(opened.status === 'PAID' ? 'order_already_paid' : 'order_closed');
    case 'too_many':
      log.warn({ orderId: order.id }, 'order has used every payment attempt');
      throw new AppError('order_closed');
    case 'not_found':
      throw new AppError('order_not_found');
  }
}

/**
 * A PENDING order in its last 5 minutes that needs a new trade or a new H5 URL: WeChat refuses a time_expire that
 * close, so it can never be paid; order_closed (the client's "place a new order"), with the honest reason.
 */
function tooLate(): AppError {
  return new AppError(
    'order_closed',
    'It is still open but expires in less than 5 minutes: too late for WeChat Pay to start a payment for it.',
  );
}

async function placeTrade(ctx: AppContext, order: OrderRecord, attempt: AttemptRecord, log: Logger) {
  // A trade whose placing never went through (or an H5 URL that expired), this late, cannot be placed any more:
  // the order is as good as closed (the close queue closes it at WeChat and here at expiry). Said as it is.
  if (order.expiresAt - ctx.now() < MIN_EXPIRE_LEAD_MS) throw tooLate();
  // The attempt's address was checked when it opened; an attempt stored before the rule (or under another
  // setting) is checked again before WeChat sees it.
  checkBuyerIp(ctx, attempt.channel, attempt.clientIp);
  let prepared;
  try {
    prepared = await ctx.pay.prepare(prepareRequestOf(ctx, attempt));
  } catch (err) {
    throw await placeTradeError(ctx, order, attempt, err, log);
  }
  const recorded = await ctx.store.attempts.setPrepared(attempt.outTradeNo, prepared, ctx.now());
  if (recorded.kind === 'not_open') {
    if (recorded.orderStatus === 'PAID') throw new AppError('order_already_paid');
    if (recorded.orderStatus === 'CLOSED') throw new AppError('order_closed');
    // The attempt ended meanwhile (its payment failed): the buyer asks again and gets a new one.
    throw new AppError('payment_unavailable');
  }
  if (recorded.kind === 'not_found') throw new AppError('order_not_found');
  return prepared;
}

export async function placeTradeError(
  ctx: AppContext,
  order: OrderRecord,
  attempt: AttemptRecord,
  err: unknown,
  log: Logger,
): Promise<unknown> {
  if (!(err instanceof GatewayError)) return err;
  const where = { orderId: order.id, outTradeNo: attempt.outTradeNo, code: err.wechatCode };
  switch (err.reason) {
    case 'already_paid':
      await reconcileAttempt(ctx, attempt, log).catch((e: unknown) =>
        log.warn({ ...where, err: e }, 'orderquery after ORDERPAID failed'),
      );
      return new AppError('order_already_paid', undefined, { cause: err });
    case 'closed':
      await ctx.store.orders.markClosed(order.id, {
        closedAt: ctx.now(),
        reason: 'wechat_closed',
        closedAttempt: attempt.outTradeNo,
      });
      return new AppError('order_closed', undefined, { cause: err });
    case 'unavailable':
    case 'bad_reply':
      log.warn({ ...where, err: err.message }, 'placing the trade failed, retryable');
      return new AppError('payment_unavailable', undefined, { cause: err });
    default:
      // Signature, merchant or parameter errors are ours to fix: the client gets internal_error, the log the detail.
      log.error({ ...where, err }, 'WeChat Pay refused to place the trade');
      return err;
  }
}

export async function getOwnOrder(ctx: AppContext, userId: string, id: string): Promise<OrderRecord> {
  const order = await ctx.store.orders.getOrder(id);
  // Someone else's order is indistinguishable from a missing one: no probing of order ids.
  if (!order || order.userId !== userId) throw new AppError('order_not_found');
  return order;
}

/**
 * GET /api/orders/:id: a PENDING order older than a few seconds is checked with WeChat first (the notification
 * may be late or lost), through the same transitions as a notification. WeChat being down is not the buyer's
 * problem: the stored state is returned.
 */
export async function readOrder(ctx: AppContext, userId: string, id: string, log: Logger): Promise<Order> {
  const order = await getOwnOrder(ctx, userId, id);
  const now = ctx.now();
  if (order.paidAttempt !== undefined) {
    // A paid order shows its refunds (each is the buyer's money on its way back).
    const refunds = await ctx.store.refunds.listRefunds(order.id);
    return { ...(await orderView(ctx, order, refunds)), refunds: refunds.map(toRefundSummary) };
  }
  if (
    order.status !== 'PENDING' ||
    now - order.createdAt < ctx.config.orders.refreshAfterMs ||
    !ctx.queryThrottle.take(order.id, now)
  ) {
    return orderView(ctx, order);
  }
  try {
    await refreshOrder(ctx, order, log);
  } catch (err) {
    log.warn({ orderId: id, err }, 'orderquery failed; answering with the stored state');
    return orderView(ctx, order);
  }
  return orderView(ctx, (await ctx.store.orders.getOrder(id)) ?? order);
}

/**
 * The order as one buyer's read shows it: with a combine's sub-orders (the paying combine, or else the one on
 * offer), each with its merchant and its own state, refunds included (docs/combine.md).
 */
export async function orderView(
  ctx: AppContext,
  order: OrderRecord,
  refunds?: readonly RefundRecord[],
): Promise<Order> {
  const view = toApiOrder(order);
  const combine = await ctx.store.attempts.getAttempt(order.paidAttempt ?? order.currentAttempt);
  if (combine?.subs === undefined) return view;
  // In the combine's own order (one sub-order per merchant, as placed).
  const byNo = new Map((await ctx.store.attempts.listAttempts(order.id)).map((a) => [a.outTradeNo, a]));
  const subs = combine.subs.map((no) => byNo.get(no)).filter((a) => a !== undefined);
  const refunded = new Map<string, number>();
  for (const r of refunds ?? (await ctx.store.refunds.listRefunds(order.id))) {
    if (r.state === 'SUCCESS') refunded.set(r.outTradeNo, (refunded.get(r.outTradeNo) ?? 0) + r.refundFen);
  }
  const names = new Map([...ctx.catalog.sellers.values()].map((s) => [s.mchid, s.name]));
  view.subOrders = subs.map((sub) => {
    const back = refunded.get(sub.outTradeNo) ?? 0;
    const state: SubOrderView['state'] =
      sub.state === 'PAID'
        ? back >= sub.totalFen
          ? 'REFUNDED'
          : back > 0
            ? 'PARTIALLY_REFUNDED'
            : 'PAID'
        : sub.state === 'CLOSED'
          ? 'CLOSED'
          : 'PENDING';
    return {
      outTradeNo: sub.outTradeNo,
      mchid: sub.mchid ?? '',
      merchantName: names.get(sub.mchid ?? '') ?? sub.mchid ?? '',
      totalFen: sub.totalFen,
      state,
      ...(sub.transactionId === undefined ? {} : { transactionId: sub.transactionId }),
    };
  });
  return view;
}

/** The position a page's cursor names (undefined: from the newest); a cursor not minted here is refused. */
function positionOf(cursor: string | undefined): ListPosition | undefined {
  if (cursor === undefined) return undefined;
  const after = decodeCursor(cursor);
  if (after === undefined) throw new AppError('invalid_request', 'Unknown cursor.');
  return after;
}

/** A store page as the API lists it: the orders and the cursor of the next page (null on the last). */
function pageOf(page: OrderPage): OrderListResponse {
  const last = page.orders.at(-1);
  return {
    orders: page.orders.map(toApiOrder),
    nextCursor: page.hasMore && last ? encodeCursor({ createdAt: last.createdAt, id: last.id }) : null,
  };
}

/** GET /admin/orders?status=: every order in a status, newest first (the staff's list). */
export async function listOrdersByStatus(
  ctx: AppContext,
  status: OrderStatus,
  page: { limit: number; cursor: string | undefined },
): Promise<OrderListResponse> {
  return pageOf(
    await ctx.store.orders.listByStatus(status, { limit: page.limit, after: positionOf(page.cursor) }),
  );
}

export async function listOrders(
  ctx: AppContext,
  userId: string,
  page: { limit: number; cursor: string | undefined; filter?: OrderListFilter | undefined },
): Promise<OrderListResponse> {
  let after = positionOf(page.cursor);
  if (page.filter === undefined) {
    return pageOf(await ctx.store.orders.listOrders(userId, { limit: page.limit, after }));
  }
  // A status tab: the buyer's own index is read in batches and filtered here. The per-status indexes are global
  // (the staff's lists), and a buyer has few orders, so a bounded scan beats a per-buyer-per-status index that
  // every transition would have to keep. A scan that reaches its budget ends the page early: the page may be
  // short (even empty) with a cursor to go on from.
  const wanted = ORDER_FILTER_STATUSES[page.filter];
  const matched: OrderRecord[] = [];
  let scanned = 0;
  let hasMore = true;
  while (matched.length < page.limit && scanned < FILTER_SCAN_BUDGET && hasMore) {
    const batch = await ctx.store.orders.listOrders(userId, { limit: FILTER_BATCH, after });
    hasMore = batch.hasMore;
    for (const order of batch.orders) {
      scanned++;
      after = { createdAt: order.createdAt, id: order.id };
      if (!wanted.includes(order.status)) continue;
      matched.push(order);
      if (matched.length === page.limit) {
        // Orders after this one in the batch are read again by the next page.
        hasMore = true;
        break;
      }
    }
    if (batch.orders.length === 0) hasMore = false;
  }
  return {
    orders: matched.map(toApiOrder),
    nextCursor: hasMore && after ? encodeCursor(after) : null,
  };
}

/** Orders read per batch, and at most per request, when filtering a buyer's list by status. */
const FILTER_BATCH = 50;
const FILTER_SCAN_BUDGET = 500;

/**
 * POST /api/orders/:id/payment: a launch for the order while it can still be paid. The buyer asks for this after
 * a payment did not complete, so the open attempt is checked with WeChat first: a failed payment (PAYERROR) must
 * get a new trade, not the same refused parameters again (docs/protocol.md §3).
 */
export async function paymentForOrder(
  ctx: AppContext,
  session: Session,
  id: string,
  clientIp: string,
  log: Logger,
  channel?: PaymentChannel,
) {
  let order = await getOwnOrder(ctx, session.userId, id);
  // The attempt read here is handed on, unless asking WeChat may have changed it.
  let known: AttemptRecord | undefined;
  if (order.status === 'PENDING' && ctx.now() < order.expiresAt) {
    const attempt = await ctx.store.attempts.getAttempt(order.currentAttempt);
    known = attempt;
    if (attempt?.state === 'OPEN' && isPlaced(attempt.prepared)) {
      known = undefined;
      try {
        await refreshOrder(ctx, order, log);
        order = (await ctx.store.orders.getOrder(id)) ?? order;
      } catch (err) {
        // WeChat not answering the query is no reason to refuse parameters it may well accept.
        log.warn({ orderId: id, err }, 'orderquery before re-issuing failed; re-issuing the open attempt');
      }
    }
  }
  if (order.status === 'PAID') throw new AppError('order_already_paid');
  if (order.status === 'CLOSED') throw new AppError('order_closed');
  const issued = await issuePayment(ctx, order, session, clientIp, log, channel, known);
  return { order: toApiOrder(issued.order), payment: issued.payment };
}

/** POST /api/orders/:id/close: closeorder at WeChat, then CLOSED. A paid order stays PAID (409). */
export async function closeOrder(ctx: AppContext, userId: string, id: string, log: Logger): Promise<Order> {
  const order = await getOwnOrder(ctx, userId, id);
  if (order.status === 'PAID') throw new AppError('order_already_paid');
  if (order.status === 'PENDING') {
    let outcome;
    try {
      outcome = await closeOrderAtWechat(ctx, id, 'buyer', log);
    } catch (err) {
      if (!(err instanceof GatewayError)) throw err;
      // WeChat refuses to close a trade younger than 5 minutes: the buyer's cancel still takes effect now,
      // and the close queue closes the trade at WeChat when it may.
      if (err.reason !== 'too_early') {
        if (err.retryable) throw new AppError('payment_unavailable', undefined, { cause: err });
        throw err;
      }
      try {
        outcome = await closeOrderLater(ctx, id, 'buyer', log);
      } catch (later) {
        if (later instanceof GatewayError)
          throw new AppError('payment_unavailable', undefined, { cause: later });
        throw later;
      }
    }
    if (outcome.kind === 'paid') throw new AppError('order_already_paid');
  }
  return toApiOrder((await ctx.store.orders.getOrder(id)) ?? order);
}

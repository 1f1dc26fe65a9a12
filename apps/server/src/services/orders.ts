/**
 * Order business rules: pricing from the catalogue, creation with idempotency, the JSAPI unified order and the
 * re-signed wx.requestPayment parameters, owner-only reads, refresh of stale PENDING orders, buyer close.
 */
import { createHash } from 'node:crypto';
import type { Order, OrderItemInput, OrderListResponse, PaymentParams } from '@mp-pay/shared/api';
import {
  createOutTradeNo,
  formatWechatTime,
  miniProgramPayParams,
  WechatPayError,
  WechatPayInvalidRequestError,
  WechatPayOrderClosedError,
  WechatPayOrderPaidError,
} from '@mp-pay/shared/wechatpay';
import type { AppContext } from '../context.ts';
import { AppError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { decodeCursor, encodeCursor } from '../store/codec.ts';
import type { OrderRecord } from '../store/index.ts';
import { closeAtWechat, reconcile } from './payments.ts';

/** The client's view: no openid, no prepay_id, no internal bookkeeping. */
export function toApiOrder(order: OrderRecord): Order {
  const out: Order = {
    id: order.id,
    outTradeNo: order.outTradeNo,
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
  return out;
}

export interface CreateOrderInput {
  openid: string;
  items: OrderItemInput[];
  clientIp: string;
  idempotencyKey: string | undefined;
}

export async function createOrder(ctx: AppContext, input: CreateOrderInput, log: Logger) {
  const priced = ctx.catalog.price(input.items);
  const now = ctx.now();
  const id = createOutTradeNo(new Date(now));
  // Whole seconds, so the stored expiry is exactly the time_expire WeChat gets.
  const expiresAt = Math.ceil((now + ctx.config.orders.ttlSeconds * 1000) / 1000) * 1000;
  const result = await ctx.store.orders.createOrder(
    {
      id,
      outTradeNo: id,
      openid: input.openid,
      description: priced.description,
      items: priced.lines,
      totalFen: priced.totalFen,
      createdAt: now,
      expiresAt,
      payRequest: {
        body: priced.description,
        spbillCreateIp: input.clientIp,
        notifyUrl: ctx.notifyUrl(),
        timeStart: formatWechatTime(new Date(now)),
        timeExpire: formatWechatTime(new Date(expiresAt)),
      },
    },
    {
      ...(input.idempotencyKey === undefined ? {} : { idempotencyKey: input.idempotencyKey }),
      fingerprint: fingerprint(input.items),
      idempotencyTtlSeconds: ctx.config.orders.idempotencyTtlSeconds,
      queryDueAt: now + ctx.config.worker.queryDelayMs,
    },
  );
  if (result.kind === 'conflict') throw new AppError('idempotency_conflict');
  const order = result.order;
  log.info(
    { orderId: order.id, totalFen: order.totalFen, replayed: result.kind === 'replayed' },
    'order created',
  );
  if (order.status === 'PAID') throw new AppError('order_already_paid');
  if (order.status === 'CLOSED') throw new AppError('order_closed');
  // No re-read afterwards: issuePayment only records a prepay_id (not part of the client's view) and throws
  // when the order stopped being PENDING meanwhile, so `order` is what the buyer should see.
  const payment = await issuePayment(ctx, order, log);
  return {
    order: toApiOrder(order),
    payment,
    replayed: result.kind === 'replayed',
  };
}

/** Same items, same request: order-insensitive so a client may reorder lines on retry. */
function fingerprint(items: OrderItemInput[]): string {
  const canonical = [...items]
    .map((i) => [i.productId, i.quantity] as const)
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] - b[1]));
  return createHash('sha256').update(JSON.stringify(canonical)).digest('hex');
}

/**
 * wx.requestPayment parameters for a PENDING order: its prepay_id re-signed with a fresh timeStamp and nonceStr
 * (wechatpay.md §4). The prepay_id comes from the JSAPI unified order, placed once; it lives 2 hours, as long as
 * the longest order (ORDER_TTL_SECONDS ≤ 7200), so it is reused rather than re-placed: WeChat would refuse a
 * re-submission in the order's last 5 minutes (time_expire too close). The unified order is placed again, with
 * byte-identical parameters, only when no prepay_id was recorded (the first attempt failed).
 */
export async function issuePayment(ctx: AppContext, order: OrderRecord, log: Logger): Promise<PaymentParams> {
  // Past time_expire WeChat refuses to pay the prepay_id: parameters issued now could only fail in the buyer's
  // hands. The order is as good as closed (the expiry job closes it at WeChat and here).
  if (ctx.now() >= order.expiresAt) throw new AppError('order_closed');
  const prepayId = order.prepayId ?? (await placeUnifiedOrder(ctx, order, log));
  return miniProgramPayParams({
    appId: ctx.config.wechat.appId,
    prepayId,
    key: ctx.config.wechatpay.key,
    signType: ctx.config.wechatpay.signType,
  });
}

/** WeChat refuses a JSAPI time_expire closer than this; the sandbox enforces the same rule. */
const MIN_EXPIRE_LEAD_MS = 5 * 60_000;

async function placeUnifiedOrder(ctx: AppContext, order: OrderRecord, log: Logger): Promise<string> {
  // An order whose unified order never went through, retried this late, cannot be placed any more: it is as
  // good as closed (the expiry job closes it at WeChat and here shortly).
  if (order.expiresAt - ctx.now() < MIN_EXPIRE_LEAD_MS) throw new AppError('order_closed');
  const p = order.payRequest;
  let prepayId: string;
  try {
    ({ prepayId } = await ctx.pay.unifiedOrder({
      body: p.body,
      outTradeNo: order.outTradeNo,
      totalFee: order.totalFen,
      spbillCreateIp: p.spbillCreateIp,
      notifyUrl: p.notifyUrl,
      openid: order.openid,
      tradeType: 'JSAPI',
      timeStart: p.timeStart,
      timeExpire: p.timeExpire,
    }));
  } catch (err) {
    throw await unifiedOrderError(ctx, order, err, log);
  }
  const recorded = await ctx.store.orders.setPrepayId(order.id, prepayId);
  if (recorded.kind === 'not_pending') {
    throw new AppError(recorded.status === 'PAID' ? 'order_already_paid' : 'order_closed');
  }
  if (recorded.kind === 'not_found') throw new AppError('order_not_found');
  return prepayId;
}

async function unifiedOrderError(
  ctx: AppContext,
  order: OrderRecord,
  err: unknown,
  log: Logger,
): Promise<unknown> {
  if (err instanceof WechatPayOrderPaidError) {
    await reconcile(ctx, order, log).catch((e: unknown) =>
      log.warn({ err: e, orderId: order.id }, 'orderquery after ORDERPAID failed'),
    );
    return new AppError('order_already_paid', undefined, { cause: err });
  }
  if (err instanceof WechatPayOrderClosedError) {
    await ctx.store.orders.markClosed(order.id, { closedAt: ctx.now(), reason: 'wechat_closed' });
    return new AppError('order_closed', undefined, { cause: err });
  }
  if (err instanceof WechatPayError && err.retryable) {
    log.warn({ orderId: order.id, code: err.code, err: err.message }, 'unifiedorder failed, retryable');
    return new AppError('payment_unavailable', undefined, { cause: err });
  }
  // Signature, merchant or parameter errors are ours to fix: the client gets internal_error, the log the detail.
  log.error({ orderId: order.id, code: (err as WechatPayError).code, err }, 'unifiedorder refused');
  return err;
}

export async function getOwnOrder(ctx: AppContext, openid: string, id: string): Promise<OrderRecord> {
  const order = await ctx.store.orders.getOrder(id);
  // Someone else's order is indistinguishable from a missing one: no probing of order ids.
  if (!order || order.openid !== openid) throw new AppError('order_not_found');
  return order;
}

/**
 * GET /api/orders/:id: a PENDING order older than a few seconds is checked with WeChat first (the notification
 * may be late or lost), through the same transitions as a notification. WeChat being down is not the buyer's
 * problem: the stored state is returned.
 */
export async function readOrder(ctx: AppContext, openid: string, id: string, log: Logger): Promise<Order> {
  const order = await getOwnOrder(ctx, openid, id);
  const now = ctx.now();
  if (
    order.status !== 'PENDING' ||
    now - order.createdAt < ctx.config.orders.refreshAfterMs ||
    !ctx.queryThrottle.take(order.id, now)
  ) {
    return toApiOrder(order);
  }
  try {
    await reconcile(ctx, order, log);
  } catch (err) {
    log.warn({ orderId: id, err }, 'orderquery failed; answering with the stored state');
    return toApiOrder(order);
  }
  return toApiOrder((await ctx.store.orders.getOrder(id)) ?? order);
}

export async function listOrders(
  ctx: AppContext,
  openid: string,
  page: { limit: number; cursor: string | undefined },
): Promise<OrderListResponse> {
  const after = page.cursor === undefined ? undefined : decodeCursor(page.cursor);
  if (page.cursor !== undefined && after === undefined)
    throw new AppError('invalid_request', 'Unknown cursor.');
  const result = await ctx.store.orders.listOrders(openid, { limit: page.limit, after });
  const last = result.orders.at(-1);
  return {
    orders: result.orders.map(toApiOrder),
    nextCursor: result.hasMore && last ? encodeCursor({ createdAt: last.createdAt, id: last.id }) : null,
  };
}

/** POST /api/orders/:id/payment: fresh parameters for the same trade, while it can still be paid. */
export async function paymentForOrder(ctx: AppContext, openid: string, id: string, log: Logger) {
  const order = await getOwnOrder(ctx, openid, id);
  if (order.status === 'PAID') throw new AppError('order_already_paid');
  if (order.status === 'CLOSED') throw new AppError('order_closed');
  const payment = await issuePayment(ctx, order, log);
  return { order: toApiOrder(order), payment };
}

/** POST /api/orders/:id/close: closeorder at WeChat, then CLOSED. A paid order stays PAID (409). */
export async function closeOrder(ctx: AppContext, openid: string, id: string, log: Logger): Promise<Order> {
  const order = await getOwnOrder(ctx, openid, id);
  if (order.status === 'PAID') throw new AppError('order_already_paid');
  if (order.status === 'PENDING') {
    let outcome;
    try {
      outcome = await closeAtWechat(ctx, order, 'buyer', log);
    } catch (err) {
      if (err instanceof WechatPayError && err.retryable)
        throw new AppError('payment_unavailable', undefined, { cause: err });
      // WeChat refuses to close an order younger than 5 minutes (INVALID_REQUEST, not retryable as such).
      if (err instanceof WechatPayInvalidRequestError && err.code === 'INVALID_REQUEST') {
        throw new AppError('order_not_closable', undefined, { cause: err });
      }
      throw err;
    }
    if (outcome === 'paid') throw new AppError('order_already_paid');
  }
  return toApiOrder((await ctx.store.orders.getOrder(id)) ?? order);
}

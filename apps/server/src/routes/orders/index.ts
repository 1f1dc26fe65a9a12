import { Router } from '@koa/router';
import type {
  CreateOrderResponse,
  OrderPaymentResponse,
  OrderResponse,
  SubscriptionResponse,
} from '@mp-pay/shared/api';
import type { AppContext } from '../../context.ts';
import { requireSession, sessionOf } from '../../http/auth.ts';
import { jsonBody } from '../../http/body.ts';
import { clientIp } from '../../http/client-ip.ts';
import { guestOrderLimit } from '../../http/rate-limit.ts';
import type { AppState } from '../../http/state.ts';
import { inputOf, validate } from '../../http/validate.ts';
import { closeOrder, createOrder, listOrders, paymentForOrder, readOrder } from '../../services/orders.ts';
import { askForRefund } from '../../services/refund-requests.ts';
import { nativeQrSvg } from '../../services/native-qr.ts';
import { answerSubscription } from '../../services/subscribe-messages.ts';
import {
  createOrderSchema,
  listOrdersSchema,
  orderIdSchema,
  orderPaymentSchema,
  refundRequestSchema,
  subscriptionSchema,
} from './schemas.ts';

/** Each route is a declared pipeline: auth → body → validate → one service call. */
export function orderRoutes(app: AppContext): Router<AppState> {
  const router = new Router<AppState>({ prefix: '/api/orders' });
  const auth = requireSession(app);
  const json = jsonBody(app.config.http.jsonLimitBytes);

  // POST /api/orders {items, channel?} [Idempotency-Key] → 201 {order, payment}; a guest's are counted
  // (429 rate_limited + Retry-After beyond GUEST_ORDERS_PER_HOUR)
  router.post('/', auth, guestOrderLimit(app), json, validate(createOrderSchema), async (ctx) => {
    const { body, headers } = inputOf(ctx, createOrderSchema);
    const result = await createOrder(
      app,
      {
        session: sessionOf(ctx),
        items: body.items,
        channel: body.channel ?? 'miniprogram',
        clientIp: clientIp(ctx.ip),
        idempotencyKey: headers['idempotency-key'],
      },
      ctx.state.log,
    );
    if (result.replayed) ctx.set('Idempotent-Replayed', 'true');
    const response: CreateOrderResponse = { order: result.order, payment: result.payment };
    ctx.status = 201;
    ctx.body = response;
  });

  // GET /api/orders?limit=&cursor=&status= → the caller's orders, newest first (status: one tab of them)
  router.get('/', auth, validate(listOrdersSchema), async (ctx) => {
    const { query } = inputOf(ctx, listOrdersSchema);
    ctx.body = await listOrders(app, sessionOf(ctx).userId, {
      limit: query.limit,
      cursor: query.cursor,
      filter: query.status,
    });
  });

  // GET /api/orders/:id → the order (asks WeChat first when PENDING for a while)
  router.get('/:id', auth, validate(orderIdSchema), async (ctx) => {
    const { params } = inputOf(ctx, orderIdSchema);
    const response: OrderResponse = {
      order: await readOrder(app, sessionOf(ctx).userId, params.id, ctx.state.log),
    };
    ctx.body = response;
  });

  // POST /api/orders/:id/payment [{channel}] → a fresh launch (a new trade when the last payment failed at
  // WeChat, or for another channel than the open attempt's)
  router.post('/:id/payment', auth, json, validate(orderPaymentSchema), async (ctx) => {
    const { params, body } = inputOf(ctx, orderPaymentSchema);
    const response: OrderPaymentResponse = await paymentForOrder(
      app,
      sessionOf(ctx),
      params.id,
      clientIp(ctx.ip),
      ctx.state.log,
      body?.channel,
    );
    ctx.body = response;
  });

  // GET /api/orders/:id/payment/qr.svg → the open Native attempt's code URL as a QR code (owner only)
  router.get('/:id/payment/qr.svg', auth, validate(orderIdSchema), async (ctx) => {
    const { params } = inputOf(ctx, orderIdSchema);
    const svg = await nativeQrSvg(app, sessionOf(ctx).userId, params.id);
    ctx.type = 'image/svg+xml';
    ctx.set('Cache-Control', 'no-store');
    ctx.body = svg;
  });

  // POST /api/orders/:id/close → closeorder at WeChat, then CLOSED
  router.post('/:id/close', auth, validate(orderIdSchema), async (ctx) => {
    const { params } = inputOf(ctx, orderIdSchema);
    const response: OrderResponse = {
      order: await closeOrder(app, sessionOf(ctx).userId, params.id, ctx.state.log),
    };
    ctx.body = response;
  });

  // POST /api/orders/:id/refund-requests {reason} → 201 {order}: refunded at once (REFUND_POLICY=auto, within
  // the window) or waiting for the shop; asking again while a request is open changes nothing
  router.post('/:id/refund-requests', auth, json, validate(refundRequestSchema), async (ctx) => {
    const { params, body } = inputOf(ctx, refundRequestSchema);
    const response: OrderResponse = {
      order: await askForRefund(
        app,
        sessionOf(ctx),
        { orderId: params.id, reason: body.reason },
        ctx.state.log,
      ),
    };
    ctx.status = 201;
    ctx.body = response;
  });

  // POST /api/orders/:id/subscriptions {templateId, answer} → 201 {order}: the buyer's answer for the "payment
  // succeeded" message, recorded once (answering again changes nothing); the message goes once the order is paid
  router.post('/:id/subscriptions', auth, json, validate(subscriptionSchema), async (ctx) => {
    const { params, body } = inputOf(ctx, subscriptionSchema);
    const response: SubscriptionResponse = {
      order: await answerSubscription(app, sessionOf(ctx), params.id, body, ctx.state.log),
    };
    ctx.status = 201;
    ctx.body = response;
  });

  return router;
}

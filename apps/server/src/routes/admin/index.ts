import { Router } from '@koa/router';
import type {
  OrderListResponse,
  OrderResponse,
  Refund,
  RefundListResponse,
  RefundResponse,
} from '@mp-pay/shared/api';
import type { AppContext } from '../../context.ts';
import { adminOf, requireAdmin } from '../../http/admin-auth.ts';
import { jsonBody } from '../../http/body.ts';
import type { AppState } from '../../http/state.ts';
import { inputOf, validate } from '../../http/validate.ts';
import { decideRefundRequest } from '../../services/refund-requests.ts';
import { listOrdersByStatus } from '../../services/orders.ts';
import { readRefund, refundsOfOrder, staffRefund } from '../../services/refunds.ts';
import { reconciliationRoutes } from './reconciliations.ts';
import { orderRefundsSchema, ordersByStatusSchema, refundOrderSchema, refundSchema } from './schemas.ts';

/**
 * The staff API (bearer tokens from ADMIN_TOKENS). Every action is logged with who did what (`admin`, `action`),
 * the audit trail of money leaving the shop.
 */
export function adminRoutes(app: AppContext): Router<AppState> {
  const router = new Router<AppState>({ prefix: '/admin' });
  const admin = requireAdmin(app);
  const json = jsonBody(app.config.http.jsonLimitBytes);

  // POST /admin/orders/:id/refunds {refundFen?, reason, outTradeNo?} → 202 {refund, refunds}: queued, sent by the
  // worker (a combine's sub-orders are refunded one by one: outTradeNo names one, none = all in full)
  router.post('/orders/:id/refunds', admin, json, validate(refundOrderSchema), async (ctx) => {
    const { params, body } = inputOf(ctx, refundOrderSchema);
    const who = adminOf(ctx);
    ctx.state.log.info(
      {
        admin: who,
        action: 'refund',
        orderId: params.id,
        refundFen: body.refundFen ?? 'rest',
        reason: body.reason,
      },
      'admin action',
    );
    const refunds = await staffRefund(
      app,
      {
        orderId: params.id,
        refundFen: body.refundFen,
        reason: body.reason,
        by: `staff:${who}`,
        ...(body.outTradeNo === undefined ? {} : { outTradeNo: body.outTradeNo }),
      },
      ctx.state.log,
    );
    const response: RefundResponse = { refund: refunds[0] as Refund, refunds };
    ctx.status = 202;
    ctx.body = response;
  });

  // GET /admin/orders?status=&limit=&cursor= → orders in a status, newest first
  router.get('/orders', admin, validate(ordersByStatusSchema), async (ctx) => {
    const { query } = inputOf(ctx, ordersByStatusSchema);
    ctx.state.log.info({ admin: adminOf(ctx), action: 'list_orders', status: query.status }, 'admin action');
    const response: OrderListResponse = await listOrdersByStatus(app, query.status, {
      limit: query.limit,
      cursor: query.cursor,
    });
    ctx.body = response;
  });

  // GET /admin/orders/:id/refunds → every refund of the order, oldest first
  router.get('/orders/:id/refunds', admin, validate(orderRefundsSchema), async (ctx) => {
    const { params } = inputOf(ctx, orderRefundsSchema);
    ctx.state.log.info({ admin: adminOf(ctx), action: 'list_refunds', orderId: params.id }, 'admin action');
    const response: RefundListResponse = { refunds: await refundsOfOrder(app, params.id) };
    ctx.body = response;
  });

  // GET /admin/refunds/:outRefundNo → one refund
  router.get('/refunds/:outRefundNo', admin, validate(refundSchema), async (ctx) => {
    const { params } = inputOf(ctx, refundSchema);
    ctx.state.log.info(
      { admin: adminOf(ctx), action: 'read_refund', outRefundNo: params.outRefundNo },
      'admin action',
    );
    const response: RefundResponse = { refund: await readRefund(app, params.outRefundNo) };
    ctx.body = response;
  });

  // POST /admin/orders/:id/refund-request/approve | reject → the buyer's open request decided, once
  for (const decision of ['approve', 'reject'] as const) {
    router.post(
      `/orders/:id/refund-request/${decision}`,
      admin,
      validate(orderRefundsSchema),
      async (ctx) => {
        const { params } = inputOf(ctx, orderRefundsSchema);
        const who = adminOf(ctx);
        ctx.state.log.info(
          { admin: who, action: `refund_request_${decision}`, orderId: params.id },
          'admin action',
        );
        const response: OrderResponse = {
          order: await decideRefundRequest(
            app,
            { orderId: params.id, approve: decision === 'approve', by: `staff:${who}` },
            ctx.state.log,
          ),
        };
        ctx.body = response;
      },
    );
  }

  reconciliationRoutes(app, router, admin);

  return router;
}

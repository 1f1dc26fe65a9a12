import { readFileSync } from 'node:fs';
import type Router from '@koa/router';
import type { Context, Next } from 'koa';
import { z } from 'zod';
import { buyerOpenid } from '../channels/buyer.ts';
import type { SandboxContext } from '../context.ts';
import { DEFAULT_USER } from '../login/codes.ts';
import { NOT_A_JSON_OBJECT, readJsonObject } from '../http/body.ts';
import { sendJsonError } from '../http/json.ts';
import type { Notifier } from '../notifier.ts';
import { findOrder } from '../pay/orders.ts';
import { settlePayment } from '../pay/settle.ts';
import type { Refunds } from '../refunds/core.ts';
import { combineOfOrder } from '../v3/combine.ts';
import { sameOriginOnly } from '../control/same-origin.ts';
import { ConsoleFeed } from './events.ts';
import { buildSnapshot, snapshotLimit } from './snapshot.ts';

/**
 * The sandbox console (README "The sandbox console"): a page at `/` for people, made of three static files
 * (no build step, no network: everything it needs comes from the sandbox), fed by GET /sandbox/snapshot and
 * the Server-Sent Events of GET /sandbox/events. Its buttons call the control API the README documents
 * (faults, clock, merchant-console refunds, the scanner) and the two buyer-side controls below, which exist
 * because a page must not hold the merchant's key that /sandbox/pay's paySign needs.
 */
const STATIC_DIR = new URL('./static/', import.meta.url);
const FILES = {
  'index.html': 'text/html; charset=utf-8',
  'console.js': 'text/javascript; charset=utf-8',
  'console.css': 'text/css; charset=utf-8',
} as const;
type StaticName = keyof typeof FILES;

/** Same-origin only, nothing inline: merchant replies are untrusted text and must never run. */
const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; " +
  "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const cache = new Map<StaticName, Buffer>();
function file(name: StaticName): Buffer {
  let content = cache.get(name);
  if (!content) {
    content = readFileSync(new URL(name, STATIC_DIR));
    cache.set(name, content);
  }
  return content;
}

function serve(name: StaticName) {
  return (ctx: Context): void => {
    ctx.set('Content-Type', FILES[name]);
    ctx.set('Cache-Control', 'no-cache');
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.set('Content-Security-Policy', CSP);
    ctx.set('Referrer-Policy', 'no-referrer');
    ctx.body = file(name);
  };
}

const orderSchema = z
  .object({
    mch_id: z
      .string()
      .regex(/^\d{1,32}$/)
      .optional(),
    out_trade_no: z.string().regex(/^[0-9A-Za-z_\-|*]{1,32}$/),
  })
  .strict();
const paySchema = orderSchema
  .extend({ outcome: z.enum(['success', 'cancel', 'fail', 'payerror']).default('success') })
  .strict();

export function registerSandboxConsole(
  router: Router,
  sandbox: SandboxContext,
  notifier: Notifier,
  refunds: Refunds,
): void {
  // `/` had no route: other clients (JSON, curl) keep getting the 404 NOT_FOUND envelope.
  router.get('/', async (ctx: Context, next: Next) => {
    if (ctx.accepts('json', 'html') !== 'html' || !/text\/html/i.test(ctx.get('Accept'))) return next();
    serve('index.html')(ctx);
  });
  router.get('/sandbox/ui/console.js', serve('console.js'));
  router.get('/sandbox/ui/console.css', serve('console.css'));
  router.get('/sandbox/snapshot', (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    ctx.body = buildSnapshot(sandbox, refunds, snapshotLimit(ctx.query.limit));
  });
  router.get('/sandbox/events', new ConsoleFeed(sandbox, refunds).route());

  // POST /sandbox/buyer/pay {mch_id?, out_trade_no, outcome?}: the buyer confirms (or not) the order's newest
  // prepay_id, through the same settlement as every payer (state checks, notification). Single orders only: a
  // combine is paid as one (POST /sandbox/pay with its prepay_id).
  router.post('/sandbox/buyer/pay', sameOriginOnly, async (ctx) => {
    const input = await parse(ctx, paySchema);
    if (!input) return;
    const order = findOrder(sandbox, input.mch_id ?? sandbox.config.mchId, input.out_trade_no);
    if (!order) return sendJsonError(ctx, 404, 'ORDERNOTEXIST', `no order ${input.out_trade_no}`);
    if (combineOfOrder(sandbox, order)) {
      return sendJsonError(ctx, 409, 'NOT_PAYABLE', 'a combine sub-order is paid with its combine');
    }
    const prepay = [...order.prepayIds]
      .reverse()
      .map((id) => sandbox.state.prepays.get(id))
      .find((p) => p !== undefined);
    if (!prepay) return sendJsonError(ctx, 409, 'NOT_PAYABLE', 'the order has no prepay_id left');
    const openid = order.openid || buyerOpenid(sandbox, order.appId, DEFAULT_USER);
    const settled = settlePayment(sandbox, notifier, order, prepay, input.outcome, openid);
    if (!settled.ok) return sendJsonError(ctx, settled.status, 'NOT_PAYABLE', settled.reason);
    ctx.body = { out_trade_no: order.outTradeNo, mch_id: order.mchId, outcome: settled.outcome };
  });

  // POST /sandbox/notifications/resend {mch_id?, out_trade_no}: WeChat sends a paid order's notification again
  // (it does: duplicates are documented), from attempt 1 of the schedule; a v3 one keeps its id. Never beside
  // a schedule still running (retries pending, or an attempt in flight): WeChat runs one per notification.
  router.post('/sandbox/notifications/resend', sameOriginOnly, async (ctx) => {
    const input = await parse(ctx, orderSchema);
    if (!input) return;
    const order = findOrder(sandbox, input.mch_id ?? sandbox.config.mchId, input.out_trade_no);
    if (!order) return sendJsonError(ctx, 404, 'ORDERNOTEXIST', `no order ${input.out_trade_no}`);
    if (order.state !== 'SUCCESS' || combineOfOrder(sandbox, order)) {
      return sendJsonError(ctx, 409, 'NOT_PAID', 'only a paid single order has a notification to resend');
    }
    if (notifier.running(order)) {
      return sendJsonError(
        ctx,
        409,
        'NOTIFICATION_RUNNING',
        `the notification of ${order.outTradeNo} is still being delivered` +
          (order.nextNotificationAt === undefined
            ? ' (an attempt is in flight)'
            : ` (next attempt at ${new Date(order.nextNotificationAt).toISOString()})`) +
          ': resend once its schedule is over',
      );
    }
    notifier.start(order);
    ctx.status = 202;
    ctx.body = { out_trade_no: order.outTradeNo, mch_id: order.mchId, resent: true };
  });
}

async function parse<T extends z.ZodType>(ctx: Context, schema: T): Promise<z.infer<T> | undefined> {
  const body = await readJsonObject(ctx);
  if (body === undefined) {
    sendJsonError(ctx, 400, 'BAD_REQUEST', NOT_A_JSON_OBJECT);
    return undefined;
  }
  const parsed = schema.safeParse(body);
  if (!parsed.success) {
    sendJsonError(ctx, 400, 'BAD_REQUEST', z.prettifyError(parsed.error));
    return undefined;
  }
  return parsed.data;
}

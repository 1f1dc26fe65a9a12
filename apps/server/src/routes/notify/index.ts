import { Router } from '@koa/router';
import type { AppContext } from '../../context.ts';
import { rawBody } from '../../http/body.ts';
import type { AppState } from '../../http/state.ts';
import type { NotificationAnswer, NotificationReply, RawNotification } from '../../gateway/index.ts';
import type { Logger } from '../../logger.ts';
import { handleNativeScan } from '../../services/native-scan.ts';
import { handlePaymentNotification } from '../../services/notify.ts';
import { handleRefundNotification } from '../../services/refund-notify.ts';

/**
 * What WeChat posts to us, at the gateway's paths: the notify_url (`/wechatpay/notify` for APIv2,
 * `/wechatpay/v3/notify` for APIv3), the refund notify_url, and Native mode 1's scan callback
 * (`/wechatpay/native-scan`, APIv2 only: docs/channels.md "Native mode 1"). Each gets the exact bytes (capped)
 * for the signature check, and answers in the gateway's protocol only, never the JSON error shape: WeChat reads
 * the protocol's own reply.
 */
type Handler = (app: AppContext, raw: RawNotification, log: Logger) => Promise<NotificationReply>;

export interface NotifyCallback {
  path: string;
  handle: Handler;
  /** The protocol's refusal when the body is too large or processing failed (WeChat retries). */
  refuse: (answer: NotificationAnswer) => NotificationReply;
  what: string;
}

/**
 * The callbacks this server answers, from its gateway. Served twice over: by the Koa routes below (any path
 * spelling the router accepts) and, for the exact paths, by the notify fast path in front of Koa
 * (http/notify-fast-path.ts), which must behave the same: both use this table and `failureReply`.
 */
export function notifyCallbacks(app: AppContext): NotifyCallback[] {
  const pay = app.pay;
  // Payments, refunds, scans: the same raw-body pipeline and the same one error path for each.
  const callbacks: NotifyCallback[] = [
    {
      path: pay.notifyPath,
      handle: handlePaymentNotification,
      refuse: (a) => pay.renderNotificationReply(a),
      what: 'notification',
    },
    {
      path: pay.refundNotifyPath,
      handle: handleRefundNotification,
      refuse: (a) => pay.renderNotificationReply(a),
      what: 'notification',
    },
  ];
  if (pay.nativeScanPath !== undefined) {
    callbacks.push({
      path: pay.nativeScanPath,
      handle: handleNativeScan,
      refuse: (a) => pay.renderScanReply(a),
      what: 'Native scan',
    });
  }
  return callbacks;
}

/**
 * The one error path of a callback: the body was over the cap (`payload_too_large`, 413) or reading or
 * processing it failed (503, WeChat retries). `err` is the rawBody middleware's AppError for a body over the cap. Logged, then answered in the protocol, never the JSON envelope.
 */
export function failureReply(callback: NotifyCallback, err: unknown, log: Logger): NotificationReply {
  const tooLarge = (err as { id?: string }).id === 'payload_too_large';
  log.warn({ err: tooLarge ? undefined : err }, `${callback.what} not processed`);
  return callback.refuse({
    ack: false,
    status: tooLarge ? 413 : 503,
    message: tooLarge ? 'body too large' : 'temporarily unavailable',
  });
}

export function notifyRoutes(app: AppContext): Router<AppState> {
  const router = new Router<AppState>();
  for (const callback of notifyCallbacks(app)) {
    const { path, handle } = callback;
    router.post(
      path,
      async (ctx, next) => {
        try {
          await next();
        } catch (err) {
          const reply = failureReply(callback, err, ctx.state.log);
          ctx.status = reply.status;
          ctx.type = reply.contentType;
          ctx.body = reply.body;
        }
      },
      rawBody(app.config.http.notifyLimitBytes),
      async (ctx) => {
        const reply = await handle(
          app,
          { body: ctx.state.rawBody ?? Buffer.alloc(0), headers: ctx.headers },
          ctx.state.log,
        );
        ctx.status = reply.status;
        ctx.type = reply.contentType;
        ctx.body = reply.body;
      },
    );
  }
  return router;
}

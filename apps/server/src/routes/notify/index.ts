import { Router } from '@koa/router';
import type { AppContext } from '../../context.ts';
import { rawBody } from '../../http/body.ts';
import type { AppState } from '../../http/state.ts';
import type { NotificationReply, RawNotification } from '../../gateway/index.ts';
import type { Logger } from '../../logger.ts';
import { handlePaymentNotification } from '../../services/notify.ts';
import { handleRefundNotification } from '../../services/refund-notify.ts';

/**
 * The notify_url, at the gateway's path (`/wechatpay/notify` for APIv2, `/wechatpay/v3/notify` for APIv3). Answers in the gateway's protocol only (SUCCESS or FAIL), never the JSON error shape: WeChat
 * reads the protocol's own reply.
 */
type NotifyHandler = (app: AppContext, raw: RawNotification, log: Logger) => Promise<NotificationReply>;

export function notifyRoutes(app: AppContext): Router<AppState> {
  const router = new Router<AppState>();
  // Payments, then refunds: the same raw-body pipeline and the same one error path for both.
  const routes: [string, NotifyHandler][] = [
    [app.pay.notifyPath, handlePaymentNotification],
    [app.pay.refundNotifyPath, handleRefundNotification],
  ];
  for (const [path, handle] of routes) {
    router.post(
      path,
      async (ctx, next) => {
        try {
          await next();
        } catch (err) {
          const tooLarge = (err as { id?: string }).id === 'payload_too_large';
          ctx.state.log.warn({ err: tooLarge ? undefined : err }, 'notification not processed');
          const reply = app.pay.renderNotificationReply({
            ack: false,
            status: tooLarge ? 413 : 503,
            message: tooLarge ? 'body too large' : 'temporarily unavailable',
          });
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

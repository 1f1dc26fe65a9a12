import { Router } from '@koa/router';
import { notifyFailXml } from '@mp-pay/shared/wechatpay';
import type { AppContext } from '../../context.ts';
import { rawBody } from '../../http/body.ts';
import type { AppState } from '../../http/state.ts';
import { handlePaymentNotification } from '../../services/notify.ts';

export const NOTIFY_PATH = '/wechatpay/notify';

/** The notify_url. Answers XML only (SUCCESS or FAIL), never the JSON error shape: WeChat reads return_code. */
export function notifyRoutes(app: AppContext): Router<AppState> {
  const router = new Router<AppState>();
  router.post(
    NOTIFY_PATH,
    async (ctx, next) => {
      try {
        await next();
      } catch (err) {
        const tooLarge = (err as { id?: string }).id === 'payload_too_large';
        ctx.state.log.warn({ err: tooLarge ? undefined : err }, 'notification not processed');
        ctx.status = tooLarge ? 413 : 503;
        ctx.type = 'text/xml';
        ctx.body = notifyFailXml(tooLarge ? 'body too large' : 'temporarily unavailable');
      }
    },
    rawBody(app.config.http.notifyLimitBytes),
    async (ctx) => {
      const reply = await handlePaymentNotification(app, ctx.state.rawBody ?? Buffer.alloc(0), ctx.state.log);
      ctx.status = reply.status;
      ctx.type = 'text/xml';
      ctx.body = reply.xml;
    },
  );
  return router;
}

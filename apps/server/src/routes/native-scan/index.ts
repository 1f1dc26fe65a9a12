import { Router } from '@koa/router';
import type { AppContext } from '../../context.ts';
import { rawBody } from '../../http/body.ts';
import type { AppState } from '../../http/state.ts';
import { handleNativeScan } from '../../services/native-scan.ts';

/**
 * Native mode 1's scan callback (APIv2 only: docs/channels.md "Native mode 1"), at the gateway's path
 * (`/wechatpay/native-scan`). Like the notify_url: the exact bytes (capped like a notification) go to the
 * gateway for the signature check, and the answer is the protocol's XML, never the JSON error shape.
 */
export function nativeScanRoutes(app: AppContext): Router<AppState> {
  const router = new Router<AppState>();
  const path = app.pay.nativeScanPath;
  if (path === undefined) return router;
  router.post(
    path,
    async (ctx, next) => {
      try {
        await next();
      } catch (err) {
        const tooLarge = (err as { id?: string }).id === 'payload_too_large';
        ctx.state.log.warn({ err: tooLarge ? undefined : err }, 'Native scan not processed');
        const reply = app.pay.renderScanReply({
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
      const reply = await handleNativeScan(
        app,
        { body: ctx.state.rawBody ?? Buffer.alloc(0), headers: ctx.headers },
        ctx.state.log,
      );
      ctx.status = reply.status;
      ctx.type = reply.contentType;
      ctx.body = reply.body;
    },
  );
  return router;
}

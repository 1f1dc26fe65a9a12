import Router from '@koa/router';
import Koa from 'koa';
import { returnFailXml } from '@mp-pay/shared/wechatpay';
import type { SandboxContext } from './context.ts';
import { clockRoutes } from './control/clock.ts';
import { faultRoutes } from './control/faults.ts';
import { loginCodesRoute } from './control/login-codes.ts';
import { orderInspectionRoute, orderListRoute } from './control/orders.ts';
import { BodyTooLargeError } from './http/body.ts';
import { sendJsonError } from './http/json.ts';
import { sendXml } from './http/xml-reply.ts';
import { jscode2session } from './login/jscode2session.ts';
import { LoginRateLimiter } from './login/rate-limit.ts';
import { registerSubscribeMessages } from './messages/routes.ts';
import type { Notifier } from './notifier.ts';
import { closeOrder, CLOSEORDER_REQUIRED } from './pay/closeorder.ts';
import { orderQuery } from './pay/orderquery.ts';
import { payEndpoint } from './pay/request.ts';
import { unifiedOrder, UNIFIEDORDER_REQUIRED } from './pay/unifiedorder.ts';
import { payerRoute } from './payer.ts';
import { v3ControlRoutes } from './control/v3.ts';
import { certificates } from './v3/certificates.ts';
import { v3Endpoint } from './v3/request.ts';
import { app as appV3, close, h5, jsapi, native, queryById, queryByOutTradeNo } from './v3/transactions.ts';
import { appPayerRoute } from './channels/app-payer.ts';
import { cashierPageRoute, cashierPayRoute } from './channels/cashier.ts';
import { allowAnyOrigin, jsbridgeScriptRoute, prepaySummaryRoute } from './channels/jsbridge.ts';
import { authorizeRoute, oauthAccessTokenRoute } from './channels/oauth.ts';
import { scanPageRoute, scanRoute } from './channels/scan.ts';
import { nativeCallbackRoutes } from './control/native-callback.ts';
import { tlsRoute } from './control/tls.ts';
import { consoleRoutes } from './control/console.ts';
import { sameOriginOnly } from './control/same-origin.ts';
import { downloadBillRoute } from './bills/v2.ts';
import { billDownloadRoute, tradeBill } from './bills/v3.ts';
import { Refunds } from './refunds/core.ts';
import { REFUND_REQUIRED, refundHandler, refundQueryHandler } from './refunds/v2.ts';
import { createRefund, queryRefund } from './refunds/v3.ts';
import type { OrderRecord } from './state.ts';
import { combineRoutes } from './v3/combine-routes.ts';
import { registerSandboxConsole } from './console/routes.ts';

/**
 * One Koa app serving WeChat's paths (so a client switches by base URL alone) and the sandbox's own /sandbox/*
 * control endpoints.
 */
export function createApp(sandbox: SandboxContext, notifier: Notifier): Koa {
  const app = new Koa();
  app.proxy = false;
  app.silent = true;
  app.use(async (ctx, next) => {
    try {
      await next();
    } catch (err) {
      if (err instanceof BodyTooLargeError && !ctx.path.startsWith('/pay/')) {
        return sendJsonError(ctx, 413, 'TOO_LARGE', err.message);
      }
      // A sandbox bug, not a client mistake: say so loudly, answer like a busy WeChat.
      console.error(`sandbox: ${ctx.method} ${ctx.path} failed`, err);
      if (ctx.path.startsWith('/pay/')) return sendXml(ctx, returnFailXml('系统繁忙,请稍后再试'));
      sendJsonError(ctx, 500, 'INTERNAL', `sandbox error: ${(err as Error).message}`);
    }
  });

  const router = new Router();
  router.get('/sns/jscode2session', jscode2session(sandbox, new LoginRateLimiter()));
  // Subscribe messages: access tokens, subscribe/send and their /sandbox/subscribe/* controls (messages/).
  registerSubscribeMessages(router, sandbox);
  // WeChat answers any method on the pay paths; a GET gets return_msg 请使用post方法.
  router.all('/pay/unifiedorder', payEndpoint(sandbox, UNIFIEDORDER_REQUIRED, unifiedOrder));
  const refunds = new Refunds(sandbox, notifier);
  const settle = (order: OrderRecord) => refunds.settleOrder(order);
  router.all(
    '/pay/orderquery',
    payEndpoint(sandbox, [], (req, sb) => orderQuery(req, sb, settle)),
  );
  router.all('/pay/closeorder', payEndpoint(sandbox, CLOSEORDER_REQUIRED, closeOrder));
  // Refunds: /secapi/ is WeChat's mutual-TLS path, served only on the HTTPS listener (a client certificate
  // issued by the demo CA, checked in the handshake); refundquery is an ordinary v2 call.
  const refund = payEndpoint(sandbox, REFUND_REQUIRED, refundHandler(refunds));
  router.all('/secapi/pay/refund', async (ctx) => {
    if ((ctx.req.socket as { encrypted?: boolean }).encrypted) return refund(ctx);
    sendXml(
      ctx,
      returnFailXml(
        `请使用双向证书(HTTPS)访问: /secapi/pay/refund needs mutual TLS; call ${sandbox.endpoints.tlsUrl ?? 'the HTTPS listener'}/secapi/pay/refund with the client certificate (GET /sandbox/tls)`,
      ),
    );
  });
  router.all('/pay/refundquery', payEndpoint(sandbox, [], refundQueryHandler(refunds)));
  // Bills (bills/*): the day's payments and refunds from the sandbox's own state, T+1 from 10:00 Beijing.
  router.all('/pay/downloadbill', downloadBillRoute(sandbox, refunds));

  // APIv3: JSON in and out, RSA-signed both ways (v3/request.ts).
  router.post('/v3/pay/transactions/jsapi', v3Endpoint(sandbox, jsapi));
  router.post('/v3/pay/transactions/app', v3Endpoint(sandbox, appV3));
  router.post('/v3/pay/transactions/h5', v3Endpoint(sandbox, h5));
  router.post('/v3/pay/transactions/native', v3Endpoint(sandbox, native));
  router.get(
    '/v3/pay/transactions/out-trade-no/:out_trade_no',
    v3Endpoint(sandbox, (req, sb) => queryByOutTradeNo(req, sb, settle)),
  );
  router.get(
    '/v3/pay/transactions/id/:transaction_id',
    v3Endpoint(sandbox, (req, sb) => queryById(req, sb, settle)),
  );
  router.post('/v3/pay/transactions/out-trade-no/:out_trade_no/close', v3Endpoint(sandbox, close));
  router.get('/v3/certificates', v3Endpoint(sandbox, certificates));
  router.post('/v3/refund/domestic/refunds', v3Endpoint(sandbox, createRefund(refunds)));
  router.get('/v3/refund/domestic/refunds/:out_refund_no', v3Endpoint(sandbox, queryRefund(refunds)));
  combineRoutes(router, sandbox, settle); // combine (合单) payments and /sandbox/combines (v3/combine*.ts)
  router.get('/v3/bill/tradebill', v3Endpoint(sandbox, tradeBill(sandbox, refunds)));
  router.get('/v3/billdownload/file', billDownloadRoute(sandbox));

  router.post('/sandbox/login-codes', loginCodesRoute(sandbox));
  // The WeixinJSBridge stand-in calls /sandbox/pay from the merchant's page: CORS, any origin.
  router.options('/sandbox/pay', allowAnyOrigin);
  router.post('/sandbox/pay', allowAnyOrigin, payerRoute(sandbox, notifier));

  // What stands in for the buyer's WeChat in the other channels (docs/channels.md, channels/*).
  router.get('/connect/oauth2/authorize', authorizeRoute(sandbox));
  router.get('/sns/oauth2/access_token', oauthAccessTokenRoute(sandbox));
  router.get('/sandbox/jsbridge.js', jsbridgeScriptRoute());
  router.options('/sandbox/prepays/:prepay_id', allowAnyOrigin);
  router.get('/sandbox/prepays/:prepay_id', allowAnyOrigin, prepaySummaryRoute(sandbox));
  router.get('/cgi-bin/mmpayweb-bin/checkmweb', cashierPageRoute(sandbox));
  router.post('/sandbox/h5/pay', cashierPayRoute(sandbox, notifier));
  router.get('/sandbox/scan', scanPageRoute(sandbox));
  router.post('/sandbox/scan', scanRoute(sandbox, notifier));
  router.post('/sandbox/app/pay', appPayerRoute(sandbox, notifier));
  const nativeCallback = nativeCallbackRoutes(sandbox);
  router.get('/sandbox/native-callback', nativeCallback.show);
  router.post('/sandbox/native-callback', nativeCallback.set);
  // The controls the sandbox console's page uses refuse other web pages (control/same-origin.ts).
  const faults = faultRoutes(sandbox);
  router.post('/sandbox/faults', sameOriginOnly, faults.set);
  router.get('/sandbox/faults', faults.list);
  router.delete('/sandbox/faults', sameOriginOnly, faults.clear);
  const staff = consoleRoutes(sandbox, refunds);
  router.post('/sandbox/console/refunds', sameOriginOnly, staff.refund);
  router.post('/sandbox/console/bill-tamper', sameOriginOnly, staff.tamper);
  router.get('/sandbox/orders', orderListRoute(sandbox));
  router.get('/sandbox/orders/:out_trade_no', orderInspectionRoute(sandbox, refunds));
  router.get('/sandbox/tls', tlsRoute(sandbox));
  const clock = clockRoutes(sandbox);
  router.get('/sandbox/clock', clock.show);
  router.post('/sandbox/clock', sameOriginOnly, clock.advance);
  const v3 = v3ControlRoutes(sandbox);
  router.get('/sandbox/v3/public-key', v3.publicKey);
  router.get('/sandbox/v3/key-mode', v3.showKeyMode);
  router.post('/sandbox/v3/key-mode', v3.setKeyMode);
  registerSandboxConsole(router, sandbox, notifier, refunds); // the console page at / (console/*)
  router.get('/sandbox/health', (ctx) => {
    ctx.body = { ok: true, appid: sandbox.config.appId, mch_id: sandbox.config.mchId };
  });

  // Nothing answered: 404 NOT_FOUND; a known path asked with another method: 405 with Allow (501 for a method
  // no route knows), in the error envelope, or in APIv3's error shape on /v3/ paths.
  app.use(async (ctx, next) => {
    await next();
    if (ctx.body !== undefined) return;
    if (ctx.status === 404) {
      sendJsonError(ctx, 404, 'NOT_FOUND', `the sandbox does not serve ${ctx.method} ${ctx.path}`);
    } else if (ctx.status === 405 || ctx.status === 501) {
      const status = ctx.status;
      const id = status === 405 ? 'METHOD_NOT_ALLOWED' : 'NOT_IMPLEMENTED';
      const message = `the sandbox does not serve ${ctx.method} ${ctx.path}; it accepts ${ctx.response.get('Allow') || 'no method'} there`;
      if (ctx.path.startsWith('/v3/')) {
        ctx.body = { code: id, message };
        ctx.status = status;
      } else {
        sendJsonError(ctx, status, id, message);
      }
    }
  });
  app.use(router.routes());
  app.use(router.allowedMethods());
  return app;
}

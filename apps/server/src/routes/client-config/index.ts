import { Router } from '@koa/router';
import { API_ROUTES, type ClientConfigResponse } from '@mp-pay/shared/api';
import type { AppContext } from '../../context.ts';
import type { AppState } from '../../http/state.ts';
import { offeredChannels } from '../../services/channels.ts';

export function clientConfigRoutes(app: AppContext): Router<AppState> {
  const router = new Router<AppState>();
  // GET /api/config → how clients should pay: through the sandbox payer or for real, which channels, and the
  // subscribe-message templates to ask the buyer about
  router.get(API_ROUTES.clientConfig, (ctx) => {
    const { config } = app;
    const base: ClientConfigResponse =
      config.mode === 'sandbox' && config.sandboxUrl !== undefined
        ? { mode: 'sandbox', sandboxUrl: config.sandboxUrl, appId: config.wechat.appId }
        : { mode: 'live' };
    const template = config.subscribe.paymentSucceeded;
    const body: ClientConfigResponse = {
      ...base,
      channels: offeredChannels(app),
      ...(template === undefined ? {} : { subscribeTemplates: { paymentSucceeded: template } }),
    };
    ctx.body = body;
  });
  return router;
}

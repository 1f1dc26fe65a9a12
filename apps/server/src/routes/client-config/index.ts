import { Router } from '@koa/router';
import { API_ROUTES, type ClientConfigResponse } from '@mp-pay/shared/api';
import type { AppContext } from '../../context.ts';
import type { AppState } from '../../http/state.ts';
import { offeredChannels } from '../../services/channels.ts';

export function clientConfigRoutes(app: AppContext): Router<AppState> {
  const router = new Router<AppState>();
  // GET /api/config → how clients should pay: through the sandbox payer or for real, and which channels
  router.get(API_ROUTES.clientConfig, (ctx) => {
    const { config } = app;
    const base: ClientConfigResponse =
      config.mode === 'sandbox' && config.sandboxUrl !== undefined
        ? { mode: 'sandbox', sandboxUrl: config.sandboxUrl, appId: config.wechat.appId }
        : { mode: 'live' };
    const body: ClientConfigResponse = { ...base, channels: offeredChannels(app) };
    ctx.body = body;
  });
  return router;
}

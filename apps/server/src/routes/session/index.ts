import { Router } from '@koa/router';
import { API_ROUTES } from '@mp-pay/shared/api';
import { z } from 'zod';
import type { AppContext } from '../../context.ts';
import { jsonBody } from '../../http/body.ts';
import { guestSessionLimit } from '../../http/rate-limit.ts';
import type { AppState } from '../../http/state.ts';
import { inputOf, validate } from '../../http/validate.ts';
import { signIn, signInGuest } from '../../services/sessions.ts';

const signInSchema = z.object({
  body: z.object({ code: z.string().min(1).max(128) }),
});

export function sessionRoutes(app: AppContext): Router<AppState> {
  const router = new Router<AppState>();
  // POST /api/session {code} → {token, expiresIn}
  router.post(
    API_ROUTES.session,
    jsonBody(app.config.http.jsonLimitBytes),
    validate(signInSchema),
    async (ctx) => {
      const { body } = inputOf(ctx, signInSchema);
      ctx.status = 201;
      ctx.body = await signIn(app, body.code);
    },
  );

  // POST /api/session/guest → 201 {token, expiresIn}: a browser buyer outside WeChat (H5, Native, APP); counted
  // per client address (429 rate_limited + Retry-After beyond GUEST_SESSIONS_PER_IP_PER_HOUR)
  router.post(API_ROUTES.guestSession, guestSessionLimit(app), async (ctx) => {
    ctx.status = 201;
    ctx.body = await signInGuest(app);
  });
  return router;
}

import { Router } from '@koa/router';
import type { ParameterizedContext } from 'koa';
import { API_ROUTES } from '@mp-pay/shared/api';
import { z } from 'zod';
import type { AppContext } from '../../context.ts';
import type { AppState } from '../../http/state.ts';
import { inputOf, validate } from '../../http/validate.ts';
import { finishOAuth, OAUTH_COOKIE, OAUTH_COOKIE_MAX_AGE_S, startOAuth } from '../../services/oauth.ts';

/** Query values arrive as strings (or arrays when repeated: then they are not ours and fail the checks). */
const startSchema = z.object({ query: z.object({ next: z.unknown().optional() }) });
const callbackSchema = z.object({
  query: z.object({ code: z.unknown().optional(), state: z.unknown().optional() }),
});

/**
 * Official-account OAuth (docs/channels.md "Who pays"): browser redirects, never JSON. The state cookie is scoped to
 * these two routes, HttpOnly and SameSite=Lax (WeChat's redirect back is a top-level GET, which Lax lets through).
 */
export function oauthRoutes(app: AppContext): Router<AppState> {
  const router = new Router<AppState>();
  // Secure when the public address is HTTPS, whatever the hop to us (a TLS-terminating proxy): Koa refuses to set
  // a Secure cookie on what it sees as plain HTTP unless told the connection is secure.
  const setCookie = (ctx: ParameterizedContext<AppState>, value: string, maxAgeS: number) => {
    const secure = app.publicBaseUrl().startsWith('https:');
    if (secure) ctx.cookies.secure = true;
    ctx.cookies.set(OAUTH_COOKIE, value, {
      httpOnly: true,
      sameSite: 'lax',
      path: '/web/oauth',
      maxAge: maxAgeS * 1000,
      secure,
      overwrite: true,
    });
  };

  // GET /web/oauth/start?next=/shop/… → 302 to WeChat's authorize page
  router.get(API_ROUTES.oauthStart, validate(startSchema), (ctx) => {
    const { query } = inputOf(ctx, startSchema);
    const start = startOAuth(app, query.next);
    if (start.cookie !== undefined) setCookie(ctx, start.cookie, OAUTH_COOKIE_MAX_AGE_S);
    ctx.set('Referrer-Policy', 'no-referrer');
    ctx.redirect(start.location);
  });

  // GET /web/oauth/callback?code&state → 302 to next#session=… (or next#error=…)
  router.get(API_ROUTES.oauthCallback, validate(callbackSchema), async (ctx) => {
    const { query } = inputOf(ctx, callbackSchema);
    const location = await finishOAuth(
      app,
      { code: query.code, state: query.state, cookie: ctx.cookies.get(OAUTH_COOKIE) },
      ctx.state.log,
    );
    // One use: the state is spent whatever the outcome.
    setCookie(ctx, '', 0);
    ctx.set('Referrer-Policy', 'no-referrer');
    ctx.redirect(location);
  });
  return router;
}

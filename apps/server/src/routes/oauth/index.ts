import { Router } from '@koa/router';
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
  const secure = () => (app.publicBaseUrl().startsWith('https:') ? '; Secure' : '');
  const cookie = (value: string, maxAge: number) =>
    `${OAUTH_COOKIE}=${value}; Max-Age=${maxAge}; Path=/web/oauth; HttpOnly; SameSite=Lax${secure()}`;

  // GET /web/oauth/start?next=/shop/… → 302 to WeChat's authorize page
  router.get(API_ROUTES.oauthStart, validate(startSchema), (ctx) => {
    const { query } = inputOf(ctx, startSchema);
    const start = startOAuth(app, query.next);
    if (start.cookie !== undefined) ctx.append('Set-Cookie', cookie(start.cookie, OAUTH_COOKIE_MAX_AGE_S));
    ctx.set('Referrer-Policy', 'no-referrer');
    ctx.redirect(start.location);
  });

  // GET /web/oauth/callback?code&state → 302 to next#session=… (or next#error=…)
  router.get(API_ROUTES.oauthCallback, validate(callbackSchema), async (ctx) => {
    const { query } = inputOf(ctx, callbackSchema);
    const location = await finishOAuth(
      app,
      { code: query.code, state: query.state, cookie: readCookie(ctx.get('cookie'), OAUTH_COOKIE) },
      ctx.state.log,
    );
    // One use: the state is spent whatever the outcome.
    ctx.append('Set-Cookie', cookie('', 0));
    ctx.set('Referrer-Policy', 'no-referrer');
    ctx.redirect(location);
  });
  return router;
}

function readCookie(header: string, name: string): string | undefined {
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

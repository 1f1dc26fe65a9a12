/**
 * The web checkout (apps/web/public) under /shop/, same origin as the API (docs/channels.md "Web checkout"):
 * no CORS, and the OAuth redirect_uri and the JSAPI payment directory are this server's own origin.
 * GET and HEAD only; every file revalidates (no-cache + ETag), and pages carry a Content-Security-Policy that
 * allows this origin, plus the sandbox's in sandbox mode (its WeixinJSBridge stand-in and payer).
 */
import { readFile } from 'node:fs/promises';
import { Router } from '@koa/router';
import { WEB_PUBLIC_DIR } from '@mp-pay/web';
import type { AppContext } from '../../context.ts';
import { AppError } from '../../errors.ts';
import type { AppState } from '../../http/state.ts';
import { findStaticFile } from './static-files.ts';

export const SHOP_PATH = '/shop/';

export function webRoutes(app: AppContext, root: string = WEB_PUBLIC_DIR): Router<AppState> {
  const router = new Router<AppState>();
  const csp = contentSecurityPolicy(app.config.mode === 'sandbox' ? app.config.sandboxUrl : undefined);

  // GET / and GET /shop → the shop (a relative link in /shop would resolve against /). A RegExp, because a
  // string path matches with or without its trailing slash, and /shop/ is the page itself.
  router.get(/^\/(?:shop)?$/, (ctx) => {
    ctx.redirect(SHOP_PATH);
  });

  // GET /shop/<file> (HEAD too: @koa/router answers HEAD for GET routes, Koa drops the body)
  router.get(/^\/shop\/(.*)$/, async (ctx) => {
    const file = await findStaticFile(root, ctx.path.slice(SHOP_PATH.length));
    if (!file) throw new AppError('not_found');
    ctx.status = 200;
    ctx.type = file.contentType;
    ctx.set('Cache-Control', 'no-cache');
    ctx.lastModified = file.mtime;
    ctx.etag = `W/"${file.size.toString(16)}-${Math.floor(file.mtime.getTime()).toString(16)}"`;
    if (file.contentType.startsWith('text/html')) {
      ctx.set('Content-Security-Policy', csp);
      ctx.set('Referrer-Policy', 'strict-origin-when-cross-origin');
    }
    if (ctx.fresh) {
      ctx.status = 304;
      return;
    }
    // Koa drops the body of a HEAD answer and keeps its Content-Length; the files are small.
    ctx.body = await readFile(file.path);
  });
  return router;
}

/**
 * 'self' for everything; in sandbox mode the sandbox origin may also serve scripts (jsbridge.js) and be
 * called (its pay sheet pays through /sandbox/pay), and that pay sheet may style its elements with `style`
 * attributes (it is injected into our page; live, WeChat draws its own). QR codes are shown from blob: URLs.
 */
export function contentSecurityPolicy(sandboxUrl: string | undefined): string {
  const sandbox = sandboxUrl === undefined ? undefined : new URL(sandboxUrl).origin;
  const extra = sandbox === undefined ? '' : ` ${sandbox}`;
  return [
    "default-src 'self'",
    `script-src 'self'${extra}`,
    `connect-src 'self'${extra}`,
    "style-src 'self'",
    ...(sandbox === undefined ? [] : ["style-src-attr 'unsafe-inline'"]),
    "img-src 'self' blob: data:",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

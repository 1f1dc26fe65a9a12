import type { Context, Next } from 'koa';
import { sendJsonError } from '../http/json.ts';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * For the controls the sandbox console uses (README "The sandbox console"): a browser on any other page the
 * developer visits can POST here too, as a CORS "simple" request (a text/plain body needs no preflight, and
 * the sandbox reads JSON whatever the Content-Type), and pay pending orders or fire notifications. Browsers say
 * where a request comes from, so one from another origin (another port counts: a merchant app on :3000 is not
 * the sandbox) is refused with 403 CROSS_ORIGIN. A request that names no origin (curl, tests, SDKs, servers)
 * passes, as before. Reads are left alone: without CORS headers another page cannot read the answer anyway.
 *
 * Not for the buyer's pay paths (/sandbox/pay, /sandbox/app/pay, /sandbox/scan, the cashier, the JSBridge
 * stand-in): there the merchant's own page, on its own origin, is the legitimate caller.
 */
export async function sameOriginOnly(ctx: Context, next: Next): Promise<void> {
  if (SAFE_METHODS.has(ctx.method)) return next();
  const origin = ctx.get('Origin');
  // The origin this request was addressed to (Koa 3's ctx.origin is the Origin header, not this).
  const own = `${ctx.protocol}://${ctx.get('Host')}`;
  // `null` is what a sandboxed iframe, a file:// page or a redirect sends: never the console.
  if (origin && origin !== own) {
    return sendJsonError(
      ctx,
      403,
      'CROSS_ORIGIN',
      `the sandbox console's controls only accept requests from its own page (${own}), not from ${origin}`,
    );
  }
  // Sec-Fetch-Site covers a browser that sends no Origin: only the sandbox's own page (or no page) may call.
  const site = ctx.get('Sec-Fetch-Site');
  if (site && site !== 'same-origin' && site !== 'none') {
    return sendJsonError(
      ctx,
      403,
      'CROSS_ORIGIN',
      `the sandbox console's controls only accept requests from its own page, not from a ${site} page`,
    );
  }
  return next();
}

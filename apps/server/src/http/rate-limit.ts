/**
 * Limits on what buyers without a WeChat identity can cost us (docs/channels.md "Guest"). A guest session needs
 * no credential, and each order places a real prepay at WeChat and writes records to Redis, so:
 *  - guest sessions are counted per client address (GUEST_SESSIONS_PER_IP_PER_HOUR);
 *  - orders are counted per guest user (GUEST_ORDERS_PER_HOUR).
 * Beyond either: 429 rate_limited with Retry-After (seconds until the window ends). Windows are fixed
 * hours of the app clock (src/store/rate-limit.ts). Mini-program and official-account sessions are never
 * counted: the guest test is on the session already loaded, so they cost no extra Redis call.
 */
import { isIPv6 } from 'node:net';
import type { AppContext } from '../context.ts';
import { AppError } from '../errors.ts';
import { isGuest } from '../services/sessions.ts';
import type { RateLimitHit } from '../store/index.ts';
import { sessionOf } from './auth.ts';
import { clientIp } from './client-ip.ts';
import type { AppMiddleware, AppRouterContext } from './state.ts';

export const RATE_WINDOW_MS = 3_600_000;

/**
 * What one client address is, for counting: the IPv4 address, or an IPv6 address's /64 (a subscriber is usually
 * given a whole /64, so counting single IPv6 addresses would let one client pick a fresh one per request).
 * The address comes from Koa's ctx.ip: X-Forwarded-For counts only through TRUST_PROXY hops.
 */
export function addressBucket(ip: string): string {
  const address = clientIp(ip);
  if (!isIPv6(address)) return address;
  const bare = address.split('%')[0] as string; // a zone id (fe80::1%eth0) names an interface, not a host
  const [head = '', tail] = bare.split('::');
  const groups = (part: string | undefined) =>
    part === undefined || part === ''
      ? []
      : part.split(':').flatMap((g) => (g.includes('.') ? ['0', '0'] : [g]));
  const first = groups(head);
  const last = groups(tail);
  const all =
    tail === undefined
      ? first
      : [...first, ...Array<string>(8 - first.length - last.length).fill('0'), ...last];
  return `${all
    .slice(0, 4)
    .map((g) => parseInt(g, 16).toString(16))
    .join(':')}::/64`;
}

/** POST /api/session/guest: at most GUEST_SESSIONS_PER_IP_PER_HOUR per client address (0: the service refuses). */
export function guestSessionLimit(app: AppContext): AppMiddleware {
  return async (ctx, next) => {
    const limit = app.config.guests.sessionsPerIpPerHour;
    if (limit > 0) {
      await enforce(
        app,
        ctx,
        `guest-session:${addressBucket(ctx.ip)}`,
        limit,
        'guest sessions from this address',
      );
    }
    await next();
  };
}

/** POST /api/orders, after requireSession: at most GUEST_ORDERS_PER_HOUR per guest; other buyers pass untouched. */
export function guestOrderLimit(app: AppContext): AppMiddleware {
  return async (ctx, next) => {
    const session = sessionOf(ctx);
    if (isGuest(session)) {
      await enforce(app, ctx, `guest-orders:${session.userId}`, app.config.guests.ordersPerHour, 'orders');
    }
    await next();
  };
}

async function enforce(
  app: AppContext,
  ctx: AppRouterContext,
  bucket: string,
  limit: number,
  what: string,
): Promise<void> {
  const now = app.now();
  const hit: RateLimitHit = await app.store.rateLimits.hit(bucket, RATE_WINDOW_MS, now);
  if (hit.count <= limit) return;
  const retryAfter = Math.max(1, Math.ceil((hit.resetAt - now) / 1000));
  // The error handler keeps headers set before the throw.
  ctx.set('Retry-After', String(retryAfter));
  ctx.state.log.warn({ bucket: bucket.split(':')[0], limit }, 'guest rate limit reached');
  throw new AppError(
    'rate_limited',
    `At most ${limit} ${what} per hour; try again in ${Math.ceil(retryAfter / 60)} min.`,
  );
}

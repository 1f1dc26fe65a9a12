import { createHash, timingSafeEqual } from 'node:crypto';
import type { AppContext } from '../context.ts';
import { AppError } from '../errors.ts';
import type { AppMiddleware, AppRouterContext } from './state.ts';

const digest = (text: string) => createHash('sha256').update(text).digest();

/**
 * `Authorization: Bearer <token>` against ADMIN_TOKENS → ctx.state.admin (the staff member's name, for the audit
 * log). Tokens are compared as SHA-256 digests in constant time, and every configured token is compared, so the
 * time taken says nothing about which one (or how much of one) matched.
 */
export function requireAdmin(app: AppContext): AppMiddleware {
  const admins = app.config.admins.map((a) => ({ name: a.name, digest: digest(a.token) }));
  return async (ctx, next) => {
    const match = /^Bearer ([^\s]+)$/i.exec(ctx.get('authorization'));
    if (!match) throw new AppError('unauthorized');
    const offered = digest(match[1] as string);
    let name: string | undefined;
    for (const admin of admins) {
      if (timingSafeEqual(offered, admin.digest) && name === undefined) name = admin.name;
    }
    if (name === undefined) {
      ctx.state.log.warn({ security: 'admin_unauthorized' }, 'admin API: unknown token');
      throw new AppError('unauthorized');
    }
    ctx.state.admin = name;
    await next();
  };
}

export function adminOf(ctx: AppRouterContext): string {
  const admin = ctx.state.admin;
  if (admin === undefined) throw new Error('route declared without requireAdmin');
  return admin;
}

import type { AppContext } from '../context.ts';
import { AppError } from '../errors.ts';
import { authenticate, type Session } from '../services/sessions.ts';
import type { AppMiddleware, AppRouterContext } from './state.ts';

/** `Authorization: Bearer <token>` → ctx.state.session (401 unauthorized / session_expired otherwise). */
export function requireSession(app: AppContext): AppMiddleware {
  return async (ctx, next) => {
    const header = ctx.get('authorization');
    const match = /^Bearer ([^\s]+)$/i.exec(header);
    if (!match) throw new AppError('unauthorized');
    ctx.state.session = await authenticate(app, match[1] as string);
    await next();
  };
}

export function sessionOf(ctx: AppRouterContext): Session {
  const session = ctx.state.session;
  if (!session) throw new Error('route declared without requireSession');
  return session;
}

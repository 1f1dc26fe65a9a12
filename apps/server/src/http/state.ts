import type { RouterContext, RouterMiddleware } from '@koa/router';
import type { Logger } from '../logger.ts';
import type { Session } from '../services/sessions.ts';

/** Per-request state shared by the middleware pipeline. */
export interface AppState {
  requestId: string;
  log: Logger;
  /** Set by `requireSession`. */
  session?: Session;
  /** Set by `requireAdmin`: the staff member's name from ADMIN_TOKENS. */
  admin?: string;
  /** Set by `validate`: the parsed, typed input of the route. */
  input?: unknown;
  /** Set by `rawBody`: the exact bytes received. */
  rawBody?: Buffer;
}

export type AppMiddleware = RouterMiddleware<AppState>;
export type AppRouterContext = RouterContext<AppState>;

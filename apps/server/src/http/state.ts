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
  /** The error id of a refused request, for its access log line (set by the error handler or `refuse`). */
  errorId?: string;
  /** Why it was refused, when the id alone does not say (e.g. the notify body size cap). Never a secret. */
  errorReason?: string;
}

export type AppMiddleware = RouterMiddleware<AppState>;
export type AppRouterContext = RouterContext<AppState>;

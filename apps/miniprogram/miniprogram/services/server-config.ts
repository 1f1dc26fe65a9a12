/**
 * GET /api/config: whether the server runs against the mp-pay sandbox or live WeChat, and which subscribe
 * message templates it sends. Asked once per app launch (the answer cannot change while the server runs); a
 * failed attempt is forgotten so the next call asks again.
 */
import type { ClientConfigResponse } from '../generated/api';
import { API_ROUTES } from '../generated/api';
import { envVersion } from './env-version';
import { apiBaseUrl, sandboxAllowed } from './environment';
import { ApiError } from './errors';
import { logError } from './log';
import { isClientConfig, paidMessageTemplate } from './guards';
import { send, unwrap } from './http';

/** Sandbox mode with the fields it needs made non-optional. */
export interface SandboxConfig {
  mode: 'sandbox';
  sandboxUrl: string;
  appId: string;
}
export type ServerMode = SandboxConfig | { mode: 'live' };

interface ServerConfig {
  mode: ServerMode;
  /** The "payment succeeded" subscribe-message template, null when the server sends none. */
  paidMessageTemplate: string | null;
}

let pending: Promise<ServerConfig> | null = null;

function getServerConfig(): Promise<ServerConfig> {
  if (!pending) {
    pending = fetchConfig().catch((err: unknown) => {
      pending = null;
      throw err;
    });
  }
  return pending;
}

export async function getServerMode(): Promise<ServerMode> {
  return (await getServerConfig()).mode;
}

/**
 * The template id to ask the buyer about after paying (wx.requestSubscribeMessage), or null: then the pages
 * do not offer the subscription at all.
 */
export async function getPaidMessageTemplate(): Promise<string | null> {
  return (await getServerConfig()).paidMessageTemplate;
}

async function fetchConfig(): Promise<ServerConfig> {
  const res = await send({ method: 'GET', url: apiBaseUrl() + API_ROUTES.clientConfig });
  const body: ClientConfigResponse = unwrap(res, isClientConfig);
  const env = envVersion();
  if (body.mode === 'sandbox' && !sandboxAllowed(env)) {
    // A release build pays for real or not at all: a server left in sandbox mode must not take its orders.
    const detail = `the ${env} version refuses a server in sandbox mode (GET ${API_ROUTES.clientConfig})`;
    logError('sandbox refused', { env, mode: body.mode });
    throw new ApiError('sandbox_refused', detail);
  }
  const template = paidMessageTemplate(body);
  if (body.mode === 'sandbox' && body.sandboxUrl && body.appId !== undefined) {
    // The sandbox URL is used as a prefix: drop a trailing slash so paths join cleanly.
    const sandboxUrl = body.sandboxUrl.replace(/\/+$/, '');
    return { mode: { mode: 'sandbox', sandboxUrl, appId: body.appId }, paidMessageTemplate: template };
  }
  return { mode: { mode: 'live' }, paidMessageTemplate: template };
}

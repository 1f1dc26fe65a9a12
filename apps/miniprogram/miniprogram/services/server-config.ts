/**
 * GET /api/config: whether the server runs against the mp-pay sandbox or live WeChat. Asked once per app
 * launch (the answer cannot change while the server runs); a failed attempt is forgotten so the next call
 * asks again.
 */
import { config } from '../config';
import type { ClientConfigResponse } from '../generated/api';
import { API_ROUTES } from '../generated/api';
import { isClientConfig } from './guards';
import { send, unwrap } from './http';

/** Sandbox mode with the fields it needs made non-optional. */
export interface SandboxConfig {
  mode: 'sandbox';
  sandboxUrl: string;
  appId: string;
}
export type ServerMode = SandboxConfig | { mode: 'live' };

let pending: Promise<ServerMode> | null = null;

export function getServerMode(): Promise<ServerMode> {
  if (!pending) {
    pending = fetchMode().catch((err: unknown) => {
      pending = null;
      throw err;
    });
  }
  return pending;
}

async function fetchMode(): Promise<ServerMode> {
  const res = await send({ method: 'GET', url: config.apiBaseUrl + API_ROUTES.clientConfig });
  const body: ClientConfigResponse = unwrap(res, isClientConfig);
  if (body.mode === 'sandbox' && body.sandboxUrl && body.appId !== undefined) {
    // The sandbox URL is used as a prefix: drop a trailing slash so paths join cleanly.
    return { mode: 'sandbox', sandboxUrl: body.sandboxUrl.replace(/\/+$/, ''), appId: body.appId };
  }
  return { mode: 'live' };
}

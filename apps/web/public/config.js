// @ts-check
/** `GET /api/config`, once per page: sandbox or live, and where the sandbox's stand-ins for WeChat live. */
import { API_PATHS, callJson } from './api.js';

/** @typedef {import('@mp-pay/shared/api').ClientConfigResponse} ClientConfigResponse */

/** @type {Promise<ClientConfigResponse> | undefined} */
let cached;

/** @returns {Promise<ClientConfigResponse>} */
export function clientConfig() {
  cached ??= callJson(API_PATHS.clientConfig).catch((err) => {
    cached = undefined;
    throw err;
  });
  return cached;
}

/**
 * The sandbox's base URL in sandbox mode, else undefined.
 * @param {ClientConfigResponse} config
 * @returns {string | undefined}
 */
export function sandboxBase(config) {
  return config.mode === 'sandbox' && config.sandboxUrl ? config.sandboxUrl.replace(/\/+$/, '') : undefined;
}

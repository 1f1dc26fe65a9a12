/**
 * Which version of the mini-program is running (develop / trial / release) and the guards that depend on it.
 *
 * - The merchant server's URL is picked per version from config.apiBaseUrls.
 * - Outside develop every request must be https: WeChat refuses anything else on a phone outside 开发调试, so an
 *   http URL is refused here with a message naming the URL instead of an obscure `request:fail`.
 * - The release build never talks to the mp-pay sandbox (see server-config.ts).
 *
 * The pure functions take the version as an argument so each guard is tested on its own; the wrappers read it
 * from WeChat.
 */
import { config } from '../config';
import type { EnvVersion } from './env-version';
import { envVersion, withoutQuery } from './env-version';
import { ApiError } from './errors';

/** Throws ApiError config_error unless `url` may be requested in this version (https outside develop). */
export function checkRequestUrl(env: EnvVersion, url: string): void {
  if (env === 'develop') return;
  if (!/^https:\/\//i.test(url)) {
    throw new ApiError(
      'config_error',
      `the ${env} version only requests https URLs (listed under request 合法域名); refused ${withoutQuery(url)}` +
        ' — set config.apiBaseUrls in config.ts',
    );
  }
}

/** The merchant server for `env`, checked (https outside develop, no trailing slash). */
export function apiBaseFor(env: EnvVersion): string {
  const url = config.apiBaseUrls[env].replace(/\/+$/, '');
  checkRequestUrl(env, url);
  return url;
}

/** The merchant server for the running version. */
export function apiBaseUrl(): string {
  return apiBaseFor(envVersion());
}

/** Whether a server in sandbox mode may be used: never by the release build, whatever the server says. */
export function sandboxAllowed(env: EnvVersion): boolean {
  return env !== 'release';
}

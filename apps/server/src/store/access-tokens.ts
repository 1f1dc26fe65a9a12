/**
 * The mini-program's access token (cgi-bin/token), shared by every server process (docs/subscribe-messages.md).
 * WeChat keeps one current token per app: each fetch replaces the previous one (which keeps working about
 * 5 minutes), so processes fetching on their own would keep invalidating each other's. One cached token, and a
 * short lock so that only one process fetches at a time, avoid that. Times come from the caller's clock.
 */

export interface CachedAccessToken {
  /** Server-side only: never logged, never sent to a client. */
  token: string;
  /** Epoch ms after which it is fetched again (ahead of its expiry). */
  refreshAt: number;
  /** Epoch ms when WeChat stops accepting it. */
  expiresAt: number;
}

export interface AccessTokenStore {
  get(appId: string): Promise<CachedAccessToken | undefined>;
  /** Takes the app's fetch lock for `ttlMs` when nobody holds it; whether this caller got it. */
  lock(appId: string, owner: string, ttlMs: number, now: number): Promise<boolean>;
  /** Stores a token fetched under the lock (kept until its expiry) and releases the lock, if still `owner`'s. */
  save(appId: string, token: CachedAccessToken, owner: string, now: number): Promise<void>;
  /** Releases the lock without a token (the fetch failed), if still `owner`'s. */
  unlock(appId: string, owner: string): Promise<void>;
}

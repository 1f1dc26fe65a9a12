/**
 * The Redis store's access-token cache (src/store/access-tokens.ts): the token and its fetch lock share the hash
 * tag `{token:<appid>}`, so save-access-token.lua names keys of one Cluster slot.
 */
import type { AccessTokenStore, CachedAccessToken } from '../access-tokens.ts';
import { guard, type RedisClient } from './connect.ts';
import type { Scripts } from './scripts.ts';

export const accessTokenKey = (prefix: string, appId: string) => `${prefix}{token:${appId}}`;

export class RedisAccessTokenStore implements AccessTokenStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly scripts: Scripts,
    private readonly prefix: string,
  ) {}

  async get(appId: string): Promise<CachedAccessToken | undefined> {
    const raw = await guard(this.redis.get(accessTokenKey(this.prefix, appId)));
    if (raw === null) return undefined;
    const parsed = JSON.parse(raw) as Partial<CachedAccessToken>;
    if (typeof parsed.token !== 'string' || typeof parsed.expiresAt !== 'number') return undefined;
    return { token: parsed.token, refreshAt: Number(parsed.refreshAt ?? 0), expiresAt: parsed.expiresAt };
  }

  async lock(appId: string, owner: string, ttlMs: number): Promise<boolean> {
    const key = `${accessTokenKey(this.prefix, appId)}:lock`;
    return (await guard(this.scripts.lockAccessToken(key, owner, Math.max(1, Math.round(ttlMs))))) === 1;
  }

  async save(appId: string, token: CachedAccessToken, owner: string, now: number): Promise<void> {
    const key = accessTokenKey(this.prefix, appId);
    const ttlMs = Math.max(1, Math.round(token.expiresAt - now));
    await guard(this.scripts.saveAccessToken(key, `${key}:lock`, JSON.stringify(token), ttlMs, owner));
  }

  async unlock(appId: string, owner: string): Promise<void> {
    const key = accessTokenKey(this.prefix, appId);
    await guard(this.scripts.saveAccessToken(key, `${key}:lock`, '', 1, owner));
  }
}

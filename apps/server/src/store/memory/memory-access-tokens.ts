/** The memory store's access-token cache: mirrors lock-access-token.lua and save-access-token.lua. */
import type { AccessTokenStore, CachedAccessToken } from '../access-tokens.ts';

export class MemoryAccessTokenStore implements AccessTokenStore {
  readonly #tokens = new Map<string, CachedAccessToken>();
  readonly #locks = new Map<string, { owner: string; until: number }>();

  async get(appId: string): Promise<CachedAccessToken | undefined> {
    const token = this.#tokens.get(appId);
    return token && { ...token };
  }

  async lock(appId: string, owner: string, ttlMs: number, now: number): Promise<boolean> {
    const held = this.#locks.get(appId);
    if (held !== undefined && held.until > now) return false;
    this.#locks.set(appId, { owner, until: now + ttlMs });
    return true;
  }

  async save(appId: string, token: CachedAccessToken, owner: string): Promise<void> {
    this.#tokens.set(appId, { ...token });
    await this.unlock(appId, owner);
  }

  async unlock(appId: string, owner: string): Promise<void> {
    if (this.#locks.get(appId)?.owner === owner) this.#locks.delete(appId);
  }
}

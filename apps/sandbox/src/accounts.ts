import type { SandboxAccount, SandboxConfig } from './config.ts';

/**
 * The apps and merchants the sandbox knows, as WeChat's registry would: an AppID has a secret, a merchant id
 * has an API key, and a merchant may only take payments for the AppIDs bound to it.
 */
export class Accounts {
  readonly #byAppId = new Map<string, SandboxAccount>();
  readonly #byMchId = new Map<string, SandboxAccount>();
  readonly #bindings = new Set<string>();

  constructor(config: SandboxConfig) {
    for (const account of [config, ...config.extraAccounts]) {
      const copy: SandboxAccount = {
        appId: account.appId,
        secret: account.secret,
        mchId: account.mchId,
        key: account.key,
      };
      if (!this.#byAppId.has(copy.appId)) this.#byAppId.set(copy.appId, copy);
      if (!this.#byMchId.has(copy.mchId)) this.#byMchId.set(copy.mchId, copy);
      this.#bindings.add(`${copy.appId}:${copy.mchId}`);
    }
  }

  app(appId: string | undefined): SandboxAccount | undefined {
    return appId === undefined ? undefined : this.#byAppId.get(appId);
  }

  merchant(mchId: string | undefined): SandboxAccount | undefined {
    return mchId === undefined ? undefined : this.#byMchId.get(mchId);
  }

  bound(appId: string, mchId: string): boolean {
    return this.#bindings.has(`${appId}:${mchId}`);
  }
}

import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import type { AppKind, SandboxAccount, SandboxConfig } from './config.ts';

/** What WeChat knows about a merchant's APIv3 identity: its certificate's public key and serial, its APIv3 key. */
export interface MerchantV3 {
  publicKey: KeyObject;
  /** Upper-case hex, as WeChat prints serials. */
  certSerial: string;
  apiV3Key: string;
}

/**
 * The apps and merchants the sandbox knows, as WeChat's registry would: an AppID has a secret, a merchant id
 * has an API key (and, for APIv3, a certificate and an APIv3 key), and a merchant may only take payments for
 * the AppIDs bound to it. Extra accounts without APIv3 credentials share the main merchant's.
 */
export class Accounts {
  readonly #byAppId = new Map<string, SandboxAccount>();
  readonly #byMchId = new Map<string, SandboxAccount>();
  readonly #v3 = new Map<string, MerchantV3>();
  readonly #bindings = new Set<string>();
  readonly #kinds = new Map<string, AppKind>();

  constructor(config: SandboxConfig) {
    const publicKeys = new Map<string, KeyObject>();
    const publicKeyOf = (pem: string): KeyObject => {
      let key = publicKeys.get(pem);
      if (!key) {
        key = createPublicKey(createPrivateKey(pem));
        publicKeys.set(pem, key);
      }
      return key;
    };
    // The official account and the mobile app of docs/channels.md: more AppIDs of the main merchant.
    const channelApps: SandboxAccount[] = [
      { ...config.officialAccount, mchId: config.mchId, key: config.key, kind: 'official_account' },
      { ...config.app, mchId: config.mchId, key: config.key, kind: 'app' },
    ];
    for (const account of [config, ...channelApps, ...config.extraAccounts]) {
      const copy: SandboxAccount = {
        appId: account.appId,
        secret: account.secret,
        mchId: account.mchId,
        key: account.key,
      };
      if (!this.#byAppId.has(copy.appId)) {
        this.#byAppId.set(copy.appId, copy);
        this.#kinds.set(copy.appId, account === config ? 'miniprogram' : (account.kind ?? 'miniprogram'));
      }
      if (!this.#byMchId.has(copy.mchId)) {
        this.#byMchId.set(copy.mchId, copy);
        this.#v3.set(copy.mchId, {
          publicKey: publicKeyOf(account.privateKey ?? config.privateKey),
          certSerial: (account.certSerial ?? config.certSerial).toUpperCase(),
          apiV3Key: account.apiV3Key ?? config.apiV3Key,
        });
      }
      this.#bindings.add(`${copy.appId}:${copy.mchId}`);
    }
  }

  app(appId: string | undefined): SandboxAccount | undefined {
    return appId === undefined ? undefined : this.#byAppId.get(appId);
  }

  merchant(mchId: string | undefined): SandboxAccount | undefined {
    return mchId === undefined ? undefined : this.#byMchId.get(mchId);
  }

  merchantV3(mchId: string | undefined): MerchantV3 | undefined {
    return mchId === undefined ? undefined : this.#v3.get(mchId);
  }

  /** What the AppID belongs to (undefined when unknown). */
  kind(appId: string | undefined): AppKind | undefined {
    return appId === undefined ? undefined : this.#kinds.get(appId);
  }

  bound(appId: string, mchId: string): boolean {
    return this.#bindings.has(`${appId}:${mchId}`);
  }
}

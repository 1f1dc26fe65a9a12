import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { SANDBOX_DEMO_COMBINE_SUB_MERCHANTS } from '@mp-pay/shared/wechatpay';
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
  /** `${combineMchId}:${subMchId}`: merchants whose trades may be sub-orders of the other's combine orders. */
  readonly #combineLinks = new Set<string>();

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
    // The combine demo sub-merchants (SANDBOX_DEMO_COMBINE_SUB_MERCHANTS), bound to every demo app and linked to
    // the main merchant, with credentials of their own: a sub-order is a trade of its own merchant.
    const subMerchants: SandboxAccount[] = SANDBOX_DEMO_COMBINE_SUB_MERCHANTS.flatMap((sub) =>
      [config.appId, config.officialAccount.appId, config.app.appId].map((appId) => ({
        appId,
        secret: config.secret,
        mchId: sub.mchId,
        key: sub.key,
        apiV3Key: sub.apiV3Key,
        privateKey: sub.mchPrivateKey,
        certSerial: sub.mchCertSerial,
      })),
    );
    for (const sub of SANDBOX_DEMO_COMBINE_SUB_MERCHANTS)
      this.#combineLinks.add(`${config.mchId}:${sub.mchId}`);
    for (const account of [config, ...channelApps, ...config.extraAccounts, ...subMerchants]) {
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

  /** May `subMchId` take a sub-order of a combine order placed by `combineMchId` (itself always may)? */
  combineLinked(combineMchId: string, subMchId: string): boolean {
    return combineMchId === subMchId || this.#combineLinks.has(`${combineMchId}:${subMchId}`);
  }
}

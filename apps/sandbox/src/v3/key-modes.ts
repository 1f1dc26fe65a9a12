import type { SandboxConfig, V3KeyMode } from '../config.ts';
import { BoundedMap } from '../state.ts';

export interface KeyModeSetting {
  mode: V3KeyMode;
  /** Migration only: the share (0..1) of notifications signed with the public key. */
  publicKeyShare: number;
}

/**
 * Each merchant's APIv3 signing mode (docs/protocol.md §7 "Platform certificates and the public key"). The
 * main merchant starts from the config; POST /sandbox/v3/key-mode changes any merchant at run time, the way
 * a merchant switches in the console.
 */
export class KeyModes {
  readonly #byMerchant = new BoundedMap<string, KeyModeSetting>(1_000);
  readonly #default: KeyModeSetting;

  constructor(config: SandboxConfig) {
    this.#default = { mode: config.v3KeyMode, publicKeyShare: config.v3PublicKeyShare };
  }

  for(mchId: string | undefined): KeyModeSetting {
    return (mchId === undefined ? undefined : this.#byMerchant.get(mchId)) ?? this.#default;
  }

  set(mchId: string, setting: KeyModeSetting): void {
    this.#byMerchant.set(mchId, setting);
  }
}

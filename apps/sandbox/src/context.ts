import { Accounts } from './accounts.ts';
import { BillDesk } from './bills/desk.ts';
import type { SandboxConfig } from './config.ts';
import { Faults } from './faults.ts';
import { createState, type SandboxState } from './state.ts';
import { SandboxClock } from './time.ts';
import { TimerSet } from './timers.ts';
import { KeyModes } from './v3/key-modes.ts';
import { Platform } from './v3/platform.ts';

/** Everything a route needs, built once per running sandbox (no module-level state: tests run many). */
export interface SandboxContext {
  config: SandboxConfig;
  accounts: Accounts;
  state: SandboxState;
  faults: Faults;
  clock: SandboxClock;
  timers: TimerSet;
  /** WeChat Pay's APIv3 signing key, published as a public key and as a platform certificate. */
  platform: Platform;
  /** Each merchant's APIv3 signing mode (public key, certificate, migration). */
  keyModes: KeyModes;
  /** Aborted on close, so in-flight notification deliveries stop too. */
  shutdown: AbortController;
  /** Bill-only tampering, v3 download tokens (bills/desk.ts). */
  bills: BillDesk;
  /** Where it listens, once it does: the HTTP base URL and the mutual-TLS one (refunds). */
  endpoints: { url?: string; tlsUrl?: string };
}

export function createContext(config: SandboxConfig): SandboxContext {
  return {
    config,
    accounts: new Accounts(config),
    state: createState(config),
    faults: new Faults(),
    clock: new SandboxClock(config.timeScale),
    timers: new TimerSet(),
    platform: new Platform(),
    keyModes: new KeyModes(config),
    shutdown: new AbortController(),
    bills: new BillDesk(),
    endpoints: {},
  };
}

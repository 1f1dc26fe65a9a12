import { Accounts } from './accounts.ts';
import type { SandboxConfig } from './config.ts';
import { Faults } from './faults.ts';
import { createState, type SandboxState } from './state.ts';
import { SandboxClock } from './time.ts';
import { TimerSet } from './timers.ts';

/** Everything a route needs, built once per running sandbox (no module-level state: tests run many). */
export interface SandboxContext {
  config: SandboxConfig;
  accounts: Accounts;
  state: SandboxState;
  faults: Faults;
  clock: SandboxClock;
  timers: TimerSet;
  /** Aborted on close, so in-flight notification deliveries stop too. */
  shutdown: AbortController;
}

export function createContext(config: SandboxConfig): SandboxContext {
  return {
    config,
    accounts: new Accounts(config),
    state: createState(config),
    faults: new Faults(),
    clock: new SandboxClock(config.timeScale),
    timers: new TimerSet(),
    shutdown: new AbortController(),
  };
}

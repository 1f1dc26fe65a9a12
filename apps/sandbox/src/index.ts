/**
 * @mp-pay/sandbox: a local WeChat (login + WeChat Pay v2) for development and tests. See README.md.
 */
export { startSandbox, type RunningSandbox, type StartSandboxOptions } from './server.ts';
export {
  loadSandboxConfig,
  validateSandboxConfig,
  SandboxConfigError,
  SANDBOX_DEFAULTS,
  type SandboxConfig,
  type SandboxAccount,
} from './config.ts';
export { RETRY_DELAYS_MS } from './notifier.ts';
export type { FaultSettings } from './faults.ts';
export type { TradeState, NotificationAttempt } from './state.ts';

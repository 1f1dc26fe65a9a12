/**
 * @mp-pay/sandbox: a local WeChat (login + WeChat Pay v2 and v3) for development and tests. See README.md.
 */
export { startSandbox, type RunningSandbox, type StartSandboxOptions } from './server.ts';
export {
  loadSandboxConfig,
  validateSandboxConfig,
  SandboxConfigError,
  SANDBOX_DEFAULTS,
  SANDBOX_DEFAULT_TLS_PORT,
  V3_KEY_MODES,
  type V3KeyMode,
  type SandboxConfig,
  type SandboxAccount,
  type AppKind,
  type ChannelApp,
} from './config.ts';
export { RETRY_DELAYS_MS } from './notifier.ts';
export type { FaultSettings } from './faults.ts';
export type {
  TradeType,
  TradeState,
  ReportedTradeState,
  NotificationAttempt,
  RefundRecord,
  RefundStatus,
} from './state.ts';

/** @mp-pay/server: the merchant backend. `startServer` is the programmatic entry point (tests, demo, main.ts). */
export { startServer, type RunningServer, type StartServerOptions } from './server.ts';
export { loadConfig, ConfigError, type ServerConfig, type Env } from './config.ts';
export type { OrderEvent } from './store/index.ts';

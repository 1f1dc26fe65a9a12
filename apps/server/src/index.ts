/** @mp-pay/server: the merchant backend. `startServer` is the programmatic entry point (tests, demo, main.ts). */
export { startServer, type RunningServer, type StartServerOptions } from './server.ts';
export { loadConfig, ConfigError, type ServerConfig, type Env } from './config.ts';
// The error catalogue (stable id, status, message): what a client or a test may rely on in an error reply.
export { ERRORS, type CatalogueEntry } from './errors.ts';
// The store, for tools that must write or read the server's durable state the way the server does: the bench
// seeds thousands of pending orders through the same create-order Lua script, and the fault suites read the
// Redis keys directly while the server under test is down or being killed.
export { openStore } from './store/index.ts';
export type { OrderEvent, Store } from './store/index.ts';
export { redisKeys, type RedisKeys } from './store/redis/keys.ts';

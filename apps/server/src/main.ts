/**
 * `pnpm start`: loads the repository's .env when there is one, validates the configuration (a bad setting stops
 * here, with how to fix it), starts the server and shuts down gracefully on SIGINT/SIGTERM.
 *
 * Everything it says goes through pino (JSON, or pretty with LOG_FORMAT=pretty / NODE_ENV=development): the
 * banner is a few info lines with fields. Only a configuration error, found before a logger can exist, goes to
 * stderr as plain text, once.
 */
import { fileURLToPath } from 'node:url';
import { ConfigError, loadConfig, processEnv, type ServerConfig } from './config.ts';
import { createLogger } from './logger.ts';
import { startServer } from './server.ts';

const env = processEnv(fileURLToPath(new URL('../../../.env', import.meta.url)));

let config: ServerConfig;
try {
  config = loadConfig(env);
} catch (err) {
  if (err instanceof ConfigError) {
    process.stderr.write(`mp-pay server: ${err.message}\nSee .env.example at the repository root.\n`);
    process.exit(1);
  }
  throw err;
}

const log = createLogger(config);
let server;
try {
  server = await startServer({ env, logger: log });
} catch (err) {
  log.fatal({ err }, `could not start: ${(err as Error).message}`);
  process.exit(1);
}
const running = server;
log.info(
  {
    url: running.url,
    mode: running.config.mode,
    store: running.store.orders.kind,
    api: `${running.url}/api/products`,
    shop: `${running.url}/shop/`,
    metrics: running.metricsUrl,
    ...(running.config.sandboxUrl ? { sandbox: running.config.sandboxUrl } : {}),
  },
  `mp-pay server ready at ${running.url}`,
);

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) process.exit(1);
    stopping = true;
    log.info({ signal }, 'finishing in-flight work, then exiting');
    running.close().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  });
}

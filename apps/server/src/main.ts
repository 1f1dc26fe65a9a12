/**
 * `pnpm start`: loads the repository's .env when there is one, validates the configuration (a bad setting stops
 * here, with how to fix it), starts the server and shuts down gracefully on SIGINT/SIGTERM.
 */
import { fileURLToPath } from 'node:url';
import { ConfigError, loadConfig, processEnv } from './config.ts';
import { startServer } from './server.ts';

const env = processEnv(fileURLToPath(new URL('../../../.env', import.meta.url)));

try {
  loadConfig(env);
} catch (err) {
  if (err instanceof ConfigError) {
    console.error(`mp-pay server: ${err.message}\nSee .env.example at the repository root.`);
    process.exit(1);
  }
  throw err;
}

let server;
try {
  server = await startServer({ env });
} catch (err) {
  console.error(`mp-pay server: could not start: ${(err as Error).message}`);
  process.exit(1);
}
const running = server;
console.log(
  `mp-pay server  ${running.url}  (${running.config.mode} mode, ${running.store.orders.kind} store)`,
);
console.log(`  API          ${running.url}/api/products`);
console.log(`  notify_url   ${(running.config.publicBaseUrl ?? running.url) + '/wechatpay/notify'}`);
if (running.config.sandboxUrl) console.log(`  sandbox      ${running.config.sandboxUrl}`);

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) process.exit(1);
    stopping = true;
    console.log(`mp-pay server: ${signal}, finishing in-flight work…`);
    running.close().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error(err);
        process.exit(1);
      },
    );
  });
}

/**
 * The system under test in its own process: the real mp-pay server (startServer), configured by the
 * environment bench/run.ts passes. Prints `READY <url>`.
 */
import { startServer } from '@mp-pay/server';

const server = await startServer({ env: process.env, port: 0 });
console.log(`READY ${server.url}`);
process.on('SIGTERM', () => {
  void server.close().then(() => process.exit(0));
});

/**
 * A server in a process of its own, for the suites that kill it: `node --import tsx server-main.ts`, configured
 * entirely by the environment (PORT, REDIS_URL, ...). Prints `READY <url>` once it listens.
 */
import { startServer } from '../../../src/index.ts';

const server = await startServer({ env: process.env });
process.stdout.write(`READY ${server.url}\n`);

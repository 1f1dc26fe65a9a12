// Entry point of `pnpm mp-pay <command>` and of bin/mp-pay.js: the commands live in cli.ts.
import { processIo, run } from './cli.ts';

process.exitCode = await run(process.argv.slice(2), processIo());

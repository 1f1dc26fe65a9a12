/** The mp-pay sandbox in its own process for the order-creation benchmark. Prints `READY <url>`. */
import { startSandbox } from '@mp-pay/sandbox';

const sandbox = await startSandbox({ port: 0, maxOrders: 100_000, maxCodes: 10_000 });
console.log(`READY ${sandbox.url}`);
process.on('SIGTERM', () => {
  void sandbox.close().then(() => process.exit(0));
});

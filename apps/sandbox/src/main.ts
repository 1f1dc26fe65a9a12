import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadSandboxConfig, sandboxRefusal, SandboxConfigError } from './config.ts';
import { startSandbox } from './server.ts';

// One .env at the repo root configures the sandbox and the server alike; real environment variables win.
const envFile = fileURLToPath(new URL('../../../.env', import.meta.url));
if (existsSync(envFile)) process.loadEnvFile(envFile);

const refusal = sandboxRefusal();
if (refusal) {
  // Exit 0: `pnpm -r --parallel start` would otherwise stop the server it starts alongside.
  console.log(refusal);
  process.exit(0);
}

let config;
try {
  config = loadSandboxConfig(); // reads process.env, now including the .env file
} catch (err) {
  if (err instanceof SandboxConfigError) {
    console.error(err.message);
    process.exit(1);
  }
  throw err;
}

let sandbox;
try {
  sandbox = await startSandbox(config);
} catch (err) {
  // A second `pnpm start` (or anything else on the port) otherwise ends in a raw Node stack trace.
  const busy = (err as NodeJS.ErrnoException).code === 'EADDRINUSE';
  console.error(
    `mp-pay sandbox: could not start: ${(err as Error).message}` +
      (busy
        ? `\nIs another sandbox (pnpm start) already running? Stop it, or set SANDBOX_PORT in .env (the server follows it).`
        : ''),
  );
  process.exit(1);
}
console.log(`mp-pay sandbox (local WeChat login + Pay v2 and v3) listening on ${sandbox.url}
  Console:    open ${sandbox.url}/ in a browser (orders, notifications, faults, clock, live)
  app ${config.appId}, merchant ${config.mchId}, time scale ${config.timeScale}, APIv3 ${config.v3KeyMode} mode
  Point clients at it:
    WECHAT_API_BASE=${sandbox.url}      (jscode2session)
    WECHATPAY_API_BASE=${sandbox.url}   (unifiedorder, orderquery, closeorder, refundquery; /v3/pay/transactions/…, /v3/refund/…)
  Refunds (mutual TLS, demo client certificate: GET ${sandbox.url}/sandbox/tls): POST ${sandbox.tlsUrl}/secapi/pay/refund
  WeChat Pay public key: GET ${sandbox.url}/sandbox/v3/public-key
  Buyer side: POST ${sandbox.url}/sandbox/login-codes and ${sandbox.url}/sandbox/pay
  Channels:   official account ${config.officialAccount.appId} (OAuth: WECHAT_OAUTH_BASE=${sandbox.url}; JSBridge: ${sandbox.url}/sandbox/jsbridge.js),
              app ${config.app.appId} (POST /sandbox/app/pay), H5 cashier (Referer hosts: ${config.h5Domains.join(', ')}),
              scanner ${sandbox.url}/sandbox/scan?url=… (mode-1 scans go to ${config.nativeCallbackUrl})
  Inspect:    GET  ${sandbox.url}/sandbox/orders/<out_trade_no>`);

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: stopping the sandbox`);
    void sandbox.close().then(() => process.exit(0));
  });
}

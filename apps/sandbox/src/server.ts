import { createServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Server } from 'node:net';
import { SANDBOX_DEMO_TLS } from '@mp-pay/shared/wechatpay';
import { createApp } from './app.ts';
import { SANDBOX_DEFAULTS, validateSandboxConfig, type SandboxConfig } from './config.ts';
import { createContext } from './context.ts';
import { Notifier } from './notifier.ts';

export type StartSandboxOptions = Partial<SandboxConfig> & { port?: number; host?: string };

export interface RunningSandbox {
  /** http://127.0.0.1:<port>: the base URL for both the login and the pay clients. */
  url: string;
  /**
   * https://127.0.0.1:<tlsPort>: the mutual-TLS listener, for `/secapi/pay/refund`. It trusts client
   * certificates of the demo CA only (SANDBOX_DEMO_TLS in @mp-pay/shared/wechatpay).
   */
  tlsUrl: string;
  config: SandboxConfig;
  close(): Promise<void>;
}

/**
 * Starts a sandbox. Options not given take the demo defaults (not the environment: tests must not depend on a
 * developer's .env; main.ts passes loadSandboxConfig(process.env)). Port 0 picks a free port.
 */
export async function startSandbox(options: StartSandboxOptions = {}): Promise<RunningSandbox> {
  const defined = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
  // Port 0 (tests, parallel runs) means any free port for the TLS listener too, unless it is named.
  const tlsPort = options.tlsPort ?? (options.port === 0 ? 0 : SANDBOX_DEFAULTS.tlsPort);
  const config = validateSandboxConfig({ ...SANDBOX_DEFAULTS, ...defined, tlsPort });
  const sandbox = createContext(config);
  const notifier = new Notifier(sandbox);
  const app = createApp(sandbox, notifier);
  const server = createServer(app.callback());
  server.keepAliveTimeout = 5_000;
  // WeChat's /secapi/ host: the handshake itself refuses a client without a certificate of the demo CA, as
  // api.mch.weixin.qq.com refuses one without the merchant's apiclient_cert.
  const tlsServer = createHttpsServer(
    {
      key: SANDBOX_DEMO_TLS.serverKey,
      cert: SANDBOX_DEMO_TLS.serverCert,
      ca: SANDBOX_DEMO_TLS.caCert,
      requestCert: true,
      rejectUnauthorized: true,
    },
    app.callback(),
  );
  tlsServer.keepAliveTimeout = 5_000;

  await listen(server, config.port, config.host);
  try {
    await listen(tlsServer, config.tlsPort, config.host);
  } catch (err) {
    server.close();
    throw err;
  }
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  const shown = host === '0.0.0.0' || host === '[::]' ? '127.0.0.1' : host;
  const { port } = server.address() as AddressInfo;
  const { port: tlsPortBound } = tlsServer.address() as AddressInfo;
  const url = `http://${shown}:${port}`;
  const tlsUrl = `https://${shown}:${tlsPortBound}`;
  sandbox.endpoints.url = url;
  sandbox.endpoints.tlsUrl = tlsUrl;

  let closing: Promise<void> | undefined;
  return {
    url,
    tlsUrl,
    config: { ...config, port, tlsPort: tlsPortBound },
    close() {
      closing ??= new Promise<void>((resolve) => {
        sandbox.timers.cancelAll();
        sandbox.shutdown.abort();
        let open = 2;
        const done = () => {
          if (--open === 0) resolve();
        };
        server.close(done);
        tlsServer.close(done);
        server.closeAllConnections();
        tlsServer.closeAllConnections();
      });
      return closing;
    },
  };
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

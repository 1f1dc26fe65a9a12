import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp } from './app.ts';
import { SANDBOX_DEFAULTS, validateSandboxConfig, type SandboxConfig } from './config.ts';
import { createContext } from './context.ts';
import { Notifier } from './notifier.ts';

export type StartSandboxOptions = Partial<SandboxConfig> & { port?: number; host?: string };

export interface RunningSandbox {
  /** http://127.0.0.1:<port>: the base URL for both the login and the pay clients. */
  url: string;
  config: SandboxConfig;
  close(): Promise<void>;
}

/**
 * Starts a sandbox. Options not given take the demo defaults (not the environment: tests must not depend on a
 * developer's .env; main.ts passes loadSandboxConfig(process.env)). Port 0 picks a free port.
 */
export async function startSandbox(options: StartSandboxOptions = {}): Promise<RunningSandbox> {
  const defined = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
  const config = validateSandboxConfig({ ...SANDBOX_DEFAULTS, ...defined });
  const sandbox = createContext(config);
  const notifier = new Notifier(sandbox);
  const app = createApp(sandbox, notifier);
  const server = createServer(app.callback());
  server.keepAliveTimeout = 5_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  const url = `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`;

  let closing: Promise<void> | undefined;
  return {
    url,
    config: { ...config, port },
    close() {
      closing ??= new Promise<void>((resolve) => {
        sandbox.timers.cancelAll();
        sandbox.shutdown.abort();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

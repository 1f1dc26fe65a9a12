/**
 * `pnpm demo`: one buyer through the whole flow against a running sandbox + server (`pnpm start`), printing
 * each step: login code → session → order (JSAPI unified order, re-signed parameters) → payment through the
 * sandbox payer → the notification → PAID.
 *
 *   pnpm demo                      against http://127.0.0.1:$PORT (3000; the repository's .env is read, as by
 *                                  `pnpm start`), or MP_PAY_SERVER_URL
 *   pnpm demo --standalone         starts its own sandbox and server (memory store) on free ports first
 */
import type {
  ClientConfigResponse,
  CreateOrderResponse,
  ErrorBody,
  OrderResponse,
  ProductListResponse,
  SessionResponse,
} from '@mp-pay/shared/api';
import { fileURLToPath } from 'node:url';
import { processEnv } from '../src/config.ts';

// `pnpm start` listens on the PORT of the repository's .env; read the same file, or a PORT changed there sends
// the demo to a port nothing listens on.
const env = processEnv(fileURLToPath(new URL('../../../.env', import.meta.url)));
const standalone = process.argv.includes('--standalone');
let serverUrl = (env.MP_PAY_SERVER_URL ?? `http://127.0.0.1:${env.PORT || 3000}`).replace(/\/+$/, '');
const closers: (() => Promise<void>)[] = [];

const step = (n: number, text: string) => console.log(`\n${n}. ${text}`);
const show = (label: string, value: unknown) =>
  console.log(`   ${label.padEnd(14)} ${typeof value === 'string' ? value : JSON.stringify(value)}`);

async function call<T>(url: string, init?: RequestInit & { json?: unknown }): Promise<T> {
  const { json, ...rest } = init ?? {};
  const res = await fetch(url, {
    ...rest,
    ...(json === undefined
      ? {}
      : {
          method: rest.method ?? 'POST',
          body: JSON.stringify(json),
          headers: { 'content-type': 'application/json', ...rest.headers },
        }),
  });
  const body = (await res.json().catch(() => ({}))) as T & Partial<ErrorBody>;
  if (!res.ok)
    throw new Error(
      `${init?.method ?? (json ? 'POST' : 'GET')} ${url} → HTTP ${res.status} ${JSON.stringify(body)}`,
    );
  return body;
}

async function main(): Promise<void> {
  if (standalone) {
    const { startSandbox } = await import('@mp-pay/sandbox');
    const { startServer } = await import('../src/index.ts');
    const sandbox = await startSandbox({ port: 0 });
    const server = await startServer({
      port: 0,
      env: { SANDBOX_PORT: new URL(sandbox.url).port, LOG_LEVEL: 'warn' },
    });
    closers.push(
      () => server.close(),
      () => sandbox.close(),
    );
    serverUrl = server.url;
    console.log(`Started a sandbox at ${sandbox.url} and a server at ${server.url} (memory store).`);
  }

  step(1, `Server ${serverUrl}: GET /api/config`);
  let config: ClientConfigResponse;
  try {
    config = await call<ClientConfigResponse>(`${serverUrl}/api/config`);
  } catch (err) {
    throw new Error(
      `cannot reach the server at ${serverUrl} (${(err as Error).message}).\n` +
        '   Start the stack first with `pnpm start` (sandbox + server), or run `pnpm demo --standalone`.',
    );
  }
  show('mode', config.mode);
  if (config.mode !== 'sandbox' || !config.sandboxUrl || !config.appId) {
    throw new Error(
      'the server is in live mode: the demo pays through the sandbox payer and needs sandbox mode',
    );
  }
  const sandboxUrl = config.sandboxUrl;
  show('sandbox', sandboxUrl);

  step(2, 'wx.login: the sandbox issues a login code for buyer "demo-buyer"');
  const login = await call<{ code: string; openid: string }>(`${sandboxUrl}/sandbox/login-codes`, {
    json: { appid: config.appId, user: 'demo-buyer' },
  });
  show('code', login.code);

  step(3, 'POST /api/session: the server exchanges it (code2Session) and keeps session_key to itself');
  const session = await call<SessionResponse>(`${serverUrl}/api/session`, { json: { code: login.code } });
  show('token', `${session.token.slice(0, 8)}… (expires after ${session.expiresIn}s idle)`);
  const auth = { authorization: `Bearer ${session.token}` };

  step(
    4,
    'GET /api/products, then POST /api/orders: the server prices the order and places the unified order',
  );
  const { products } = await call<ProductListResponse>(`${serverUrl}/api/products`);
  const items = products.slice(0, 2).map((p, i) => ({ productId: p.id, quantity: i + 1 }));
  show('items', items);
  const created = await call<CreateOrderResponse>(`${serverUrl}/api/orders`, {
    json: { items },
    headers: { ...auth, 'idempotency-key': `demo-${Date.now()}` },
  });
  show(
    'order',
    `${created.order.id} ${created.order.status} ${(created.order.totalFen / 100).toFixed(2)} CNY`,
  );
  show('payment', created.payment);

  step(5, 'wx.requestPayment: the sandbox payer checks paySign and charges the buyer');
  const paid = await call<{ errMsg: string }>(`${sandboxUrl}/sandbox/pay`, {
    json: { appId: config.appId, ...created.payment, outcome: 'success' },
  });
  show('errMsg', paid.errMsg);
  console.log('   (the mini-program does not trust this: it asks the server, which trusts only WeChat)');

  step(6, 'WeChat notifies the server (its notify_url); the buyer polls GET /api/orders/:id');
  const deadline = Date.now() + 30_000;
  let order = created.order;
  while (order.status === 'PENDING' && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 300));
    order = (await call<OrderResponse>(`${serverUrl}/api/orders/${created.order.id}`, { headers: auth }))
      .order;
  }
  const atWechat = await call<{
    state: string;
    notifications: { attempt: number; outcome: string; httpStatus?: number }[];
  }>(`${sandboxUrl}/sandbox/orders/${created.order.outTradeNo}`);
  for (const n of atWechat.notifications)
    show(`notify #${n.attempt}`, `${n.outcome} (HTTP ${n.httpStatus ?? '-'})`);
  show('status', order.status);
  if (order.status !== 'PAID') throw new Error(`the order is still ${order.status} after 30 s`);
  show('transaction', order.transactionId ?? '');
  console.log('\nDone: the order is PAID, and one order.paid event was appended for fulfilment.');
}

main()
  .catch((err: unknown) => {
    console.error(`\ndemo failed: ${(err as Error).message}`);
    process.exitCode = 1;
  })
  .finally(async () => {
    for (const close of closers) await close();
  });

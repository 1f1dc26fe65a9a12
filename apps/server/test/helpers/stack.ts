/**
 * Integration harness: a real sandbox (over HTTP, port 0) and one or more real servers (port 0) sharing a real
 * Redis under a unique prefix, plus the buyer-side calls the mini-program makes. Everything is torn down and
 * the prefix deleted by `close()`.
 */
import { Writable } from 'node:stream';
import { startSandbox, type RunningSandbox, type StartSandboxOptions } from '@mp-pay/sandbox';
import type { ErrorBody, JsapiPayment, Order, PaymentLaunch } from '@mp-pay/shared/api';
import { startServer, type RunningServer } from '../../src/index.ts';
import { dropPrefix, TEST_REDIS_URL, uniquePrefix, waitFor } from './redis.ts';

export interface StackOptions {
  label: string;
  servers?: number;
  /** Redis URL, or `false` for the memory store. */
  redis?: string | false;
  env?: Record<string, string>;
  /** Per-server settings on top of `env` (index = server number). */
  serverEnv?: Record<string, string>[];
  sandbox?: StartSandboxOptions;
  /** Capture every server's log lines here. */
  logs?: string[];
  /** Fixed ports per server (index = server number), for URLs the sandbox must know up front; default 0. */
  serverPorts?: number[];
}

export interface Stack {
  sandbox: RunningSandbox;
  servers: RunningServer[];
  server: RunningServer;
  prefix: string;
  /** Moves the servers' and the sandbox's clocks forward together. */
  advanceClock(ms: number): Promise<void>;
  close(): Promise<void>;
}

export async function startStack(options: StackOptions): Promise<Stack> {
  const sandbox = await startSandbox({ port: 0, timeScale: 1000, ...options.sandbox });
  const prefix = uniquePrefix(options.label);
  const redis = options.redis === undefined ? TEST_REDIS_URL : options.redis;
  let offset = 0;
  const servers: RunningServer[] = [];
  try {
    for (let i = 0; i < (options.servers ?? 1); i++) {
      servers.push(
        await startServer({
          port: options.serverPorts?.[i] ?? 0,
          env: {
            NODE_ENV: 'test',
            SANDBOX_PORT: new URL(sandbox.url).port,
            SANDBOX_TLS_PORT: new URL(sandbox.tlsUrl).port,
            ...(redis === false ? {} : { REDIS_URL: redis, REDIS_PREFIX: prefix }),
            WORKER_INTERVAL_MS: '50',
            ORDER_QUERY_DELAY_MS: '60000',
            ORDER_QUERY_MAX_BACKOFF_MS: '500',
            ORDER_REFRESH_AFTER_MS: '60000',
            LOG_LEVEL: options.logs ? 'debug' : 'silent',
            ...options.env,
            ...options.serverEnv?.[i],
          },
          now: () => Date.now() + offset,
          ...(options.logs ? { logStream: captureStream(options.logs) } : {}),
        }),
      );
    }
  } catch (err) {
    await Promise.all(servers.map((s) => s.close()));
    await sandbox.close();
    throw err;
  }
  return {
    sandbox,
    servers,
    server: servers[0] as RunningServer,
    prefix,
    async advanceClock(ms) {
      offset += ms;
      await json(await fetch(`${sandbox.url}/sandbox/clock`, post({ advance_ms: ms })));
    },
    async close() {
      await Promise.all(servers.map((s) => s.close()));
      await sandbox.close();
      if (redis !== false) await dropPrefix(prefix, redis);
    },
  };
}

function captureStream(lines: string[]): Writable {
  return new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      done();
    },
  });
}

export function post(body: unknown, headers: Record<string, string> = {}): RequestInit {
  return {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  };
}

export async function json<T = Record<string, unknown>>(res: Response): Promise<T> {
  const text = await res.text();
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new Error(`expected JSON from ${res.url} (HTTP ${res.status}): ${text.slice(0, 200)}`);
  }
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** wx.login in the sandbox, then POST /api/session: the buyer's bearer token. */
export async function signIn(stack: Stack, user: string, server = stack.server): Promise<string> {
  const login = await json<{ code: string }>(
    await fetch(
      `${stack.sandbox.url}/sandbox/login-codes`,
      post({ appid: server.config.wechat.appId, user }),
    ),
  );
  const res = await fetch(`${server.url}/api/session`, post({ code: login.code }));
  if (res.status !== 201) throw new Error(`sign-in failed: HTTP ${res.status} ${await res.text()}`);
  return (await json<{ token: string }>(res)).token;
}

/** What the server answers a mini-program buyer: the launch is always `jsapi` (checked by `jsapiOf`). */
export interface JsapiOrderResponse {
  order: Order;
  payment: JsapiPayment;
}

/** Narrows a launch to `jsapi`, failing the test otherwise. */
export function jsapiOf(payment: PaymentLaunch): JsapiPayment {
  if (payment.kind !== 'jsapi') throw new Error(`expected a jsapi launch, got ${payment.kind}`);
  return payment;
}

export async function placeOrder(
  server: RunningServer,
  token: string,
  items = [{ productId: 'green-tea', quantity: 2 }],
  idempotencyKey?: string,
): Promise<{ status: number; body: JsapiOrderResponse & ErrorBody; headers: Headers }> {
  const res = await fetch(
    `${server.url}/api/orders`,
    post({ items }, { ...bearer(token), ...(idempotencyKey ? { 'idempotency-key': idempotencyKey } : {}) }),
  );
  return { status: res.status, body: await json(res), headers: res.headers };
}

export async function createdOrder(
  server: RunningServer,
  token: string,
  items?: { productId: string; quantity: number }[],
) {
  const res = await placeOrder(server, token, items);
  if (res.status !== 201) throw new Error(`order failed: HTTP ${res.status} ${JSON.stringify(res.body)}`);
  return { order: res.body.order, payment: jsapiOf(res.body.payment) };
}

/** What the WeChat app does on wx.requestPayment, through the sandbox payer. */
export async function payInSandbox(
  stack: Stack,
  payment: PaymentLaunch,
  outcome: 'success' | 'cancel' | 'fail' | 'payerror' = 'success',
): Promise<string> {
  // Exactly what wx.requestPayment gets: the five fields (the app supplies its own appId).
  const { timeStamp, nonceStr, package: pkg, signType, paySign } = jsapiOf(payment);
  const res = await fetch(
    `${stack.sandbox.url}/sandbox/pay`,
    post({
      appId: stack.server.config.wechat.appId,
      timeStamp,
      nonceStr,
      package: pkg,
      signType,
      paySign,
      outcome,
    }),
  );
  return (await json<{ errMsg: string }>(res)).errMsg;
}

export async function getOrder(
  server: RunningServer,
  token: string,
  id: string,
): Promise<{ status: number; order?: Order } & Partial<ErrorBody>> {
  const res = await fetch(`${server.url}/api/orders/${id}`, { headers: bearer(token) });
  const body = await json<{ order?: Order } & Partial<ErrorBody>>(res);
  return { ...body, status: res.status };
}

export async function storedStatus(server: RunningServer, id: string) {
  return (await server.store.orders.getOrder(id))?.status;
}

export async function waitForStatus(server: RunningServer, id: string, status: string, timeoutMs = 10_000) {
  return waitFor(
    async () => (await storedStatus(server, id)) === status,
    `order ${id} to be ${status}`,
    timeoutMs,
  );
}

export async function paidEvents(server: RunningServer, id: string) {
  return (await server.store.events.readEvents()).filter((e) => e.orderId === id && e.type === 'order.paid');
}

export interface SandboxOrderView {
  state: string;
  closed_by?: string;
  notifications: {
    attempt: number;
    kind: string;
    copy: number;
    outcome: string;
    httpStatus?: number;
    reply?: string;
  }[];
  [key: string]: unknown;
}

export async function sandboxOrder(stack: Stack, outTradeNo: string): Promise<SandboxOrderView> {
  return json<SandboxOrderView>(await fetch(`${stack.sandbox.url}/sandbox/orders/${outTradeNo}`));
}

export async function setFaults(
  stack: Stack,
  target: { out_trade_no: string } | { mch_id: string },
  faults: object,
) {
  const res = await fetch(`${stack.sandbox.url}/sandbox/faults`, post({ ...target, faults }));
  if (res.status !== 200) throw new Error(`faults refused: ${await res.text()}`);
}

import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll } from 'vitest';
import {
  buildXml,
  createNonce,
  createOutTradeNo,
  miniProgramPayParams,
  parseXml,
  SANDBOX_DEMO,
  signV2,
  type SignType,
  type XmlMap,
} from '@mp-pay/shared/wechatpay';
import { startSandbox, type RunningSandbox, type StartSandboxOptions } from '../src/index.ts';

export const DEMO = SANDBOX_DEMO;
export const SUCCESS_XML =
  '<xml><return_code><![CDATA[SUCCESS]]></return_code><return_msg><![CDATA[OK]]></return_msg></xml>';

export async function sandbox(options: StartSandboxOptions = {}): Promise<RunningSandbox> {
  return startSandbox({ port: 0, timeScale: 1000, closeMinAgeMs: 0, ...options });
}

export interface SandboxAndReceiver {
  readonly sb: RunningSandbox;
  readonly receiver: NotifyReceiver;
}

/**
 * A sandbox and a merchant notify_url for every test of the file (or describe block): started before them,
 * closed after. The handle's fields are set by beforeAll, so read them inside tests and helpers they call.
 */
export function useSandboxAndReceiver(options: StartSandboxOptions = {}): SandboxAndReceiver {
  let started: { sb?: RunningSandbox; receiver?: NotifyReceiver } = {};
  beforeAll(async () => {
    started = { sb: await sandbox(options) };
    started.receiver = await NotifyReceiver.start();
  });
  afterAll(async () => {
    await started.sb?.close();
    await started.receiver?.close();
  });
  const notStarted = () => new Error('the sandbox is not started yet: use it inside a test');
  return {
    get sb() {
      if (!started.sb) throw notStarted();
      return started.sb;
    },
    get receiver() {
      if (!started.receiver) throw notStarted();
      return started.receiver;
    },
  };
}

/** Polls until check() returns a value other than undefined, or fails after the deadline. */
export async function eventually<T>(
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 5000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('condition not met before the deadline');
    await new Promise((r) => setTimeout(r, 20));
  }
}

export interface ReceivedNotification {
  body: string;
  at: number;
  headers: IncomingHttpHeaders;
}

/** A merchant notify_url on port 0. `reply` decides the answer to each notification (default: SUCCESS XML). */
export class NotifyReceiver {
  readonly received: ReceivedNotification[] = [];
  reply: (n: number, body: string) => { status?: number; body: string; delayMs?: number } = () => ({
    body: SUCCESS_XML,
  });
  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(): Promise<NotifyReceiver> {
    const holder: { receiver?: NotifyReceiver } = {};
    const server = createServer((req, res) => {
      void readAll(req).then(async (body) => {
        const r = holder.receiver as NotifyReceiver;
        r.received.push({ body, at: Date.now(), headers: req.headers });
        const answer = r.reply(r.received.length, body);
        if (answer.delayMs) await new Promise((done) => setTimeout(done, answer.delayMs));
        res.writeHead(answer.status ?? 200, { 'content-type': 'text/xml' });
        res.end(answer.body);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    holder.receiver = new NotifyReceiver(server, `http://127.0.0.1:${port}/wechat/notify`);
    return holder.receiver;
  }

  parsed(): XmlMap[] {
    return this.received.map((r) => parseXml(r.body));
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

async function readAll(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

export async function postJson(
  url: string,
  body: unknown,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

export async function loginCode(sb: RunningSandbox, user = 'alice', appid: string = DEMO.appId) {
  const { status, json } = await postJson(`${sb.url}/sandbox/login-codes`, { appid, user });
  if (status !== 201) throw new Error(`login-codes answered ${status}: ${JSON.stringify(json)}`);
  return json as { code: string; openid: string };
}

/** Signs (with our shared code) and posts a raw v2 call; returns the parsed reply. */
export async function callV2(
  sb: RunningSandbox,
  path: string,
  fields: Record<string, string | number | undefined>,
  options: { signType?: SignType; key?: string; sign?: boolean } = {},
): Promise<XmlMap> {
  const signType = options.signType ?? 'MD5';
  const params: Record<string, string | number | undefined> = {
    appid: DEMO.appId,
    mch_id: DEMO.mchId,
    nonce_str: createNonce(),
    ...(signType === 'MD5' ? {} : { sign_type: signType }),
    ...fields,
  };
  if (options.sign !== false) params.sign = signV2(params, options.key ?? DEMO.key, signType);
  return postXml(sb, path, buildXml(params));
}

export async function postXml(sb: RunningSandbox, path: string, body: string | Uint8Array): Promise<XmlMap> {
  const res = await fetch(sb.url + path, { method: 'POST', headers: { 'content-type': 'text/xml' }, body });
  return parseXml(await res.text());
}

export function orderFields(
  openid: string,
  notifyUrl: string,
  overrides: Record<string, string | number> = {},
) {
  return {
    body: 'mp-pay sandbox test',
    out_trade_no: createOutTradeNo(),
    total_fee: 1999,
    spbill_create_ip: '127.0.0.1',
    notify_url: notifyUrl,
    trade_type: 'JSAPI',
    openid,
    ...overrides,
  };
}

export interface PlacedOrder {
  outTradeNo: string;
  prepayId: string;
  openid: string;
  signType: SignType;
  fields: Record<string, string | number>;
}

export async function placeOrder(
  sb: RunningSandbox,
  notifyUrl: string,
  overrides: Record<string, string | number> = {},
  signType: SignType = 'MD5',
): Promise<PlacedOrder> {
  const { openid } = await loginCode(sb);
  const fields = orderFields(openid, notifyUrl, overrides);
  const reply = await callV2(sb, '/pay/unifiedorder', fields, { signType });
  if (reply.result_code !== 'SUCCESS' || !reply.prepay_id) {
    throw new Error(`unifiedorder failed: ${JSON.stringify(reply)}`);
  }
  return { outTradeNo: String(fields.out_trade_no), prepayId: reply.prepay_id, openid, signType, fields };
}

export function payParams(order: { prepayId: string; signType: SignType }, key: string = DEMO.key) {
  return {
    appId: DEMO.appId,
    ...miniProgramPayParams({ appId: DEMO.appId, prepayId: order.prepayId, key, signType: order.signType }),
  };
}

export async function pay(
  sb: RunningSandbox,
  order: { prepayId: string; signType: SignType },
  outcome?: 'success' | 'cancel' | 'fail' | 'payerror',
) {
  return postJson(`${sb.url}/sandbox/pay`, { ...payParams(order), ...(outcome ? { outcome } : {}) });
}

export async function inspect(sb: RunningSandbox, outTradeNo: string) {
  const res = await fetch(`${sb.url}/sandbox/orders/${outTradeNo}`);
  return (await res.json()) as {
    state: string;
    notifications: Array<{
      at: string;
      attempt: number;
      kind: string;
      outcome: string;
      copy: number;
      httpStatus?: number;
      serial?: string;
    }>;
    payments: Array<{ at: string; outcome: string }>;
    [k: string]: unknown;
  };
}

/** One Server-Sent Event as a test sees it: its `event:` name (`message` when unnamed) and its data lines joined. */
export interface SseEvent {
  event: string;
  data: string;
}

/**
 * Splits a Server-Sent Events byte stream into events as its chunks arrive (a chunk may end mid-event): each
 * block ends at a blank line; blocks without data (keep-alive comments) are skipped.
 */
export class SseParser {
  private readonly decoder = new TextDecoder();
  private buffer = '';

  /** The events that `chunk` completes. */
  push(chunk: Uint8Array): SseEvent[] {
    this.buffer += this.decoder.decode(chunk, { stream: true });
    const events: SseEvent[] = [];
    let end: number;
    while ((end = this.buffer.indexOf('\n\n')) >= 0) {
      const lines = this.buffer.slice(0, end).split('\n');
      this.buffer = this.buffer.slice(end + 2);
      const data = lines
        .filter((l) => l.startsWith('data: '))
        .map((l) => l.slice(6))
        .join('\n');
      const event = lines.find((l) => l.startsWith('event: '))?.slice(7) ?? 'message';
      if (data) events.push({ event, data });
    }
    return events;
  }
}

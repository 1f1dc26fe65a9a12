/**
 * `pnpm demo`: one buyer through the whole flow against a running sandbox + server (`pnpm start`), printing
 * each step: login code → session → order (JSAPI unified order, re-signed parameters) → payment through the
 * sandbox payer → the notification → PAID. With `--refund`, staff then refund it through the admin API: part of
 * it, then the rest a minute later (WeChat's spacing), each settled by a refund notification → REFUNDED.
 *
 *   pnpm demo                      against http://127.0.0.1:$PORT (3000; the repository's .env is read, as by
 *                                  `pnpm start`), or MP_PAY_SERVER_URL
 *   pnpm demo --refund             the same, then the refunds (about a minute and a half: the second refund
 *                                  waits for its minute on the server's clock)
 *   pnpm demo --standalone         starts its own sandbox and server (memory store) on free ports first, with
 *                                  WECHATPAY_API_VERSION passed on; with --refund it moves that server's clock
 *                                  instead of waiting the minute
 *   pnpm demo --channel app        a mobile app's buyer instead (docs/channels.md): a guest session, an order
 *                                  with channel `app` (APP trade for the app's AppID), and the six OpenSDK
 *                                  PayReq fields and `sign` posted to the sandbox's APP payer; combines with
 *                                  the options above, in APIv2 and APIv3
 *   pnpm demo --combine            a cart of two merchants' goods paid at once by a combine (合单) payment
 *                                  (docs/combine.md): one order, one sub-order per merchant, one payment, one
 *                                  notification, each sub-order PAID with its own transaction id. APIv3 only:
 *                                  with --standalone it starts its server in v3; a running server must be in
 *                                  v3. With --refund, staff refund one merchant's sub-order in full (instead
 *                                  of the part-then-rest refunds)
 *
 * The refunds use the staff token the server accepts in sandbox mode when ADMIN_TOKENS is unset
 * (SANDBOX_DEMO_ADMIN_TOKEN), or MP_PAY_ADMIN_TOKEN.
 */
import type {
  ClientConfigResponse,
  CreateOrderResponse,
  ErrorBody,
  Order,
  OrderResponse,
  Product,
  ProductListResponse,
  Refund,
  RefundListResponse,
  RefundResponse,
  SessionResponse,
} from '@mp-pay/shared/api';
import { SANDBOX_DEMO_ADMIN_TOKEN } from '@mp-pay/shared/wechatpay';
import { fileURLToPath } from 'node:url';
import { processEnv } from '../src/config.ts';
import type { OrderEvent } from '../src/index.ts';

// `pnpm start` listens on the PORT of the repository's .env; read the same file, or a PORT changed there sends
// the demo to a port nothing listens on.
const env = processEnv(fileURLToPath(new URL('../../../.env', import.meta.url)));
const standalone = process.argv.includes('--standalone');
const withRefunds = process.argv.includes('--refund');
/** A cart of several merchants' goods, paid by one combine payment (APIv3 only). */
const combine = process.argv.includes('--combine');
/** `--channel <name>` (or `--channel=<name>`): who the buyer is and how they pay. */
const DEMO_CHANNELS = ['miniprogram', 'app'] as const;
type DemoChannel = (typeof DEMO_CHANNELS)[number];
const channel = channelArg(process.argv.slice(2));

function channelArg(args: string[]): DemoChannel {
  const at = args.findIndex((a) => a === '--channel' || a.startsWith('--channel='));
  if (at < 0) return 'miniprogram';
  const arg = args[at] as string;
  const value = arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : args[at + 1];
  if (!DEMO_CHANNELS.includes(value as DemoChannel)) {
    console.error(`demo: --channel must be one of ${DEMO_CHANNELS.join(', ')} (got ${value ?? 'nothing'})`);
    process.exit(2);
  }
  return value as DemoChannel;
}
const adminToken = env.MP_PAY_ADMIN_TOKEN || SANDBOX_DEMO_ADMIN_TOKEN;
let serverUrl = (env.MP_PAY_SERVER_URL ?? `http://127.0.0.1:${env.PORT || 3000}`).replace(/\/+$/, '');
const closers: (() => Promise<void>)[] = [];
/** Standalone only: the server's clock, which the demo may move forward, and its event stream. */
let serverClockOffsetMs = 0;
let readServerEvents: (() => Promise<OrderEvent[]>) | undefined;
const serverNow = () => Date.now() + serverClockOffsetMs;

const step = (n: number, text: string) => console.log(`\n${n}. ${text}`);
const show = (label: string, value: unknown) =>
  console.log(`   ${label.padEnd(14)} ${typeof value === 'string' ? value : JSON.stringify(value)}`);
const cny = (fen: number) => `${(fen / 100).toFixed(2)} CNY`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

class HttpError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

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
    throw new HttpError(
      `${init?.method ?? (json ? 'POST' : 'GET')} ${url} → HTTP ${res.status} ${JSON.stringify(body)}`,
      res.status,
    );
  return body;
}

/** Calls `read` every `everyMs` until `done` says so; `what` names the wait in the timeout error. */
async function poll<T>(
  read: () => Promise<T>,
  done: (value: T) => boolean,
  what: string,
  timeoutMs: number,
  onTick?: (value: T) => void,
  everyMs = 300,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() >= deadline) throw new Error(`${what}: still not done after ${timeoutMs / 1000} s`);
    onTick?.(value);
    await sleep(everyMs);
  }
}

async function main(): Promise<void> {
  if (standalone) {
    const { startSandbox } = await import('@mp-pay/sandbox');
    const { startServer } = await import('../src/index.ts');
    const sandbox = await startSandbox({ port: 0 });
    const server = await startServer({
      port: 0,
      env: {
        SANDBOX_PORT: new URL(sandbox.url).port,
        // v2 refunds go over mutual TLS, to the sandbox's own HTTPS listener.
        SANDBOX_TLS_PORT: new URL(sandbox.tlsUrl).port,
        LOG_LEVEL: 'warn',
        // Combine payments exist in APIv3 only (docs/combine.md).
        ...(combine
          ? { WECHATPAY_API_VERSION: 'v3' }
          : env.WECHATPAY_API_VERSION
            ? { WECHATPAY_API_VERSION: env.WECHATPAY_API_VERSION }
            : {}),
      },
      now: serverNow,
    });
    closers.push(
      () => server.close(),
      () => sandbox.close(),
    );
    serverUrl = server.url;
    readServerEvents = () => server.store.events.readEvents();
    console.log(
      `Started a sandbox at ${sandbox.url} and a server at ${server.url} (memory store, ` +
        `WeChat Pay ${server.config.wechatpay.apiVersion}).`,
    );
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

  if (channel === 'app' && !config.channels?.includes('app')) {
    throw new Error(
      'the server does not offer the app channel: set WECHAT_APP_APPID (sandbox mode has a demo one)',
    );
  }
  const auth = channel === 'app' ? await appBuyer() : await miniProgramBuyer(sandboxUrl, config.appId);

  step(
    4,
    `GET /api/products, then POST /api/orders${channel === 'app' ? ' {channel: "app"}' : ''}: the server prices ` +
      `the order and places the ${channel === 'app' ? 'APP' : 'JSAPI'} ` +
      (combine ? 'combine order (合单): one payment, a sub-order per merchant' : 'unified order'),
  );
  const { products } = await call<ProductListResponse>(`${serverUrl}/api/products`);
  const items = (combine ? onePerMerchant(products, 2) : products.slice(0, 2)).map((p, i) => ({
    productId: p.id,
    quantity: i + 1,
  }));
  show('items', items);
  const created = await call<CreateOrderResponse>(`${serverUrl}/api/orders`, {
    json: channel === 'app' ? { items, channel } : { items },
    headers: { ...auth, 'idempotency-key': `demo-${Date.now()}` },
  });
  show(
    'order',
    `${created.order.id} ${created.order.status} ${(created.order.totalFen / 100).toFixed(2)} CNY`,
  );
  show('payment', created.payment);
  if (combine) await showCombine(sandboxUrl, created.order);

  if (created.payment.kind === 'app') {
    const p = created.payment;
    step(
      5,
      "The app's OpenSDK (PayReq → WXApi.sendReq): the sandbox's APP payer checks the sign and charges",
    );
    // Exactly the six PayReq fields and sign, with the lower-case names the SDK uses.
    const payReq = {
      appid: p.appId,
      partnerid: p.partnerId,
      prepayid: p.prepayId,
      package: p.package,
      noncestr: p.nonceStr,
      timestamp: p.timeStamp,
      sign: p.sign,
    };
    const paid = await call<{ errCode: number; errStr: string }>(`${sandboxUrl}/sandbox/app/pay`, {
      json: payReq,
    });
    show('errCode', `${paid.errCode}${paid.errStr ? ` ${paid.errStr}` : ''}`);
    console.log('   (the app does not trust this: it asks the server, which trusts only WeChat)');
  } else {
    step(5, 'wx.requestPayment: the sandbox payer checks paySign and charges the buyer');
    const paid = await call<{ errMsg: string }>(`${sandboxUrl}/sandbox/pay`, {
      json: { appId: config.appId, ...created.payment, outcome: 'success' },
    });
    show('errMsg', paid.errMsg);
    console.log('   (the mini-program does not trust this: it asks the server, which trusts only WeChat)');
  }

  step(6, 'WeChat notifies the server (its notify_url); the buyer polls GET /api/orders/:id');
  const deadline = Date.now() + 30_000;
  let order = created.order;
  while (order.status === 'PENDING' && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 300));
    order = (await call<OrderResponse>(`${serverUrl}/api/orders/${created.order.id}`, { headers: auth }))
      .order;
  }
  // A combine is notified once, for all its sub-orders, under the combine's number (the attempt's out_trade_no).
  const atWechat = await call<{
    state: string;
    notifications: { attempt: number; outcome: string; httpStatus?: number }[];
  }>(`${sandboxUrl}/sandbox/${combine ? 'combines' : 'orders'}/${created.order.outTradeNo}`);
  for (const n of atWechat.notifications)
    show(`notify #${n.attempt}`, `${n.outcome} (HTTP ${n.httpStatus ?? '-'})`);
  show('status', order.status);
  if (order.status !== 'PAID') throw new Error(`the order is still ${order.status} after 30 s`);
  if (combine) {
    for (const sub of order.subOrders ?? [])
      show('sub-order', `${sub.merchantName}: ${sub.state}, transaction ${sub.transactionId ?? '-'}`);
    const unpaid = (order.subOrders ?? []).filter((sub) => sub.state !== 'PAID');
    if (unpaid.length > 0 || (order.subOrders ?? []).length < 2)
      throw new Error(`the combine's sub-orders are not all PAID: ${JSON.stringify(order.subOrders)}`);
  } else {
    show('transaction', order.transactionId ?? '');
  }
  if (!withRefunds) {
    console.log('\nDone: the order is PAID, and one order.paid event was appended for fulfilment.');
    return;
  }
  console.log('   (one order.paid event was appended for fulfilment)');

  if (combine) {
    await combineRefundDemo({ sandboxUrl, order, buyer: auth });
    return;
  }

  const line = products[0];
  await refundDemo({
    sandboxUrl,
    order,
    buyer: auth,
    part: line ? { fen: line.priceFen, reason: `returned: ${line.name}` } : { fen: 1, reason: 'returned' },
  });
}

/**
 * The first product of each of the first `count` merchants in the catalogue: a cart the server must split into
 * that many sub-orders. Refuses a catalogue of fewer merchants (APIv2, or a server with no other merchant).
 */
function onePerMerchant(products: Product[], count: number): Product[] {
  const picked = new Map<string, Product>();
  for (const p of products) {
    const mchid = p.merchant?.mchid;
    if (mchid !== undefined && !picked.has(mchid) && picked.size < count) picked.set(mchid, p);
  }
  if (picked.size < count) {
    throw new Error(
      `the server sells for ${picked.size} merchant(s): a combine payment needs ${count}. It takes payments for ` +
        'other merchants in APIv3 only: start it with WECHATPAY_API_VERSION=v3 (sandbox mode then configures two ' +
        'demo merchants), or run `pnpm demo --standalone --combine`.',
    );
  }
  return [...picked.values()];
}

/** The combine just placed: one sub-order per merchant here, and each a trade of its merchant at WeChat. */
async function showCombine(sandboxUrl: string, order: Order): Promise<void> {
  const subOrders = order.subOrders ?? [];
  if (subOrders.length < 2) {
    throw new Error(`expected a combine with a sub-order per merchant, got ${JSON.stringify(subOrders)}`);
  }
  console.log(
    `   combine        out_trade_no ${order.outTradeNo}, one payment for ${subOrders.length} merchants:`,
  );
  for (const sub of subOrders) {
    show(
      'sub-order',
      `${sub.outTradeNo} ${sub.mchid} "${sub.merchantName}" ${cny(sub.totalFen)} ${sub.state}`,
    );
  }
  const atWechat = await call<{ sub_orders: { mch_id: string; out_trade_no: string; state: string }[] }>(
    `${sandboxUrl}/sandbox/combines/${order.outTradeNo}`,
  );
  show(
    'at WeChat',
    `POST /v3/combine-transactions/${channel === 'app' ? 'app' : 'jsapi'}: ${atWechat.sub_orders
      .map((s) => `${s.mch_id} ${s.state}`)
      .join(', ')}`,
  );
}

/** Steps 2-3 for the mini-program: wx.login in the sandbox, then POST /api/session. */
async function miniProgramBuyer(sandboxUrl: string, appId: string): Promise<Record<string, string>> {
  step(2, 'wx.login: the sandbox issues a login code for buyer "demo-buyer"');
  const login = await call<{ code: string; openid: string }>(`${sandboxUrl}/sandbox/login-codes`, {
    json: { appid: appId, user: 'demo-buyer' },
  });
  show('code', login.code);

  step(3, 'POST /api/session: the server exchanges it (code2Session) and keeps session_key to itself');
  const session = await call<SessionResponse>(`${serverUrl}/api/session`, { json: { code: login.code } });
  show('token', `${session.token.slice(0, 8)}… (expires after ${session.expiresIn}s idle)`);
  return { authorization: `Bearer ${session.token}` };
}

/** Steps 2-3 for the app: no WeChat sign-in is needed to pay in an app, so the buyer is a guest. */
async function appBuyer(): Promise<Record<string, string>> {
  step(2, 'The app pays without a WeChat sign-in: no openid is needed for an APP trade');
  show('channel', "app (the mobile app's own open-platform AppID)");
  step(3, 'POST /api/session/guest: a session with no WeChat identity');
  const session = await call<SessionResponse>(`${serverUrl}/api/session/guest`, { method: 'POST' });
  show('token', `${session.token.slice(0, 8)}… (expires after ${session.expiresIn}s idle)`);
  return { authorization: `Bearer ${session.token}` };
}

interface SandboxRefundView {
  api: 'v2' | 'v3';
  out_refund_no: string;
  status: string;
  due_at: string;
  notify_url?: string;
  notifications: { attempt: number; outcome: string; httpStatus?: number }[];
}

/**
 * What the refund steps share: staff asking for a refund through /admin, reading it back, and settling it in the
 * sandbox. `orderOf` gives the order as last read (a combine's sub-orders tell which merchant a refund is at).
 */
function refundTools(sandboxUrl: string, orderOf: () => Order, buyer: Record<string, string>) {
  const staff = { authorization: `Bearer ${adminToken}` };
  const admin = `${serverUrl}/admin`;
  const refundNo = (r: Refund) => `${r.outRefundNo} ${r.state} ${cny(r.refundFen)} (${r.requestedBy})`;

  const askAll = async (body: { refundFen?: number; reason: string; outTradeNo?: string }) => {
    try {
      return await call<RefundResponse>(`${admin}/orders/${orderOf().id}/refunds`, {
        json: body,
        headers: staff,
      });
    } catch (err) {
      if (err instanceof HttpError && err.status === 401) {
        throw new Error(
          'the admin API refused the staff token. The server accepts SANDBOX_DEMO_ADMIN_TOKEN only in sandbox ' +
            'mode with ADMIN_TOKENS unset; otherwise run the demo with MP_PAY_ADMIN_TOKEN=<one of its tokens>.',
        );
      }
      throw err;
    }
  };
  const ask = async (body: { refundFen?: number; reason: string; outTradeNo?: string }): Promise<Refund> =>
    (await askAll(body)).refund;
  const read = async (r: Refund) =>
    (await call<RefundResponse>(`${admin}/refunds/${r.outRefundNo}`, { headers: staff })).refund;
  const readOrder = async () =>
    (await call<OrderResponse>(`${serverUrl}/api/orders/${orderOf().id}`, { headers: buyer })).order;
  const atWechat = async (r: Refund) => {
    // A combine's sub-order is a trade of its own merchant at WeChat.
    const mchid = orderOf().subOrders?.find((s) => s.outTradeNo === r.outTradeNo)?.mchid;
    const view = await call<{ refunds?: SandboxRefundView[] }>(
      `${sandboxUrl}/sandbox/orders/${r.outTradeNo}${mchid ? `?mch_id=${mchid}` : ''}`,
    );
    const found = view.refunds?.find((x) => x.out_refund_no === r.outRefundNo);
    if (!found) throw new Error(`the sandbox has no refund ${r.outRefundNo}`);
    return found;
  };

  /**
   * WeChat accepted the refund (PROCESSING) and finishes it later. The sandbox does so after
   * SANDBOX_REFUND_DELAY_MS (10 s) on its own clock: move that clock to the refund's due time instead of waiting,
   * and read the order there, which finishes the refund and starts its notification to the server.
   */
  const settle = async (r: Refund): Promise<Refund> => {
    show('sent', `${r.state}, refund_id ${r.refundId ?? '-'}`);
    const before = await atWechat(r);
    const clock = await call<{ now: string }>(`${sandboxUrl}/sandbox/clock`);
    const ahead = Date.parse(before.due_at) - Date.parse(clock.now);
    if (before.status === 'PROCESSING' && ahead > 0) {
      await call(`${sandboxUrl}/sandbox/clock`, { json: { advance_ms: ahead } });
      show('sandbox', `clock moved ${Math.ceil(ahead / 1000)} s on: WeChat finishes the refund now`);
    }
    await atWechat(r);
    const done = await poll(
      () => read(r),
      (x) => x.state !== 'PENDING' && x.state !== 'PROCESSING',
      `refund ${r.outRefundNo} to settle`,
      30_000,
    );
    const view = await atWechat(r);
    const path = view.notify_url ? new URL(view.notify_url).pathname : '-';
    for (const n of view.notifications) {
      show(`notify #${n.attempt}`, `${n.outcome} (HTTP ${n.httpStatus ?? '-'}) at ${path}`);
    }
    show('refund', refundNo(done));
    if (done.state !== 'SUCCESS') throw new Error(`refund ${done.outRefundNo} ended ${done.state}`);
    return done;
  };

  /** Waits for the worker to send a queued refund to WeChat, then says which protocol it used. */
  const sent = async (r: Refund): Promise<Refund> => {
    const out = await poll(
      () => read(r),
      (x) => x.state !== 'PENDING',
      'the worker to send the refund',
      30_000,
    );
    show(
      'protocol',
      (await atWechat(out)).api === 'v3'
        ? 'v3: POST /v3/refund/domestic/refunds'
        : 'v2: /secapi/pay/refund over mutual TLS (the demo client certificate)',
    );
    return out;
  };

  return { staff, admin, refundNo, ask, read, readOrder, atWechat, settle, sent };
}

/**
 * A combine: staff refund one merchant's sub-order in full (POST /admin/orders/:id/refunds {outTradeNo}). The
 * refund is that merchant's, made with its credentials; the other sub-order stays PAID, the order is
 * PARTIALLY_REFUNDED.
 */
async function combineRefundDemo(input: {
  sandboxUrl: string;
  order: Order;
  buyer: Record<string, string>;
}): Promise<void> {
  let order = input.order;
  const tools = refundTools(input.sandboxUrl, () => order, input.buyer);
  // The last sub-order: another merchant's than the shop's own, so the refund is signed by that merchant.
  const sub = order.subOrders?.at(-1);
  if (!sub) throw new Error('the order has no sub-orders');

  step(
    7,
    `POST /admin/orders/:id/refunds {outTradeNo, reason}: staff refund ${sub.merchantName}'s sub-order`,
  );
  let refund = await tools.ask({
    outTradeNo: sub.outTradeNo,
    reason: `returned: ${sub.merchantName}'s goods`,
  });
  show('queued', tools.refundNo(refund));
  refund = await tools.sent(refund);
  show('merchant', `${sub.mchid} (the sub-order's own merchant refunds it)`);
  refund = await tools.settle(refund);

  step(8, 'The buyer polls GET /api/orders/:id');
  order = await poll(
    tools.readOrder,
    (o) => o.subOrders?.find((s) => s.outTradeNo === sub.outTradeNo)?.state === 'REFUNDED',
    'the sub-order to be REFUNDED',
    10_000,
  );
  show('status', order.status);
  for (const s of order.subOrders ?? [])
    show('sub-order', `${s.merchantName}: ${s.state} ${cny(s.totalFen)}`);
  if (order.status !== 'PARTIALLY_REFUNDED') {
    throw new Error(
      `expected the order PARTIALLY_REFUNDED after one sub-order's refund, got ${order.status}`,
    );
  }
  if (readServerEvents !== undefined) {
    const events = (await readServerEvents()).filter((e) => e.orderId === order.id);
    for (const e of events) {
      show('event', `${e.type} ${e.outRefundNo ?? e.outTradeNo}${e.refundFen ? ` ${cny(e.refundFen)}` : ''}`);
    }
  }
  console.log(
    `\nDone: ${sub.merchantName}'s sub-order is REFUNDED (${cny(refund.refundFen)}) by its merchant, the rest ` +
      'stays PAID; a refund.succeeded event was appended after the order.paid.',
  );
}

/** Staff refund part of the payment, then the rest a minute later, through /admin (docs: apps/server/README.md). */
async function refundDemo(input: {
  sandboxUrl: string;
  order: Order;
  buyer: Record<string, string>;
  part: { fen: number; reason: string };
}): Promise<void> {
  const { sandboxUrl } = input;
  let order = input.order;
  const { staff, admin, refundNo, ask, read, readOrder, settle, sent } = refundTools(
    sandboxUrl,
    () => order,
    input.buyer,
  );

  step(7, `POST /admin/orders/:id/refunds {refundFen: ${input.part.fen}, reason}: staff refund part of it`);
  let first = await ask({ refundFen: input.part.fen, reason: input.part.reason });
  show('queued', refundNo(first));
  first = await sent(first);
  first = await settle(first);
  order = await poll(readOrder, (o) => o.status !== 'PAID', 'the order to show the refund', 10_000);
  show('status', `${order.status} (GET /api/orders/:id, the buyer's view)`);

  step(8, 'POST /admin/orders/:id/refunds {reason}: staff refund the rest (no refundFen)');
  let rest = await ask({ reason: 'customer returned the rest' });
  show('queued', refundNo(rest));
  const dueAt = Date.parse(rest.dueAt);
  const local = (ms: number) => new Date(ms).toLocaleTimeString('en-GB');
  const inS = Math.max(0, Math.ceil((dueAt - serverNow()) / 1000));
  show('due', `queued for ${local(dueAt)} (in ${inS} s), WeChat takes one refund of a payment per minute`);
  if (readServerEvents !== undefined) {
    // Standalone: this process owns the server's clock, so move it (and the sandbox's) to the due time.
    const skip = Math.max(0, dueAt - serverNow());
    serverClockOffsetMs += skip;
    await call(`${sandboxUrl}/sandbox/clock`, { json: { advance_ms: skip } });
    show('clocks', `server and sandbox moved ${Math.ceil(skip / 1000)} s on (standalone) instead of waiting`);
  }
  const tty = process.stdout.isTTY;
  let lastPrinted = 0;
  rest = await poll(
    () => read(rest),
    (x) => x.state !== 'PENDING',
    'the queued refund to be sent (WeChat: one refund of a payment per minute)',
    90_000,
    () => {
      const left = Math.max(0, Math.ceil((dueAt - serverNow()) / 1000));
      const text = `   ${'waiting'.padEnd(14)} ${left > 0 ? `${left} s until it is sent` : 'due: sending…'}`;
      if (tty) process.stdout.write(`\r${text}\x1b[K`);
      else if (Date.now() - lastPrinted >= 10_000) {
        console.log(text);
        lastPrinted = Date.now();
      }
    },
    500,
  );
  if (tty) process.stdout.write('\r\x1b[K');
  rest = await settle(rest);

  step(9, 'The buyer polls GET /api/orders/:id');
  order = await poll(readOrder, (o) => o.status === 'REFUNDED', 'the order to be REFUNDED', 10_000);
  show(
    'status',
    `${order.status} (${cny(first.refundFen)} + ${cny(rest.refundFen)} = ${cny(order.totalFen)})`,
  );

  step(10, 'GET /admin/orders/:id/refunds: every refund of the order, and the events');
  const { refunds } = await call<RefundListResponse>(`${admin}/orders/${order.id}/refunds`, {
    headers: staff,
  });
  for (const r of refunds) show(r.outRefundNo.slice(-3), `${r.state} ${cny(r.refundFen)} "${r.reason}"`);
  if (readServerEvents !== undefined) {
    const events = (await readServerEvents()).filter((e) => e.orderId === order.id);
    for (const e of events) {
      show('event', `${e.type} ${e.outRefundNo ?? e.outTradeNo}${e.refundFen ? ` ${cny(e.refundFen)}` : ''}`);
    }
  }
  const succeeded = refunds.filter((r) => r.state === 'SUCCESS').length;
  console.log(
    `\nDone: the order is REFUNDED; ${succeeded} refund.succeeded event${succeeded === 1 ? ' was' : 's were'} ` +
      'appended (one per refund), after its order.paid.',
  );
}

main()
  .catch((err: unknown) => {
    if (process.stdout.isTTY) process.stdout.write('\n');
    console.error(`\ndemo failed: ${(err as Error).message}`);
    process.exitCode = 1;
  })
  .finally(async () => {
    for (const close of closers) await close();
  });

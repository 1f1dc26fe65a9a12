/**
 * The sandbox console's HTTP side (src/console/*): the page at `/` for browsers only, its static files, the
 * snapshot (merchants, orders, refunds, every notification attempt with the request, the exact signed string
 * and the reply, never a key), the Server-Sent Events feed, and the two buyer-side controls the page uses.
 * The page itself runs in Chromium in console.browser.test.ts.
 */
import { createHash, verify } from 'node:crypto';
import { beforeEach, describe, expect, it } from 'vitest';
import { SANDBOX_DEMO_COMBINE_SUB_MERCHANTS, SANDBOX_DEMO_V3, parseXml } from '@mp-pay/shared/wechatpay';
import {
  DEMO,
  eventually,
  pay,
  payParams,
  placeOrder,
  loginCode,
  postJson,
  SseParser,
  SUCCESS_XML,
  useSandboxAndReceiver,
  type SseEvent,
} from './helpers.ts';
import { callV3, payV3, placeV3, rsaPayParams } from './v3-helpers.ts';

const ctx = useSandboxAndReceiver({ timeScale: 100_000, refundMinIntervalMs: 0 });
beforeEach(async () => {
  await fetch(`${ctx.sb.url}/sandbox/faults`, { method: 'DELETE' });
  ctx.receiver.reply = () => ({ body: SUCCESS_XML });
});

interface Attempt {
  attempt: number;
  kind: string;
  outcome: string;
  httpStatus?: number;
  request?: { url: string; headers: Record<string, string>; body: string };
  signed?: string;
  replyBody?: string;
}
interface OrderView {
  out_trade_no: string;
  mch_id: string;
  api: string;
  state: string;
  total_fee: number;
  notifications: Attempt[];
  refunds: Array<{ out_refund_no: string; status: string; notifications: Attempt[] }>;
}
interface Snapshot {
  clock: { now: string; offset_ms: number };
  merchants: Array<{ mch_id: string; role: string; appids: string[]; key_mode: string }>;
  faults: { merchants: Record<string, unknown>; orders: Record<string, unknown> };
  orders: OrderView[];
  combines: unknown[];
}

async function snapshot(): Promise<{ text: string; json: Snapshot }> {
  const res = await fetch(`${ctx.sb.url}/sandbox/snapshot`);
  expect(res.status).toBe(200);
  const text = await res.text();
  return { text, json: JSON.parse(text) as Snapshot };
}

async function orderOf(outTradeNo: string): Promise<OrderView | undefined> {
  return (await snapshot()).json.orders.find((o) => o.out_trade_no === outTradeNo);
}

describe('GET / and the static files', () => {
  it('serves the page to a browser, with a CSP that allows nothing inline or remote', async () => {
    const res = await fetch(`${ctx.sb.url}/`, {
      headers: { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    const html = await res.text();
    expect(html).toContain('<script src="/sandbox/ui/console.js" defer></script>');
    // No network: nothing but the sandbox's own paths.
    expect(html).not.toMatch(/https?:\/\//);
  });

  it('keeps answering other clients at / with the 404 envelope, as before', async () => {
    for (const accept of ['application/json', '*/*']) {
      const res = await fetch(`${ctx.sb.url}/`, { headers: { accept } });
      expect(res.status).toBe(404);
      expect(((await res.json()) as { error: string }).error).toBe('NOT_FOUND');
    }
  });

  it.each([
    ['console.js', 'text/javascript; charset=utf-8'],
    ['console.css', 'text/css; charset=utf-8'],
  ])('serves %s as %s, with no external reference', async (name, type) => {
    const res = await fetch(`${ctx.sb.url}/sandbox/ui/${name}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe(type);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    const text = await res.text();
    expect(text).not.toMatch(/https?:\/\//);
    if (name === 'console.js') expect(text).not.toContain('innerHTML');
  });
});

describe('GET /sandbox/snapshot', () => {
  it('lists the main merchant and the combine sub-merchants, and never a key', async () => {
    const { text, json } = await snapshot();
    expect(json.merchants.map((m) => [m.mch_id, m.role])).toEqual([
      [DEMO.mchId, 'main'],
      ...SANDBOX_DEMO_COMBINE_SUB_MERCHANTS.map((sub) => [sub.mchId, 'combine-sub']),
    ]);
    expect(json.merchants[0]?.appids).toContain(DEMO.appId);
    const secrets = [
      DEMO.key,
      DEMO.secret,
      SANDBOX_DEMO_V3.apiV3Key,
      ...SANDBOX_DEMO_COMBINE_SUB_MERCHANTS.flatMap((sub) => [sub.key, sub.apiV3Key]),
    ];
    for (const secret of secrets) expect(text).not.toContain(secret);
    expect(text).not.toContain('PRIVATE KEY');
  });

  it('records a v2 notification: the request, the string-to-sign (key withheld) and the reply', async () => {
    ctx.receiver.reply = () => ({ body: SUCCESS_XML });
    const order = await placeOrder(ctx.sb, ctx.receiver.url);
    expect((await orderOf(order.outTradeNo))?.state).toBe('NOTPAY');
    expect((await pay(ctx.sb, order)).status).toBe(200);
    const seen = await eventually(async () => {
      const found = await orderOf(order.outTradeNo);
      return found?.notifications.some((n) => n.outcome === 'acknowledged') ? found : undefined;
    });
    expect(seen.state).toBe('SUCCESS');
    const attempt = seen.notifications[0] as Attempt;
    expect(attempt.request?.url).toBe(ctx.receiver.url);
    expect(attempt.request?.headers['content-type']).toBe('text/xml; charset=utf-8');
    const sent = parseXml(attempt.request?.body ?? '');
    expect(sent.out_trade_no).toBe(order.outTradeNo);
    expect(attempt.replyBody).toBe(SUCCESS_XML);
    expect(attempt.httpStatus).toBe(200);
    // The recorded string is exactly what was signed: with the key put back, its MD5 is the sent sign.
    const signed = attempt.signed ?? '';
    expect(signed).toMatch(/&key=<APIv2 key, not shown>$/);
    expect(signed).not.toContain(DEMO.key);
    const withKey = signed.replace('<APIv2 key, not shown>', DEMO.key);
    expect(createHash('md5').update(withKey).digest('hex').toUpperCase()).toBe(sent.sign);
  });

  it('records a v3 notification: timestamp\\nnonce\\nbody\\n, which the signature header verifies', async () => {
    ctx.receiver.reply = () => ({ status: 204, body: '' });
    const order = await placeV3(ctx.sb, ctx.receiver.url);
    expect((await payV3(ctx.sb, order.prepayId)).status).toBe(200);
    const seen = await eventually(async () => {
      const found = await orderOf(order.outTradeNo);
      return found?.notifications.some((n) => n.outcome === 'acknowledged') ? found : undefined;
    });
    const attempt = seen.notifications[0] as Attempt;
    const headers = attempt.request?.headers ?? {};
    const body = attempt.request?.body ?? '';
    expect(attempt.signed).toBe(
      `${headers['wechatpay-timestamp']}\n${headers['wechatpay-nonce']}\n${body}\n`,
    );
    const signature = Buffer.from(headers['wechatpay-signature'] ?? '', 'base64');
    expect(
      verify('sha256', Buffer.from(attempt.signed ?? ''), SANDBOX_DEMO_V3.platformPublicKey, signature),
    ).toBe(true);
    expect(attempt.httpStatus).toBe(204);
  });

  it('shows a merchant-console refund ending as the refund-outcome fault says', async () => {
    const order = await placeOrder(ctx.sb, ctx.receiver.url);
    await pay(ctx.sb, order);
    await postJson(`${ctx.sb.url}/sandbox/faults`, {
      out_trade_no: order.outTradeNo,
      faults: { refundOutcome: 'abnormal' },
    });
    const refund = await postJson(`${ctx.sb.url}/sandbox/console/refunds`, {
      out_trade_no: order.outTradeNo,
      refund_fee: 100,
    });
    expect(refund.status).toBe(201);
    const seen = await eventually(async () => {
      const found = await orderOf(order.outTradeNo);
      return found?.refunds[0]?.status === 'CHANGE' ? found : undefined;
    });
    expect(seen.refunds[0]?.out_refund_no).toBe(refund.json.out_refund_no);
    const { json } = await snapshot();
    expect(json.faults.orders[order.outTradeNo]).toEqual({ refundOutcome: 'abnormal' });
  });
});

describe('combine orders in the snapshot', () => {
  it('shows the combine with its sub-orders (each also an order of its merchant) and its notification', async () => {
    ctx.receiver.reply = () => ({ status: 204, body: '' });
    const { openid } = await loginCode(ctx.sb, 'console-combine');
    const stamp = `${Date.now()}`;
    const [sub1] = SANDBOX_DEMO_COMBINE_SUB_MERCHANTS;
    const body = {
      combine_appid: DEMO.appId,
      combine_mchid: DEMO.mchId,
      combine_out_trade_no: `CMBCONSOLE${stamp}`,
      sub_orders: [
        {
          mchid: DEMO.mchId,
          attach: 'main',
          amount: { total_amount: 300, currency: 'CNY' },
          out_trade_no: `SUBA${stamp}`,
          description: 'A',
        },
        {
          mchid: sub1?.mchId,
          attach: 'sub',
          amount: { total_amount: 200, currency: 'CNY' },
          out_trade_no: `SUBB${stamp}`,
          description: 'B',
        },
      ],
      combine_payer_info: { openid },
      notify_url: ctx.receiver.url,
    };
    const placed = await callV3(ctx.sb, 'POST', '/v3/combine-transactions/jsapi', body);
    expect(placed.status).toBe(200);
    const paid = await postJson(`${ctx.sb.url}/sandbox/pay`, rsaPayParams(String(placed.json.prepay_id)));
    expect(paid.status).toBe(200);
    type CombineView = {
      combine_out_trade_no: string;
      sub_orders: Array<{ mch_id: string; out_trade_no: string; state: string }>;
      notifications: Attempt[];
    };
    const combine = await eventually(async () => {
      const found = ((await snapshot()).json.combines as CombineView[]).find(
        (c) => c.combine_out_trade_no === body.combine_out_trade_no,
      );
      return found?.notifications.some((n) => n.outcome === 'acknowledged') ? found : undefined;
    });
    expect(combine.sub_orders.map((o) => [o.mch_id, o.out_trade_no, o.state])).toEqual([
      [DEMO.mchId, `SUBA${stamp}`, 'SUCCESS'],
      [sub1?.mchId, `SUBB${stamp}`, 'SUCCESS'],
    ]);
    const headers = combine.notifications[0]?.request?.headers ?? {};
    expect(combine.notifications[0]?.signed).toBe(
      `${headers['wechatpay-timestamp']}\n${headers['wechatpay-nonce']}\n${combine.notifications[0]?.request?.body}\n`,
    );
    const orders = (await snapshot()).json.orders as Array<OrderView & { combine_out_trade_no?: string }>;
    const sub = orders.find((o) => o.out_trade_no === `SUBB${stamp}`);
    expect(sub?.mch_id).toBe(sub1?.mchId);
    expect(sub?.combine_out_trade_no).toBe(body.combine_out_trade_no);
    // A sub-order is paid with its combine: the console's pay control refuses it.
    const refused = await postJson(`${ctx.sb.url}/sandbox/buyer/pay`, {
      mch_id: sub1?.mchId,
      out_trade_no: `SUBB${stamp}`,
    });
    expect(refused.status).toBe(409);
  });
});

describe('the buyer-side controls', () => {
  it('POST /sandbox/buyer/pay pays a pending order (notified), then refuses to pay it again', async () => {
    const order = await placeOrder(ctx.sb, ctx.receiver.url);
    const paid = await postJson(`${ctx.sb.url}/sandbox/buyer/pay`, { out_trade_no: order.outTradeNo });
    expect(paid).toEqual({
      status: 200,
      json: { out_trade_no: order.outTradeNo, mch_id: DEMO.mchId, outcome: 'success' },
    });
    await eventually(async () =>
      (await orderOf(order.outTradeNo))?.notifications.some((n) => n.outcome === 'acknowledged')
        ? true
        : undefined,
    );
    const again = await postJson(`${ctx.sb.url}/sandbox/buyer/pay`, { out_trade_no: order.outTradeNo });
    expect(again.status).toBe(409);
    expect(again.json.message).toBe('该订单已支付');
    const unknown = await postJson(`${ctx.sb.url}/sandbox/buyer/pay`, { out_trade_no: 'NOSUCHORDER' });
    expect(unknown.status).toBe(404);
    const bad = await postJson(`${ctx.sb.url}/sandbox/buyer/pay`, {
      out_trade_no: order.outTradeNo,
      outcome: 'maybe',
    });
    expect(bad.status).toBe(400);
  });

  it('POST /sandbox/buyer/pay {outcome: payerror} fails the payment: PAYERROR, no notification', async () => {
    const order = await placeOrder(ctx.sb, ctx.receiver.url);
    const failed = await postJson(`${ctx.sb.url}/sandbox/buyer/pay`, {
      out_trade_no: order.outTradeNo,
      outcome: 'payerror',
    });
    expect(failed.status).toBe(200);
    const seen = await orderOf(order.outTradeNo);
    expect(seen?.state).toBe('PAYERROR');
    expect(seen?.notifications).toEqual([]);
  });

  it('POST /sandbox/notifications/resend sends a paid order notification again; refuses an unpaid one', async () => {
    const order = await placeOrder(ctx.sb, ctx.receiver.url);
    const early = await postJson(`${ctx.sb.url}/sandbox/notifications/resend`, {
      out_trade_no: order.outTradeNo,
    });
    expect(early.status).toBe(409);
    await pay(ctx.sb, order);
    await eventually(async () =>
      (await orderOf(order.outTradeNo))?.notifications.length === 1 ? true : undefined,
    );
    const resent = await postJson(`${ctx.sb.url}/sandbox/notifications/resend`, {
      out_trade_no: order.outTradeNo,
    });
    expect(resent.status).toBe(202);
    const seen = await eventually(async () => {
      const found = await orderOf(order.outTradeNo);
      return found?.notifications.length === 2 ? found : undefined;
    });
    expect(seen.notifications.map((n) => n.outcome)).toEqual(['acknowledged', 'acknowledged']);
  });
});

describe('POST /sandbox/notifications/resend while the schedule runs', () => {
  it('answers 409 NOTIFICATION_RUNNING while attempts are pending or in flight, and resends once it is over', async () => {
    const resend = (outTradeNo: string) =>
      postJson(`${ctx.sb.url}/sandbox/notifications/resend`, { out_trade_no: outTradeNo });
    // The merchant is slow: the first attempt is in flight for 600 ms (no next attempt scheduled yet).
    ctx.receiver.reply = () => ({ body: SUCCESS_XML, delayMs: 600 });
    const slow = await placeOrder(ctx.sb, ctx.receiver.url);
    const before = ctx.receiver.received.length;
    await pay(ctx.sb, slow);
    await eventually(() => (ctx.receiver.received.length > before ? true : undefined));
    const inFlight = await resend(slow.outTradeNo);
    expect(inFlight.status).toBe(409);
    expect(inFlight.json.error).toBe('NOTIFICATION_RUNNING');
    expect(String(inFlight.json.message)).toContain('in flight');

    // The first attempt waits 3 s (the delay fault): pending (next_notification_at set), four resends start
    // nothing, and the merchant gets one notification, not five.
    ctx.receiver.reply = () => ({ body: SUCCESS_XML });
    const delayed = await placeOrder(ctx.sb, ctx.receiver.url);
    await postJson(`${ctx.sb.url}/sandbox/faults`, {
      out_trade_no: delayed.outTradeNo,
      faults: { notifyDelayMs: 3000 },
    });
    await pay(ctx.sb, delayed);
    const pending = (await (await fetch(`${ctx.sb.url}/sandbox/orders/${delayed.outTradeNo}`)).json()) as {
      next_notification_at?: string;
    };
    expect(pending.next_notification_at).toBeDefined();
    for (let i = 0; i < 4; i++) {
      const refused = await resend(delayed.outTradeNo);
      expect(refused.status).toBe(409);
      expect(refused.json.error).toBe('NOTIFICATION_RUNNING');
      expect(String(refused.json.message)).toContain('next attempt at');
    }
    const delivered = await eventually(async () => {
      const found = await orderOf(delayed.outTradeNo);
      return found?.notifications.length ? found : undefined;
    }, 8000);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect((await orderOf(delayed.outTradeNo))?.notifications.map((n) => n.outcome)).toEqual([
      'acknowledged',
    ]);
    expect(delivered.state).toBe('SUCCESS');

    // Once the slow one is acknowledged, its schedule is over and a resend goes out (one schedule, one POST).
    await eventually(async () =>
      (await orderOf(slow.outTradeNo))?.notifications.some((n) => n.outcome === 'acknowledged')
        ? true
        : undefined,
    );
    const again = await resend(slow.outTradeNo);
    expect(again.status).toBe(202);
    const seen = await eventually(async () => {
      const found = await orderOf(slow.outTradeNo);
      return found?.notifications.length === 2 ? found : undefined;
    });
    expect(seen.notifications.map((n) => n.outcome)).toEqual(['acknowledged', 'acknowledged']);
  });
});

describe('the console controls refuse other web pages', () => {
  /** What a page on another origin can send without a preflight: a text/plain "simple" request. */
  const simple = (path: string, body: unknown, headers: Record<string, string>) =>
    fetch(`${ctx.sb.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain;charset=UTF-8', ...headers },
      body: JSON.stringify(body),
    });

  it('answers 403 CROSS_ORIGIN to a cross-site POST, and does nothing', async () => {
    const order = await placeOrder(ctx.sb, ctx.receiver.url);
    const attacks: Array<[string, unknown]> = [
      ['/sandbox/buyer/pay', { out_trade_no: order.outTradeNo }],
      ['/sandbox/notifications/resend', { out_trade_no: order.outTradeNo }],
      ['/sandbox/console/refunds', { out_trade_no: order.outTradeNo, refund_fee: 1 }],
      ['/sandbox/console/bill-tamper', { out_trade_no: order.outTradeNo, total_fee: 1 }],
      ['/sandbox/faults', { mch_id: DEMO.mchId, faults: { dropNotifications: true } }],
      ['/sandbox/clock', { advance_ms: 3_600_000 }],
    ];
    const origins: Array<Record<string, string>> = [
      { origin: 'https://evil.example' },
      // Another port of the same host is another origin (a merchant's web app on :3000, say).
      { origin: 'http://127.0.0.1:1' },
      { origin: 'null' },
      // A browser that sends no Origin still says where the request comes from.
      { 'sec-fetch-site': 'cross-site' },
      { 'sec-fetch-site': 'same-site' },
    ];
    for (const [path, body] of attacks) {
      for (const headers of origins) {
        const res = await simple(path, body, headers);
        expect(res.status, `${path} ${JSON.stringify(headers)}`).toBe(403);
        const json = (await res.json()) as { error: string; message: string };
        expect(json.error).toBe('CROSS_ORIGIN');
        expect(json.message).toContain('own page');
      }
    }
    const cleared = await fetch(`${ctx.sb.url}/sandbox/faults`, {
      method: 'DELETE',
      headers: { origin: 'https://evil.example' },
    });
    expect(cleared.status).toBe(403);
    // Nothing happened: unpaid, no fault set, the clock where it was.
    expect((await orderOf(order.outTradeNo))?.state).toBe('NOTPAY');
    const { json } = await snapshot();
    expect(json.faults.merchants[DEMO.mchId]).toBeUndefined();
    expect(json.clock.offset_ms).toBe(0);
  });

  it('accepts the sandbox page itself (same origin), and clients that name no origin', async () => {
    const order = await placeOrder(ctx.sb, ctx.receiver.url);
    const own = await simple(
      '/sandbox/buyer/pay',
      { out_trade_no: order.outTradeNo, outcome: 'cancel' },
      { origin: new URL(ctx.sb.url).origin, 'sec-fetch-site': 'same-origin' },
    );
    expect(own.status).toBe(200);
    // curl, tests, SDKs: no Origin at all.
    const plain = await postJson(`${ctx.sb.url}/sandbox/buyer/pay`, { out_trade_no: order.outTradeNo });
    expect(plain.status).toBe(200);
    const clock = await fetch(`${ctx.sb.url}/sandbox/clock`, { headers: { origin: 'https://evil.example' } });
    expect(clock.status).toBe(200); // reads are not guarded: another page cannot read them without CORS
  });

  it('leaves the buyer-side pay paths open to merchant pages on other origins', async () => {
    const order = await placeOrder(ctx.sb, ctx.receiver.url);
    const res = await fetch(`${ctx.sb.url}/sandbox/pay`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        origin: 'http://localhost:5173',
        'sec-fetch-site': 'cross-site',
      },
      body: JSON.stringify(payParams(order)),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    expect((await orderOf(order.outTradeNo))?.state).toBe('SUCCESS');
  });
});

/** Reads Server-Sent Events from a fetch body until `until` accepts one (or the deadline passes). */
async function readEvents(
  body: ReadableStream<Uint8Array>,
  until: (event: SseEvent) => boolean,
  timeoutMs = 5000,
): Promise<SseEvent[]> {
  const reader = body.getReader();
  const parser = new SseParser();
  const events: SseEvent[] = [];
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const chunk = await Promise.race([
      reader.read(),
      new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error('no event in time')), deadline - Date.now()),
      ),
    ]);
    if (chunk.done) break;
    for (const event of parser.push(chunk.value)) {
      events.push(event);
      if (until(event)) {
        reader.releaseLock();
        return events;
      }
    }
  }
  throw new Error(`the expected event did not come; got ${events.length}`);
}

describe('GET /sandbox/events', () => {
  it('streams the snapshot at once, then again when an order is placed and paid', async () => {
    const abort = new AbortController();
    const res = await fetch(`${ctx.sb.url}/sandbox/events`, { signal: abort.signal });
    try {
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
      expect(res.headers.get('cache-control')).toContain('no-cache');
      const body = res.body as ReadableStream<Uint8Array>;
      const [first] = await readEvents(body, () => true);
      expect(first?.event).toBe('snapshot');
      expect(Array.isArray((JSON.parse(first?.data ?? '{}') as Snapshot).merchants)).toBe(true);

      const order = await placeOrder(ctx.sb, ctx.receiver.url);
      const placed = await readEvents(body, (e) =>
        (JSON.parse(e.data) as Snapshot).orders.some((o) => o.out_trade_no === order.outTradeNo),
      );
      expect(placed.at(-1)?.event).toBe('snapshot');

      await pay(ctx.sb, order);
      await readEvents(body, (e) =>
        (JSON.parse(e.data) as Snapshot).orders.some(
          (o) =>
            o.out_trade_no === order.outTradeNo &&
            o.state === 'SUCCESS' &&
            o.notifications.some((n) => n.outcome === 'acknowledged'),
        ),
      );
    } finally {
      abort.abort();
    }
  });
});

describe('GET /sandbox/events: only changes', () => {
  /** Every event that arrives on `body` in the next `ms`. */
  async function collect(body: ReadableStream<Uint8Array>, ms: number) {
    const reader = body.getReader();
    const parser = new SseParser();
    const events: SseEvent[] = [];
    const timer = setTimeout(() => reader.releaseLock(), ms);
    try {
      for (;;) {
        const chunk = await reader.read();
        if (chunk.done) break;
        events.push(...parser.push(chunk.value));
      }
    } catch {
      // released at the deadline: the pending read is rejected, the stream stays readable
    } finally {
      clearTimeout(timer);
    }
    return events;
  }

  it('sends nothing more while the sandbox is idle (the clock running is not a change)', async () => {
    const abort = new AbortController();
    const res = await fetch(`${ctx.sb.url}/sandbox/events`, { signal: abort.signal });
    try {
      const body = res.body as ReadableStream<Uint8Array>;
      const [first] = await readEvents(body, () => true);
      expect(first?.event).toBe('snapshot');
      const later = await collect(body, 2200);
      expect(later.filter((e) => e.event === 'snapshot')).toEqual([]);
    } finally {
      abort.abort();
    }
  });

  it('delivers a change to every console, the one that connected right after it included', async () => {
    const aborts: AbortController[] = [];
    const connect = async () => {
      const abort = new AbortController();
      aborts.push(abort);
      const res = await fetch(`${ctx.sb.url}/sandbox/events`, { signal: abort.signal });
      return res.body as ReadableStream<Uint8Array>;
    };
    try {
      const a = await connect();
      const b = await connect();
      await readEvents(a, () => true);
      await readEvents(b, () => true);
      const order = await placeOrder(ctx.sb, ctx.receiver.url);
      // C connects after the change and before the feed's next check.
      const c = await connect();
      const hasOrder = (e: { data: string }) =>
        (JSON.parse(e.data) as Snapshot).orders.some((o) => o.out_trade_no === order.outTradeNo);
      const [cFirst] = await readEvents(c, () => true);
      expect(hasOrder(cFirst as { data: string })).toBe(true);
      await readEvents(a, hasOrder);
      await readEvents(b, hasOrder);
      // And each got it once: nothing more while idle.
      for (const body of [a, b, c]) {
        expect((await collect(body, 600)).filter((e) => e.event === 'snapshot')).toEqual([]);
      }
    } finally {
      for (const abort of aborts) abort.abort();
    }
  });
});

/**
 * An in-memory merchant server behind a fake wx.request, for page and service tests: it follows the HTTP
 * contract in @mp-pay/shared/api (sessions, 401 for unknown tokens, one product or the catalogue, server-side
 * pricing, cursor pages with status filters, payment channels and launches, the server's order id format,
 * pay-again and close rules (a pending order cancelled at once), refund requests and the refunds of paid
 * orders, the "payment succeeded" subscription), and lets a test hold, fail or rewrite any reply through
 * `intercept`.
 * The end-to-end test replaces all of this with the real server.
 */
import {
  ORDER_FILTER_STATUSES,
  ORDER_LIST_FILTERS,
  PAYMENT_CHANNELS,
  SUBSCRIBE_ANSWERS,
} from '@mp-pay/shared/api';
import type {
  ClientConfigResponse,
  ErrorId,
  JsapiPayment,
  Order,
  OrderListFilter,
  OrderStatus,
  PaidMessageView,
  PaymentLaunch,
  Product,
  RefundState,
  RefundSummary,
} from '@mp-pay/shared/api';
import type { WxStubs } from './fake-wx.ts';

export interface FakeRequest {
  method: string;
  url: string;
  path: string;
  query: Record<string, string>;
  data: unknown;
  header: Record<string, string>;
}
export type FakeReply = { status: number; body: unknown } | { networkError: string };
/** Returns a reply to short-circuit the backend, or undefined to let it answer. */
export type Interceptor = (req: FakeRequest) => FakeReply | undefined | Promise<FakeReply | undefined>;

export const API_BASE = 'http://api.test';
/** The same fake server as trial and release builds must reach it: over https. */
export const HTTPS_API_BASE = 'https://api.test';

export const PRODUCTS: Product[] = [
  { id: 'tea', name: '龙井茶', description: '明前龙井 50g', priceFen: 1990 },
  {
    id: 'cup',
    name: '茶杯',
    description: '白瓷 200ml',
    priceFen: 1205,
    imageUrl: 'https://img.test/cup.png',
  },
];

function error(status: number, id: ErrorId, message: string): FakeReply {
  return { status, body: { error: id, message, requestId: `req-${id}` } };
}

/** The server's order ids: Beijing time to the second, then 16 random characters (30 in all). */
export const ORDER_ID_RE = /^\d{14}[0-9A-Za-z]{16}$/;
/** A WeChat out_trade_no the server mints: the order id, then the payment attempt's two-digit number. */
export const OUT_TRADE_NO_RE = /^\d{14}[0-9A-Za-z]{16}\d{2}$/;

/** The n-th test order id, in the server's format (readable, not random). */
export function orderId(n: number): string {
  return `20261125143000mpTest${String(n).padStart(10, '0')}`;
}
/** The out_trade_no of an order's payment attempt (the first one by default). */
export function outTradeNoOf(id: string, attempt = 1): string {
  return id + String(attempt).padStart(2, '0');
}

/** The appId a live-mode fake server places its trades for. */
export const FAKE_APP_ID = 'wxfakeapp';

export function makeOrder(overrides: Partial<Order> & { id: string }): Order {
  return {
    outTradeNo: outTradeNoOf(overrides.id),
    status: 'PENDING',
    description: '龙井茶 x1',
    items: [{ productId: 'tea', name: '龙井茶', unitPriceFen: 1990, quantity: 1, subtotalFen: 1990 }],
    totalFen: 1990,
    createdAt: '2026-11-25T06:30:00.000Z',
    expiresAt: '2026-11-25T08:30:00.000Z',
    ...overrides,
  };
}

/** The n-th refund of a payment: its out_trade_no, then R and two digits, as the server mints them. */
export function outRefundNoOf(outTradeNo: string, n: number): string {
  return `${outTradeNo}R${String(n).padStart(2, '0')}`;
}

const PAID_STATUSES: readonly OrderStatus[] = ['PAID', 'PARTIALLY_REFUNDED', 'REFUNDED'];

export class FakeBackend {
  mode: ClientConfigResponse = { mode: 'live' };
  products: Product[] = PRODUCTS.map((p) => ({ ...p }));
  /** Newest first, as GET /api/orders lists them. */
  orders: Order[] = [];
  requests: FakeRequest[] = [];
  tokens = new Set<string>();
  /**
   * What the server does with a buyer's refund request (REFUND_POLICY): `review` (its default) leaves it
   * REQUESTED for staff; `auto` approves it at once and refunds what remains, as a PENDING refund.
   */
  refundPolicy: 'review' | 'auto' = 'review';
  /** Each order's refunds, oldest first. The server keeps them apart from the order: lists never show them. */
  refunds = new Map<string, RefundSummary[]>();
  loginCodes: string[] = [];
  /**
   * What WeChat does with the "payment succeeded" message when the buyer accepts on a paid order: SENT, or
   * FAILED with this reason (the real server sends it in the background; this one at once).
   */
  paidMessageSend: { state: 'SENT' } | { state: 'FAILED'; reason: string } = { state: 'SENT' };
  private seq = 0;
  private interceptors: Interceptor[] = [];
  private byIdempotencyKey = new Map<string, Order>();

  intercept(fn: Interceptor): void {
    this.interceptors.push(fn);
  }

  setStatus(id: string, status: OrderStatus): void {
    const order = this.orders.find((o) => o.id === id);
    if (!order) throw new Error(`no order ${id}`);
    order.status = status;
    if (status === 'PAID') order.paidAt = '2026-11-25T06:31:00.000Z';
    if (status === 'CLOSED') order.closedAt = '2026-11-25T06:40:00.000Z';
  }

  private order(id: string): Order {
    const order = this.orders.find((o) => o.id === id);
    if (!order) throw new Error(`no order ${id}`);
    return order;
  }

  /** Staff decide the open request; approving refunds whatever remains of the payment (a PENDING refund). */
  decideRefundRequest(
    id: string,
    approve: boolean,
    at = '2026-11-26T02:00:00.000Z',
  ): RefundSummary | undefined {
    const order = this.order(id);
    const request = order.refundRequest;
    if (request?.state !== 'REQUESTED') throw new Error(`no open refund request on ${id}`);
    request.state = approve ? 'APPROVED' : 'REJECTED';
    request.decidedAt = at;
    if (!approve) return undefined;
    const refunded = (this.refunds.get(id) ?? [])
      .filter((r) => r.state !== 'CLOSED' && r.state !== 'ABNORMAL')
      .reduce((sum, r) => sum + r.refundFen, 0);
    return this.addRefund(id, { refundFen: order.totalFen - refunded, createdAt: at });
  }

  /** A refund of the order's payment (staff may refund in part), PENDING unless told otherwise. */
  addRefund(id: string, refund: Partial<RefundSummary> & { refundFen: number }): RefundSummary {
    const order = this.order(id);
    const list = this.refunds.get(id) ?? [];
    const made: RefundSummary = {
      outRefundNo: outRefundNoOf(order.outTradeNo, list.length + 1),
      state: 'PENDING',
      createdAt: '2026-11-26T02:00:00.000Z',
      ...refund,
    };
    list.push(made);
    this.refunds.set(id, list);
    if (made.state === 'SUCCESS') this.updateRefundedStatus(order);
    return made;
  }

  /** WeChat settles a refund: SUCCESS moves the order to PARTIALLY_REFUNDED or REFUNDED. */
  settleRefund(outRefundNo: string, state: RefundState, at = '2026-11-26T02:05:00.000Z'): void {
    for (const [id, list] of this.refunds) {
      const refund = list.find((r) => r.outRefundNo === outRefundNo);
      if (!refund) continue;
      refund.state = state;
      if (state === 'SUCCESS' || state === 'CLOSED' || state === 'ABNORMAL') refund.settledAt = at;
      this.updateRefundedStatus(this.order(id));
      return;
    }
    throw new Error(`no refund ${outRefundNo}`);
  }

  private updateRefundedStatus(order: Order): void {
    const refunded = (this.refunds.get(order.id) ?? [])
      .filter((r) => r.state === 'SUCCESS')
      .reduce((sum, r) => sum + r.refundFen, 0);
    if (refunded > 0) order.status = refunded >= order.totalFen ? 'REFUNDED' : 'PARTIALLY_REFUNDED';
  }

  /** A paid order as GET /api/orders/:id and refund-request answers show it: with its refunds. */
  private withRefunds(order: Order): Order {
    return PAID_STATUSES.includes(order.status)
      ? { ...order, refunds: (this.refunds.get(order.id) ?? []).map((r) => ({ ...r })) }
      : order;
  }

  /** What the mini-program channel launches: a jsapi payment (the five fields, kind and appId). */
  jsapiFor(order: Order): JsapiPayment {
    this.seq += 1;
    return {
      kind: 'jsapi',
      appId: this.mode.appId ?? FAKE_APP_ID,
      timeStamp: '1764052200',
      nonceStr: `nonce${this.seq}`,
      package: `prepay_id=wx${order.outTradeNo}${this.seq}`,
      signType: 'MD5',
      paySign: `SIGN${this.seq}`,
    };
  }

  /** The launch in create and pay-again replies; a test may swap it (a misconfigured server, say). */
  paymentFor: (order: Order) => PaymentLaunch = (order) => this.jsapiFor(order);

  /** The wx.request stub: replies asynchronously, like the real one. */
  requestStub(): WxStubs {
    return {
      request: ((opts: WechatMiniprogram.RequestOption) => {
        const [path = '', qs = ''] = opts.url.replace(API_BASE, '').replace(HTTPS_API_BASE, '').split('?');
        const query: Record<string, string> = {};
        for (const pair of qs.split('&').filter(Boolean)) {
          const [k = '', v = ''] = pair.split('=');
          query[decodeURIComponent(k)] = decodeURIComponent(v);
        }
        const req: FakeRequest = {
          method: opts.method ?? 'GET',
          url: opts.url,
          path,
          query,
          data: opts.data,
          header: (opts.header ?? {}) as Record<string, string>,
        };
        this.requests.push(req);
        void this.reply(req).then((reply) => {
          if ('networkError' in reply) {
            opts.fail?.({
              errMsg: `request:fail ${reply.networkError}`,
              errno: 600001,
            } as unknown as WechatMiniprogram.RequestFailCallbackErr);
          } else {
            opts.success?.({
              statusCode: reply.status,
              data: reply.body as WechatMiniprogram.IAnyObject,
              header: {},
              cookies: [],
              errMsg: 'request:ok',
            } as unknown as WechatMiniprogram.RequestSuccessCallbackResult);
          }
        });
        return { abort() {} };
      }) as never,
    };
  }

  private async reply(req: FakeRequest): Promise<FakeReply> {
    for (const fn of this.interceptors) {
      const r = await fn(req);
      if (r) return r;
    }
    return this.handle(req);
  }

  private handle(req: FakeRequest): FakeReply {
    const { method, path } = req;
    if (method === 'GET' && path === '/api/config') return { status: 200, body: this.mode };
    // The catalogue is public, as on the real server.
    if (method === 'GET' && path === '/api/products')
      return { status: 200, body: { products: this.products } };
    const product = /^\/api\/products\/([^/]+)$/.exec(path);
    if (method === 'GET' && product) {
      const id = decodeURIComponent(product[1] ?? '');
      // Like the real server: an id that cannot be a product's is a bad request, an unknown one not found.
      if (!/^[a-z0-9-]{1,40}$/.test(id)) return error(400, 'invalid_request', 'not a product id');
      const found = this.products.find((p) => p.id === id);
      return found
        ? { status: 200, body: { product: found } }
        : error(404, 'not_found', `Unknown product: ${id}.`);
    }
    if (method === 'POST' && path === '/api/session') {
      const code = (req.data as { code?: unknown } | undefined)?.code;
      if (typeof code !== 'string' || !code) return error(400, 'invalid_request', 'code required');
      this.loginCodes.push(code);
      const token = `token-${this.loginCodes.length}`;
      this.tokens.add(token);
      return { status: 200, body: { token, expiresIn: 7200 } };
    }
    const auth = req.header.Authorization ?? '';
    if (!this.tokens.has(auth.replace(/^Bearer /, ''))) return error(401, 'unauthorized', 'no session');

    if (method === 'POST' && path === '/api/orders') return this.create(req);
    if (method === 'GET' && path === '/api/orders') {
      const limit = Number(req.query.limit ?? '10');
      const start = Number(req.query.cursor ?? '0');
      const status = req.query.status;
      if (status !== undefined && !(ORDER_LIST_FILTERS as readonly string[]).includes(status))
        return error(400, 'invalid_request', 'unknown status filter');
      const listed =
        status === undefined
          ? this.orders
          : this.orders.filter((o) => ORDER_FILTER_STATUSES[status as OrderListFilter].includes(o.status));
      const page = listed.slice(start, start + limit);
      const next = start + limit < listed.length ? String(start + limit) : null;
      return { status: 200, body: { orders: page, nextCursor: next } };
    }
    const m = /^\/api\/orders\/([^/]+)(\/payment|\/close|\/refund-requests|\/subscriptions)?$/.exec(path);
    if (m) {
      const id = decodeURIComponent(m[1] ?? '');
      // Like the real server, a malformed id is a bad request, not an unknown order.
      if (!ORDER_ID_RE.test(id)) return error(400, 'invalid_request', 'not an order id');
      const order = this.orders.find((o) => o.id === id);
      if (!order) return error(404, 'order_not_found', 'no such order');
      if (method === 'GET' && !m[2]) return { status: 200, body: { order: this.withRefunds(order) } };
      if (method === 'POST' && m[2] === '/payment') {
        if (order.status === 'PAID') return error(409, 'order_already_paid', 'paid');
        if (order.status === 'CLOSED') return error(409, 'order_closed', 'closed');
        return { status: 200, body: { order, payment: this.paymentFor(order) } };
      }
      if (method === 'POST' && m[2] === '/close') {
        if (order.status === 'PAID') return error(409, 'order_already_paid', 'paid');
        this.setStatus(order.id, 'CLOSED');
        return { status: 200, body: { order } };
      }
      if (method === 'POST' && m[2] === '/refund-requests') return this.askRefund(order, req.data);
      if (method === 'POST' && m[2] === '/subscriptions') return this.subscribe(order, req.data);
    }
    return error(404, 'not_found', `${method} ${path}`);
  }

  /**
   * POST /api/orders/:id/subscriptions {templateId, answer}: 201 {order} with `paidMessage`. Only the
   * configured template, only for an order that is or may still be paid; a second answer changes nothing.
   */
  private subscribe(order: Order, data: unknown): FakeReply {
    const body = data as { templateId?: unknown; answer?: unknown } | undefined;
    if (
      typeof body?.templateId !== 'string' ||
      !(SUBSCRIBE_ANSWERS as readonly unknown[]).includes(body.answer)
    )
      return error(400, 'invalid_request', 'templateId and answer required');
    if (body.templateId !== this.mode.subscribeTemplates?.paymentSucceeded)
      return error(409, 'subscription_not_allowed', 'not a template of this server');
    if (order.status !== 'PAID' && order.status !== 'PENDING')
      return error(409, 'subscription_not_allowed', `order is ${order.status}`);
    if (!order.paidMessage) {
      const answeredAt = '2026-11-25T06:32:00.000Z';
      let view: PaidMessageView = { state: 'DECLINED', templateId: body.templateId, answeredAt };
      if (body.answer === 'accept') {
        view = { ...view, state: 'ACCEPTED' };
        if (order.status === 'PAID')
          view =
            this.paidMessageSend.state === 'SENT'
              ? { ...view, state: 'SENT', sentAt: '2026-11-25T06:32:01.000Z' }
              : { ...view, state: 'FAILED', reason: this.paidMessageSend.reason };
      }
      order.paidMessage = view;
    }
    return { status: 201, body: { order: this.withRefunds(order) } };
  }

  /** POST /api/orders/:id/refund-requests {reason}: 201 {order}, the same order while a request is open. */
  private askRefund(order: Order, data: unknown): FakeReply {
    const reason = (data as { reason?: unknown } | undefined)?.reason;
    // The server trims the reason, then wants 1 to 80 characters.
    if (typeof reason !== 'string' || reason.trim().length === 0 || reason.trim().length > 80)
      return error(400, 'invalid_request', 'reason: 1-80 characters');
    if (order.status !== 'PAID' && order.status !== 'PARTIALLY_REFUNDED')
      return error(409, 'refund_not_allowed', 'order not paid');
    if (order.refundRequest?.state !== 'REQUESTED') {
      order.refundRequest = {
        state: 'REQUESTED',
        reason: reason.trim(),
        requestedAt: '2026-11-26T01:00:00.000Z',
      };
      if (this.refundPolicy === 'auto') this.decideRefundRequest(order.id, true, '2026-11-26T01:00:00.000Z');
    }
    return { status: 201, body: { order: this.withRefunds(order) } };
  }

  private create(req: FakeRequest): FakeReply {
    const key = req.header['Idempotency-Key'];
    const existing = key ? this.byIdempotencyKey.get(key) : undefined;
    if (existing) return { status: 201, body: { order: existing, payment: this.paymentFor(existing) } };
    const body = req.data as
      { items?: { productId: string; quantity: number }[]; channel?: unknown } | undefined;
    const channel = body?.channel ?? 'miniprogram';
    if (!(PAYMENT_CHANNELS as readonly unknown[]).includes(channel))
      return error(400, 'invalid_request', 'unknown channel');
    // Only the mini-program channel is served, as on the real server today.
    if (channel !== 'miniprogram')
      return error(400, 'channel_not_available', `${String(channel)} not served`);
    const items = body?.items ?? [];
    const lines = [];
    for (const item of items) {
      const product = this.products.find((p) => p.id === item.productId);
      if (!product) return error(404, 'product_not_found', item.productId);
      lines.push({
        productId: product.id,
        name: product.name,
        unitPriceFen: product.priceFen,
        quantity: item.quantity,
        subtotalFen: product.priceFen * item.quantity,
      });
    }
    const order = makeOrder({
      id: orderId(this.orders.length + 1),
      description: lines.map((l) => `${l.name} x${l.quantity}`).join(', '),
      items: lines,
      totalFen: lines.reduce((sum, l) => sum + l.subtotalFen, 0),
    });
    this.orders.unshift(order);
    if (key) this.byIdempotencyKey.set(key, order);
    return { status: 201, body: { order, payment: this.paymentFor(order) } };
  }
}

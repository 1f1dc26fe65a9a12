/**
 * Combine (合单) payments end to end (WECHATPAY_API_VERSION=v3, docs/combine.md) against the real sandbox over
 * HTTP and real Redis: a cart of two merchants' goods becomes one combine with a sub-order per merchant, paid by
 * one wx.requestPayment; the one notification (duplicated, delayed) makes the order PAID exactly once; a
 * partially paid combine is refunded; refunds go per sub-order, signed by each sub-order's merchant; a cancelled
 * combine is closed at WeChat with its sub-orders; one other merchant's goods alone are its own trade.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Order, ProductListResponse, RefundResponse } from '@mp-pay/shared/api';
import {
  encryptV3Resource,
  SANDBOX_DEMO,
  SANDBOX_DEMO_COMBINE_SUB_MERCHANTS,
  SANDBOX_DEMO_V3,
  signV3,
} from '@mp-pay/shared/wechatpay';
import { beijingDate, beijingMidnight } from '../src/domain/beijing-date.ts';
import type { ReconciliationReport } from '../src/services/reconcile/index.ts';
import { waitFor } from './helpers/redis.ts';
import {
  bearer,
  createdOrder,
  json,
  paidEvents,
  payInSandbox,
  placeOrder,
  post,
  setFaults,
  signIn,
  startStack,
  storedStatus,
  waitForStatus,
  type Stack,
} from './helpers/stack.ts';

const ADMIN = 'ops:combine-test-admin-token-0123456789abcdef';
const TEAWARE = SANDBOX_DEMO_COMBINE_SUB_MERCHANTS[0]?.mchId as string;
const SNACKS = SANDBOX_DEMO_COMBINE_SUB_MERCHANTS[1]?.mchId as string;
/** green-tea ×2 (main) + teapot (teaware) + osmanthus-cake (snacks): three merchants. */
const CART = [
  { productId: 'green-tea', quantity: 2 },
  { productId: 'teapot', quantity: 1 },
  { productId: 'osmanthus-cake', quantity: 1 },
];

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({
    label: 'combine',
    env: { WECHATPAY_API_VERSION: 'v3', ADMIN_TOKENS: ADMIN, REFUND_POLICY: 'auto' },
  });
});
afterAll(async () => {
  await stack?.close();
});

async function readOrder(token: string, id: string): Promise<Order> {
  return (
    await json<{ order: Order }>(
      await fetch(`${stack.server.url}/api/orders/${id}`, { headers: bearer(token) }),
    )
  ).order;
}

async function sandboxCombine(no: string) {
  return json<{ sub_orders: { mch_id: string; out_trade_no: string; state: string }[] }>(
    await fetch(`${stack.sandbox.url}/sandbox/combines/${no}`),
  );
}

describe('combine payments', () => {
  it('offers every configured merchant’s goods, each product naming its merchant', async () => {
    const { products } = await json<ProductListResponse>(await fetch(`${stack.server.url}/api/products`));
    const merchantOf = (id: string) => products.find((p) => p.id === id)?.merchant?.mchid;
    expect(merchantOf('green-tea')).toBe(SANDBOX_DEMO.mchId);
    expect(merchantOf('teapot')).toBe(TEAWARE);
    expect(merchantOf('osmanthus-cake')).toBe(SNACKS);
  });

  it('pays a three-merchant cart with one combine: every sub-order PAID, one order.paid despite duplicates', async () => {
    const token = await signIn(stack, 'combine-alice');
    const { order, payment } = await createdOrder(stack.server, token, CART);
    expect(order.totalFen).toBe(3800 * 2 + 12800 + 2600);
    expect(order.subOrders?.map((s) => [s.mchid, s.totalFen, s.state])).toEqual([
      [SANDBOX_DEMO.mchId, 7600, 'PENDING'],
      [TEAWARE, 12800, 'PENDING'],
      [SNACKS, 2600, 'PENDING'],
    ]);
    // The sub-orders are their merchants' trades at WeChat, under the combine number (the attempt's).
    const combine = await sandboxCombine(order.outTradeNo);
    expect(combine.sub_orders.map((s) => [s.mch_id, s.out_trade_no])).toEqual(
      order.subOrders?.map((s) => [s.mchid, s.outTradeNo]),
    );
    // WeChat may deliver the one combine notification late and more than once.
    await setFaults(
      stack,
      { out_trade_no: order.outTradeNo },
      { duplicateNotifications: 2, notifyDelayMs: 200 },
    );
    expect(payment.signType).toBe('RSA');
    expect(await payInSandbox(stack, payment)).toBe('requestPayment:ok');
    await waitForStatus(stack.server, order.id, 'PAID');
    const paid = await readOrder(token, order.id);
    expect(paid.subOrders?.every((s) => s.state === 'PAID' && /^\d{28}$/.test(s.transactionId ?? ''))).toBe(
      true,
    );
    expect(paid.partiallyPaidFen).toBeUndefined();
    // The duplicates arrive, each acknowledged (204), without changing anything twice.
    await waitFor(async () => {
      const view = await json<{ notifications: { outcome: string }[] }>(
        await fetch(`${stack.sandbox.url}/sandbox/combines/${order.outTradeNo}`),
      );
      return view.notifications.filter((n) => n.outcome === 'acknowledged').length >= 3;
    }, 'the notification and its two duplicates acknowledged');
    expect(await paidEvents(stack.server, order.id)).toHaveLength(1);
  });

  it('refunds per sub-order, each by its own merchant; the order is REFUNDED when all are', async () => {
    const token = await signIn(stack, 'combine-bob');
    const { order, payment } = await createdOrder(stack.server, token, CART.slice(0, 2));
    expect(await payInSandbox(stack, payment)).toBe('requestPayment:ok');
    await waitForStatus(stack.server, order.id, 'PAID');
    const teapot = (await readOrder(token, order.id)).subOrders?.find((s) => s.mchid === TEAWARE);
    const refund = (body: object) =>
      fetch(
        `${stack.server.url}/admin/orders/${order.id}/refunds`,
        post(body, bearer(ADMIN.split(':')[1] as string)),
      );
    // A partial amount must say which merchant's payment it comes out of.
    const vague = await refund({ refundFen: 100, reason: 'chipped lid' });
    expect(vague.status).toBe(400);
    const one = await refund({ refundFen: 2800, reason: 'chipped lid', outTradeNo: teapot?.outTradeNo });
    expect(one.status).toBe(202);
    expect((await json<RefundResponse>(one)).refund).toMatchObject({
      outTradeNo: teapot?.outTradeNo,
      refundFen: 2800,
    });
    await waitForStatus(stack.server, order.id, 'PARTIALLY_REFUNDED');
    const part = await readOrder(token, order.id);
    expect(part.subOrders?.find((s) => s.mchid === TEAWARE)?.state).toBe('PARTIALLY_REFUNDED');
    expect(part.subOrders?.find((s) => s.mchid === SANDBOX_DEMO.mchId)?.state).toBe('PAID');
    // The rest of everything: one refund per sub-order with something left. The teapot's second refund waits
    // its turn (refunds of one payment go at least a minute apart); the shop's own goes at once.
    const rest = await json<RefundResponse>(await refund({ reason: 'order cancelled' }));
    const main = order.subOrders?.[0]?.outTradeNo;
    expect(rest.refunds?.map((r) => [r.outTradeNo, r.refundFen])).toEqual([
      [main, 7600],
      [teapot?.outTradeNo, 10000],
    ]);
    await waitFor(
      async () => (await readOrder(token, order.id)).subOrders?.[0]?.state === 'REFUNDED',
      'the shop’s own sub-order refunded',
    );
    expect(await storedStatus(stack.server, order.id)).toBe('PARTIALLY_REFUNDED');
    // Each refund was made at WeChat by the sub-order's own merchant.
    const atTeaware = await json<{ refunds?: unknown[] }>(
      await fetch(`${stack.sandbox.url}/sandbox/orders/${teapot?.outTradeNo}?mch_id=${TEAWARE}`),
    );
    expect(atTeaware.refunds).toHaveLength(1);
  });

  it('a combine paid only in part is PAID with what was taken, and that is refunded at once', async () => {
    const token = await signIn(stack, 'combine-carol');
    const { order, payment } = await createdOrder(stack.server, token, CART.slice(0, 2));
    const failing = order.subOrders?.find((s) => s.mchid === TEAWARE)?.outTradeNo as string;
    const res = await fetch(
      `${stack.sandbox.url}/sandbox/pay`,
      post({
        appId: stack.server.config.wechat.appId,
        timeStamp: payment.timeStamp,
        nonceStr: payment.nonceStr,
        package: payment.package,
        signType: payment.signType,
        paySign: payment.paySign,
        outcome: 'success',
        fail_sub_order: failing,
      }),
    );
    expect((await json<{ errMsg: string }>(res)).errMsg).toBe('requestPayment:ok');
    await waitForStatus(stack.server, order.id, 'REFUNDED', 20_000);
    const view = await readOrder(token, order.id);
    expect(view.partiallyPaidFen).toBe(7600);
    expect(view.subOrders?.map((s) => s.state)).toEqual(['REFUNDED', 'CLOSED']);
    expect(view.refunds?.map((r) => [r.refundFen, r.state])).toEqual([[7600, 'SUCCESS']]);
    const events = (await stack.server.store.events.readEvents()).filter((e) => e.orderId === order.id);
    expect(events.map((e) => e.type)).toEqual(['order.paid', 'combine.partial', 'refund.succeeded']);
  });

  it('cancels a combine at once; WeChat’s combine is closed later, with every sub-order', async () => {
    const token = await signIn(stack, 'combine-dave');
    const { order } = await createdOrder(stack.server, token, CART.slice(1));
    const cancel = await fetch(`${stack.server.url}/api/orders/${order.id}/close`, {
      method: 'POST',
      headers: bearer(token),
    });
    expect((await json<{ order: Order }>(cancel)).order.status).toBe('CLOSED');
    // WeChat refuses to close a combine this young: it stays open there, due in the close queue at 5 minutes.
    expect((await sandboxCombine(order.outTradeNo)).sub_orders.map((s) => s.state)).toEqual([
      'NOTPAY',
      'NOTPAY',
    ]);
    const attempt = await stack.server.store.attempts.getAttempt(order.outTradeNo);
    expect(attempt).toMatchObject({ state: 'ENDED', endReason: 'cancelled' });
    // Once WeChat allows it (a sandbox that closes at any age stands for the 5 minutes passing: APIv3 replies
    // are signed on the wall clock, which tests cannot move), the combine and its sub-orders are closed.
    const quick = await startStack({
      label: 'combine-close',
      env: { WECHATPAY_API_VERSION: 'v3' },
      sandbox: { closeMinAgeMs: 0 },
    });
    try {
      const buyer = await signIn(quick, 'combine-dave');
      const placed = await createdOrder(quick.server, buyer, CART.slice(1));
      const closed = await fetch(`${quick.server.url}/api/orders/${placed.order.id}/close`, {
        method: 'POST',
        headers: bearer(buyer),
      });
      expect((await json<{ order: Order }>(closed)).order.status).toBe('CLOSED');
      const combine = await json<{ sub_orders: { state: string; closed_by?: string }[] }>(
        await fetch(`${quick.sandbox.url}/sandbox/combines/${placed.order.outTradeNo}`),
      );
      expect(combine.sub_orders.map((s) => s.state)).toEqual(['CLOSED', 'CLOSED']);
      expect(await payInSandbox(quick, placed.payment)).toMatch(/^requestPayment:fail/);
      const view = await json<{ order: Order }>(
        await fetch(`${quick.server.url}/api/orders/${placed.order.id}`, { headers: bearer(buyer) }),
      );
      expect(view.order.subOrders?.map((s) => s.state)).toEqual(['CLOSED', 'CLOSED']);
    } finally {
      await quick.close();
    }
  });

  it('one other merchant’s goods alone are that merchant’s own trade, refunded by it', async () => {
    const token = await signIn(stack, 'combine-erin');
    const { order, payment } = await createdOrder(stack.server, token, [
      { productId: 'teapot', quantity: 1 },
    ]);
    expect(order.subOrders).toBeUndefined();
    expect(await payInSandbox(stack, payment)).toBe('requestPayment:ok');
    await waitForStatus(stack.server, order.id, 'PAID');
    const trade = await json<{ mch_id?: string; state?: string }>(
      await fetch(`${stack.sandbox.url}/sandbox/orders/${order.outTradeNo}?mch_id=${TEAWARE}`),
    );
    expect(trade).toMatchObject({ state: 'SUCCESS' });
    const asked = await fetch(
      `${stack.server.url}/api/orders/${order.id}/refund-requests`,
      post({ reason: 'changed my mind' }, bearer(token)),
    );
    expect(asked.status).toBe(201);
    await waitForStatus(stack.server, order.id, 'REFUNDED', 20_000);
  });

  it('a notification decrypted with one merchant’s key cannot pay another merchant’s trade', async () => {
    const token = await signIn(stack, 'combine-ivan');
    const { order } = await createdOrder(stack.server, token, [{ productId: 'green-tea', quantity: 1 }]);
    const sub = SANDBOX_DEMO_COMBINE_SUB_MERCHANTS[0] as (typeof SANDBOX_DEMO_COMBINE_SUB_MERCHANTS)[number];
    // The other merchant places a trade under our out_trade_no and amount: WeChat signs its notification, which
    // decrypts with that merchant's APIv3 key (the shop holds it), and names that merchant.
    const transaction = {
      appid: SANDBOX_DEMO.appId,
      mchid: sub.mchId,
      out_trade_no: order.outTradeNo,
      transaction_id: '4200000000000000000000000999',
      trade_type: 'JSAPI',
      trade_state: 'SUCCESS',
      trade_state_desc: '支付成功',
      bank_type: 'OTHERS',
      success_time: new Date().toISOString().replace('Z', '+00:00'),
      payer: { openid: 'oOther' },
      amount: { total: order.totalFen, payer_total: order.totalFen, currency: 'CNY', payer_currency: 'CNY' },
    };
    const resource = encryptV3Resource(JSON.stringify(transaction), sub.apiV3Key, {
      associatedData: 'transaction',
    });
    const body = JSON.stringify({
      id: 'EV-merchant-mismatch',
      create_time: new Date().toISOString(),
      resource_type: 'encrypt-resource',
      event_type: 'TRANSACTION.SUCCESS',
      summary: '支付成功',
      resource,
    });
    const timestamp = String(Math.floor(Date.now() / 1000));
    const nonce = 'n' + Date.now();
    const res = await fetch(`${stack.server.url}/wechatpay/v3/notify`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'wechatpay-timestamp': timestamp,
        'wechatpay-nonce': nonce,
        'wechatpay-signature': signV3(
          `${timestamp}\n${nonce}\n${body}\n`,
          SANDBOX_DEMO_V3.platformPrivateKey,
        ),
        'wechatpay-serial': SANDBOX_DEMO_V3.platformPublicKeyId,
      },
      body,
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ code: 'FAIL', message: 'merchant mismatch' });
    expect((await stack.server.store.orders.getOrder(order.id))?.status).toBe('PENDING');
    expect(await paidEvents(stack.server, order.id)).toHaveLength(0);
  });

  it('APIv2 offers only the shop’s own goods and refuses a cart with another merchant’s', async () => {
    const v2 = await startStack({ label: 'combine-v2' });
    try {
      const { products } = await json<ProductListResponse>(await fetch(`${v2.server.url}/api/products`));
      expect(products.map((p) => p.id)).not.toContain('teapot');
      const token = await signIn(v2, 'combine-frank');
      const res = await placeOrder(v2.server, token, CART);
      expect(res.status).toBe(400);
      expect(res.body.error).toBe('product_not_found');
    } finally {
      await v2.close();
    }
  });
});

describe('combine payments on the memory store (pnpm start without Redis)', () => {
  it('mirrors mark-combine.lua: a full and a partial payment', async () => {
    const memory = await startStack({
      label: 'combine-memory',
      redis: false,
      env: { WECHATPAY_API_VERSION: 'v3' },
    });
    try {
      const token = await signIn(memory, 'combine-gina');
      const full = await createdOrder(memory.server, token, CART);
      expect(await payInSandbox(memory, full.payment)).toBe('requestPayment:ok');
      await waitForStatus(memory.server, full.order.id, 'PAID');
      expect(await paidEvents(memory.server, full.order.id)).toHaveLength(1);

      const part = await createdOrder(memory.server, token, CART.slice(0, 2));
      const res = await fetch(
        `${memory.sandbox.url}/sandbox/pay`,
        post({
          appId: memory.server.config.wechat.appId,
          timeStamp: part.payment.timeStamp,
          nonceStr: part.payment.nonceStr,
          package: part.payment.package,
          signType: part.payment.signType,
          paySign: part.payment.paySign,
          outcome: 'success',
          fail_sub_order: part.order.subOrders?.[1]?.outTradeNo,
        }),
      );
      expect((await json<{ errMsg: string }>(res)).errMsg).toBe('requestPayment:ok');
      await waitForStatus(memory.server, part.order.id, 'REFUNDED', 20_000);
      const view = await json<{ order: Order }>(
        await fetch(`${memory.server.url}/api/orders/${part.order.id}`, { headers: bearer(token) }),
      );
      expect(view.order.partiallyPaidFen).toBe(7600);
      expect(view.order.subOrders?.map((s) => s.state)).toEqual(['REFUNDED', 'CLOSED']);
    } finally {
      await memory.close();
    }
  });
});

describe('reconciling a day with combine payments', () => {
  const admin = bearer(ADMIN.split(':')[1] as string);
  type RunReply = ReconciliationReport & { reports: ReconciliationReport[] };

  /** The day's reconciliation through the admin API, once WeChat's (the sandbox's) clock says its bills are ready. */
  function reconciler(stackR: Stack) {
    const sandboxNow = async () =>
      Date.parse((await json<{ now: string }>(await fetch(`${stackR.sandbox.url}/sandbox/clock`))).now);
    return {
      sandboxNow,
      /** Moves the sandbox's clock to 11:00 Beijing the day after `day` (the server keeps its own). */
      async nextMorning(day: string) {
        const ahead = beijingMidnight(day) + 86_400_000 + 11 * 3_600_000 - (await sandboxNow());
        await fetch(`${stackR.sandbox.url}/sandbox/clock`, post({ advance_ms: ahead }));
      },
      async run(day: string) {
        const res = await fetch(`${stackR.server.url}/admin/reconciliations/${day}/run`, {
          method: 'POST',
          headers: admin,
        });
        expect(res.status, await res.clone().text()).toBe(200);
        const reply = await json<RunReply>(res);
        return { reply, of: (mchid: string) => reply.reports.find((r) => r.merchant === mchid) };
      },
      stored: (query: string) =>
        fetch(`${stackR.server.url}/admin/reconciliations/${query}`, { headers: admin }),
    };
  }

  it('reconciles every merchant’s bill: its combine sub-orders, its own trades and its refunds', async () => {
    const stackR = await startStack({
      label: 'combine-reconcile',
      env: { WECHATPAY_API_VERSION: 'v3', ADMIN_TOKENS: ADMIN, RECONCILE_ENABLED: 'false' },
    });
    const recon = reconciler(stackR);
    const own = stackR.server.config.wechatpay.mchId;
    try {
      const token = await signIn(stackR, 'combine-hugo');
      const full = await createdOrder(stackR.server, token, CART);
      expect(await payInSandbox(stackR, full.payment)).toBe('requestPayment:ok');
      const alone = await createdOrder(stackR.server, token, [{ productId: 'teapot', quantity: 1 }]);
      expect(await payInSandbox(stackR, alone.payment)).toBe('requestPayment:ok');
      await waitForStatus(stackR.server, full.order.id, 'PAID');
      await waitForStatus(stackR.server, alone.order.id, 'PAID');
      // Refunds of the shop's own sub-order and of teaware's: each is in its own merchant's bill.
      const subs = full.order.subOrders ?? [];
      expect(subs.map((s) => s.mchid)).toEqual([own, TEAWARE, SNACKS]);
      for (const sub of subs.slice(0, 2)) {
        const res = await fetch(
          `${stackR.server.url}/admin/orders/${full.order.id}/refunds`,
          post({ refundFen: 100, reason: 'reconcile', outTradeNo: sub.outTradeNo }, admin),
        );
        expect(res.status).toBe(202);
      }
      await waitFor(async () => {
        const refunds = await stackR.server.store.refunds.listRefunds(full.order.id);
        return refunds.length === 2 && refunds.every((r) => r.state === 'SUCCESS');
      }, 'both refunds settled');

      const day = beijingDate(await recon.sandboxNow());
      await recon.nextMorning(day);
      const { reply, of } = await recon.run(day);
      // The shop's own report at the top level, as before; every merchant's, own first, in `reports`.
      expect(reply.merchant).toBe(own);
      expect(reply.reports.map((r) => r.merchant)).toEqual([own, TEAWARE, SNACKS]);
      for (const report of reply.reports) {
        expect(report.items, report.merchant).toEqual([]);
        expect(report.clean, report.merchant).toBe(true);
        expect(report.totals.summaryMatches, report.merchant).toBe(true);
      }
      // The shop's bill: its sub-order and its refund. Teaware's: its sub-order, its single trade, its refund.
      // Snacks': its sub-order. Each bill's payments are exactly that merchant's part of the day.
      const [main, tea, snack] = subs as [(typeof subs)[0], (typeof subs)[0], (typeof subs)[0]];
      expect(of(own)?.counts.matched).toBe(2);
      expect(of(own)?.totals).toMatchObject({
        billPaymentsFen: main.totalFen,
        ledgerPaymentsFen: main.totalFen,
        billRefundsFen: 100,
        ledgerRefundsFen: 100,
      });
      expect(of(TEAWARE)?.counts.matched).toBe(3);
      expect(of(TEAWARE)?.totals).toMatchObject({
        billPaymentsFen: tea.totalFen + alone.order.totalFen,
        ledgerPaymentsFen: tea.totalFen + alone.order.totalFen,
        billRefundsFen: 100,
        ledgerRefundsFen: 100,
      });
      expect(of(SNACKS)?.counts.matched).toBe(1);
      expect(of(SNACKS)?.totals).toMatchObject({
        billPaymentsFen: snack.totalFen,
        ledgerPaymentsFen: snack.totalFen,
        billRefundsFen: 0,
        ledgerRefundsFen: 0,
      });
      // Stored per merchant: the shop's own where it always was (GET without mchid), the others by ?mchid=.
      expect(await json<ReconciliationReport>(await recon.stored(day))).toEqual(of(own));
      expect(JSON.parse((await stackR.server.store.reconciliations.getReport(day))?.json ?? '{}')).toEqual(
        of(own),
      );
      expect(await json<ReconciliationReport>(await recon.stored(`${day}?mchid=${TEAWARE}`))).toEqual(
        of(TEAWARE),
      );
      const csv = await recon.stored(`${day}.csv?mchid=${SNACKS}`);
      expect(csv.status).toBe(200);
      expect(csv.headers.get('content-disposition')).toContain(`reconciliation-${day}-${SNACKS}.csv`);
      expect((await csv.text()).trim().split('\r\n').at(-2)).toMatch(/,total_payments,/);
      expect((await recon.stored(`${day}?mchid=1234567890`)).status).toBe(404);
      expect((await recon.stored(`${day}?mchid=abc`)).status).toBe(400);
      expect(
        (await stackR.server.store.reconciliations.readCompleted()).map((c) => [c.date, c.mchid]),
      ).toEqual([
        [day, undefined],
        [day, TEAWARE],
        [day, SNACKS],
      ]);
    } finally {
      await stackR.close();
    }
  }, 60_000);

  it('finds a lost payment and a console refund in the sub-merchants’ bills and repairs them there', async () => {
    const stackR = await startStack({
      label: 'combine-reconcile-lost',
      // No background worker: only reconciliation may ask WeChat about the payment whose notification is lost.
      env: {
        WECHATPAY_API_VERSION: 'v3',
        ADMIN_TOKENS: ADMIN,
        RECONCILE_ENABLED: 'false',
        WORKER_ENABLED: 'false',
      },
    });
    const recon = reconciler(stackR);
    const own = stackR.server.config.wechatpay.mchId;
    try {
      const token = await signIn(stackR, 'combine-iris');
      // A teapot (teaware's own trade) paid at WeChat whose notification never arrives.
      const lost = await createdOrder(stackR.server, token, [{ productId: 'teapot', quantity: 1 }]);
      await setFaults(stackR, { out_trade_no: lost.order.outTradeNo }, { dropNotifications: true });
      expect(await payInSandbox(stackR, lost.payment)).toBe('requestPayment:ok');
      // A combine, and staff refunding 100 fen of snacks' sub-order in snacks' merchant console.
      const full = await createdOrder(stackR.server, token, CART);
      expect(await payInSandbox(stackR, full.payment)).toBe('requestPayment:ok');
      await waitForStatus(stackR.server, full.order.id, 'PAID');
      const snack = full.order.subOrders?.find((s) => s.mchid === SNACKS);
      const console = await fetch(
        `${stackR.sandbox.url}/sandbox/console/refunds`,
        post({ mch_id: SNACKS, out_trade_no: snack?.outTradeNo, refund_fee: 100 }),
      );
      expect(console.status, await console.clone().text()).toBe(201);
      // It succeeds at WeChat that day (no notification: only the bill tells the shop).
      await waitFor(async () => {
        const trade = await json<{ state: string }>(
          await fetch(`${stackR.sandbox.url}/sandbox/orders/${snack?.outTradeNo}?mch_id=${SNACKS}`),
        );
        return trade.state === 'REFUND';
      }, 'the console refund succeeded');
      expect((await stackR.server.store.orders.getOrder(lost.order.id))?.status).toBe('PENDING');

      const day = beijingDate(await recon.sandboxNow());
      await recon.nextMorning(day);
      const first = await recon.run(day);
      expect(first.of(TEAWARE)).toMatchObject({
        clean: false,
        counts: { matched: 1, paid_not_here: 1 },
        items: [
          {
            category: 'paid_not_here',
            kind: 'payment',
            outTradeNo: lost.order.outTradeNo,
            billFen: lost.order.totalFen,
            repair: 'repaired',
          },
        ],
      });
      expect(first.of(SNACKS)).toMatchObject({
        clean: false,
        counts: { matched: 1, refund_unknown_here: 1 },
        items: [
          {
            category: 'refund_unknown_here',
            outTradeNo: snack?.outTradeNo,
            billFen: 100,
            repair: 'recorded',
          },
        ],
      });
      // The shop's own bill has neither: its report is clean.
      expect(first.of(own)).toMatchObject({ clean: true, counts: { matched: 1 }, items: [] });
      // Repaired through the same exactly-once transitions as a notification and a refund, under their merchants.
      expect((await stackR.server.store.orders.getOrder(lost.order.id))?.status).toBe('PAID');
      const events = await stackR.server.store.events.readEvents();
      const paid = events.filter((e) => e.type === 'order.paid' && e.orderId === lost.order.id);
      expect(paid.map((e) => e.mchid)).toEqual([TEAWARE]);
      const external = events.filter((e) => e.type === 'refund.external');
      expect(external.map((e) => [e.outTradeNo, e.mchid])).toEqual([[snack?.outTradeNo, SNACKS]]);

      // Run again: the repairs are now in the ledgers, each under its merchant; the same reports, nothing done
      // twice, no new reconciliation.completed.
      const completed = (await stackR.server.store.reconciliations.readCompleted()).length;
      expect(completed).toBe(3);
      const again = await recon.run(day);
      expect(again.reply.reports).toEqual(first.reply.reports);
      expect((await stackR.server.store.reconciliations.readCompleted()).length).toBe(completed);
      expect((await stackR.server.store.events.readEvents()).length).toBe(events.length);
    } finally {
      await stackR.close();
    }
  }, 60_000);
});

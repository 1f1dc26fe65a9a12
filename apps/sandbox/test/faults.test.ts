import { beforeEach, describe, expect, it } from 'vitest';
import {
  verifyPaymentNotification,
  verifyV2,
  WechatPaySignatureError,
  WechatPaySystemError,
  WechatPayTimeoutError,
  WechatPayV2Client,
  parseXml,
} from '@mp-pay/shared/wechatpay';
import type { FaultSettings } from '../src/index.ts';
import {
  callV2,
  DEMO,
  eventually,
  inspect,
  loginCode,
  orderFields,
  pay,
  postJson,
  useSandboxAndReceiver,
} from './helpers.ts';

const ctx = useSandboxAndReceiver({ timeScale: 200_000 });
beforeEach(async () => {
  await fetch(`${ctx.sb.url}/sandbox/faults`, { method: 'DELETE' });
  ctx.receiver.received.length = 0;
  ctx.receiver.reply = () => ({ body: '<xml><return_code><![CDATA[SUCCESS]]></return_code></xml>' });
});

async function setFaults(target: { mch_id: string } | { out_trade_no: string }, faults: FaultSettings) {
  const res = await postJson(`${ctx.sb.url}/sandbox/faults`, { ...target, faults });
  expect(res.status).toBe(200);
}

/** Places an order with per-order faults set before payment. */
async function paidWith(faults: FaultSettings, overrides: Record<string, string | number> = {}) {
  const { openid } = await loginCode(ctx.sb);
  const fields = orderFields(openid, ctx.receiver.url, overrides);
  await setFaults({ out_trade_no: String(fields.out_trade_no) }, faults);
  const placed = await callV2(ctx.sb, '/pay/unifiedorder', fields);
  expect(placed.result_code).toBe('SUCCESS');
  const order = {
    prepayId: placed.prepay_id as string,
    signType: 'MD5' as const,
    outTradeNo: String(fields.out_trade_no),
  };
  expect((await pay(ctx.sb, order)).json.errMsg).toBe('requestPayment:ok');
  return order;
}

async function recorded(outTradeNo: string, count: number) {
  return eventually(async () => {
    const o = await inspect(ctx.sb, outTradeNo);
    return o.notifications.length === count ? o.notifications : undefined;
  });
}

const forOrder = (outTradeNo: string) => ctx.receiver.received.filter((r) => r.body.includes(outTradeNo));

describe('notification faults', () => {
  it('drop: true loses every attempt; the order is still paid for orderquery', async () => {
    const order = await paidWith({ dropNotifications: true });
    const seen = await eventually(async () => {
      const o = await inspect(ctx.sb, order.outTradeNo);
      return o.notifications.length === 16 && !o.next_notification_at ? o : undefined;
    });
    expect(seen.notifications.every((n) => n.outcome === 'dropped')).toBe(true);
    expect(forOrder(order.outTradeNo)).toHaveLength(0);
    expect((await callV2(ctx.sb, '/pay/orderquery', { out_trade_no: order.outTradeNo })).trade_state).toBe(
      'SUCCESS',
    );
  });

  it('drop: N loses the first N attempts, then delivers', async () => {
    const order = await paidWith({ dropNotifications: 2 });
    const seen = await eventually(async () => {
      const o = await inspect(ctx.sb, order.outTradeNo);
      return o.notifications.length === 3 ? o : undefined;
    });
    expect(seen.notifications.map((n) => n.outcome)).toEqual(['dropped', 'dropped', 'acknowledged']);
    expect(forOrder(order.outTradeNo)).toHaveLength(1);
  });

  it('duplicate sends the acknowledged notification again', async () => {
    const order = await paidWith({ duplicateNotifications: 2 });
    await eventually(() => (forOrder(order.outTradeNo).length === 3 ? true : undefined));
    const bodies = forOrder(order.outTradeNo).map((r) => parseXml(r.body));
    expect(new Set(bodies.map((b) => b.transaction_id)).size).toBe(1);
    const kinds = (await recorded(order.outTradeNo, 3)).map((n) => n.kind);
    expect(kinds).toEqual(['genuine', 'duplicate', 'duplicate']);
  });

  it('concurrent delivers N copies of each attempt at once', async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    ctx.receiver.reply = () => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      setTimeout(() => inFlight--, 300);
      return { body: '<xml><return_code>SUCCESS</return_code></xml>', delayMs: 300 };
    };
    const order = await paidWith({ concurrentNotifications: 4 });
    await eventually(() => (forOrder(order.outTradeNo).length === 4 ? true : undefined));
    expect(maxInFlight).toBe(4);
    const seen = await eventually(async () => {
      const o = await inspect(ctx.sb, order.outTradeNo);
      return o.notifications.length === 4 ? o : undefined;
    });
    expect(seen.notifications.map((n) => [n.attempt, n.copy]).sort()).toEqual([
      [1, 0],
      [1, 1],
      [1, 2],
      [1, 3],
    ]);
  });

  it('delay holds the first notification back', async () => {
    const order = await paidWith({ notifyDelayMs: 1500 });
    await eventually(() => (forOrder(order.outTradeNo).length === 1 ? true : undefined));
    // Measured on the sandbox's own records, not against the test's clock: a loaded machine cannot fail it.
    const seen = await inspect(ctx.sb, order.outTradeNo);
    const paidAt = Date.parse(seen.payments[0]?.at ?? '');
    const firstAt = Date.parse(seen.notifications[0]?.at ?? '');
    expect(firstAt - paidAt).toBeGreaterThanOrEqual(1490);
  });

  it('forged bad-sign: the merchant gets an invalid notification before the genuine one', async () => {
    const order = await paidWith({ forgeNotification: 'bad-sign' });
    await eventually(() => (forOrder(order.outTradeNo).length === 2 ? true : undefined));
    const [forged, genuine] = forOrder(order.outTradeNo);
    expect(() => verifyPaymentNotification(forged?.body ?? '', DEMO)).toThrow(WechatPaySignatureError);
    expect(verifyPaymentNotification(genuine?.body ?? '', DEMO).outTradeNo).toBe(order.outTradeNo);
    const kinds = (await recorded(order.outTradeNo, 2)).map((n) => n.kind);
    expect(kinds).toEqual(['forged-bad-sign', 'genuine']);
  });

  it('forged wrong-amount: validly signed, so only the amount check catches it', async () => {
    const order = await paidWith({ forgeNotification: 'wrong-amount' }, { total_fee: 5000 });
    await eventually(() => (forOrder(order.outTradeNo).length === 2 ? true : undefined));
    const [forged, genuine] = forOrder(order.outTradeNo).map((r) => verifyPaymentNotification(r.body, DEMO));
    expect(forged?.totalFee).toBe(1);
    expect(genuine?.totalFee).toBe(5000);
  });

  it('a forged notification acknowledged by a careless merchant does not stop the genuine retries', async () => {
    ctx.receiver.reply = (_n, body) => ({
      body: body.includes('<total_fee>1</total_fee>')
        ? '<xml><return_code>SUCCESS</return_code></xml>'
        : 'FAIL',
    });
    const order = await paidWith({ forgeNotification: 'wrong-amount' }, { total_fee: 700 });
    await eventually(() => (forOrder(order.outTradeNo).length >= 3 ? true : undefined));
  });

  it('coupon adds coupon_* fields that only raw-map verification accepts', async () => {
    const order = await paidWith(
      { coupon: { fee: 300, type: 'NO_CASH', id: '2024000001' } },
      { total_fee: 1000 },
    );
    const body = await eventually(() => forOrder(order.outTradeNo)[0]?.body);
    const n = verifyPaymentNotification(body, DEMO);
    expect(n.raw).toMatchObject({
      total_fee: '1000',
      cash_fee: '700',
      coupon_fee: '300',
      coupon_count: '1',
      coupon_fee_0: '300',
      coupon_id_0: '2024000001',
      coupon_type_0: 'NO_CASH',
      settlement_total_fee: '700',
    });
    const { coupon_fee_0: _dropped, ...modelled } = n.raw;
    expect(verifyV2(modelled, DEMO.key)).toBe(false);
    const query = await callV2(ctx.sb, '/pay/orderquery', { out_trade_no: order.outTradeNo });
    expect(query).toMatchObject({ cash_fee: '700', coupon_fee_0: '300' });
    expect(verifyV2(query, DEMO.key)).toBe(true);
  });
});

describe('API faults', () => {
  it('systemErrorRate 1 answers SYSTEMERROR, signed, and does nothing', async () => {
    const { openid } = await loginCode(ctx.sb);
    const fields = orderFields(openid, ctx.receiver.url);
    await setFaults({ out_trade_no: String(fields.out_trade_no) }, { systemErrorRate: 1 });
    const reply = await callV2(ctx.sb, '/pay/unifiedorder', fields);
    expect(reply).toMatchObject({ return_code: 'SUCCESS', result_code: 'FAIL', err_code: 'SYSTEMERROR' });
    expect(verifyV2(reply, DEMO.key)).toBe(true);
    await fetch(`${ctx.sb.url}/sandbox/faults?out_trade_no=${fields.out_trade_no}`, { method: 'DELETE' });
    expect((await callV2(ctx.sb, '/pay/orderquery', { out_trade_no: fields.out_trade_no })).err_code).toBe(
      'ORDERNOTEXIST',
    );
    expect((await callV2(ctx.sb, '/pay/unifiedorder', fields)).result_code).toBe('SUCCESS');
  });

  it('systemErrorRate per merchant hits every call of that merchant; the shared client sees a retryable error', async () => {
    await setFaults({ mch_id: DEMO.mchId }, { systemErrorRate: 1 });
    const client = new WechatPayV2Client({ ...DEMO, baseUrl: ctx.sb.url });
    const error = await client.orderQuery({ outTradeNo: 'X' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WechatPaySystemError);
    expect((error as WechatPaySystemError).retryable).toBe(true);
  });

  it('systemErrorRate 0.5 fails some calls and not others', async () => {
    await setFaults({ mch_id: DEMO.mchId }, { systemErrorRate: 0.5 });
    const codes = new Set<string>();
    for (let i = 0; i < 60 && codes.size < 2; i++) {
      codes.add((await callV2(ctx.sb, '/pay/orderquery', { out_trade_no: 'X' })).err_code ?? '');
    }
    expect(codes).toEqual(new Set(['SYSTEMERROR', 'ORDERNOTEXIST']));
  });

  it('an order’s settings override its merchant’s', async () => {
    await setFaults({ mch_id: DEMO.mchId }, { systemErrorRate: 1 });
    await setFaults({ out_trade_no: 'SPARED' }, { systemErrorRate: 0 });
    expect((await callV2(ctx.sb, '/pay/orderquery', { out_trade_no: 'SPARED' })).err_code).toBe(
      'ORDERNOTEXIST',
    );
    expect((await callV2(ctx.sb, '/pay/orderquery', { out_trade_no: 'OTHER' })).err_code).toBe('SYSTEMERROR');
  });

  it('slowReplyMs delays the reply after doing the work: a timed-out unifiedorder still created the order', async () => {
    const { openid } = await loginCode(ctx.sb);
    const fields = orderFields(openid, ctx.receiver.url);
    await setFaults({ mch_id: DEMO.mchId }, { slowReplyMs: 400 });
    const client = new WechatPayV2Client({ ...DEMO, baseUrl: ctx.sb.url, timeoutMs: 100 });
    const started = Date.now();
    await expect(
      client.unifiedOrder({
        body: String(fields.body),
        outTradeNo: String(fields.out_trade_no),
        totalFee: Number(fields.total_fee),
        spbillCreateIp: String(fields.spbill_create_ip),
        notifyUrl: ctx.receiver.url,
        openid,
      }),
    ).rejects.toBeInstanceOf(WechatPayTimeoutError);
    const slow = await callV2(ctx.sb, '/pay/orderquery', { out_trade_no: fields.out_trade_no });
    expect(Date.now() - started).toBeGreaterThanOrEqual(400);
    expect(slow.trade_state).toBe('NOTPAY');
  });
});

describe('/sandbox/faults', () => {
  it('lists, replaces and clears settings', async () => {
    await setFaults({ mch_id: DEMO.mchId }, { slowReplyMs: 5 });
    await setFaults({ mch_id: DEMO.mchId }, { duplicateNotifications: 1 });
    await setFaults({ out_trade_no: 'A' }, { dropNotifications: true });
    expect(
      (await postJson(`${ctx.sb.url}/sandbox/faults`, { appid: DEMO.appId, faults: { slowReplyMs: 1 } }))
        .status,
    ).toBe(200);
    const listed = await (await fetch(`${ctx.sb.url}/sandbox/faults`)).json();
    expect(listed).toEqual({
      merchants: { [DEMO.mchId]: { duplicateNotifications: 1 } },
      orders: { A: { dropNotifications: true } },
      apps: { [DEMO.appId]: { slowReplyMs: 1 } },
    });
    await fetch(`${ctx.sb.url}/sandbox/faults?mch_id=${DEMO.mchId}&appid=${DEMO.appId}`, {
      method: 'DELETE',
    });
    expect(await (await fetch(`${ctx.sb.url}/sandbox/faults`)).json()).toEqual({
      merchants: {},
      orders: { A: { dropNotifications: true } },
      apps: {},
    });
  });

  it.each([
    [{ mch_id: DEMO.mchId, faults: { systemErrorRate: 2 } }],
    [{ mch_id: DEMO.mchId, faults: { noSuchFault: true } }],
    [{ faults: { slowReplyMs: 1 } }],
    [{ mch_id: DEMO.mchId, out_trade_no: 'A', faults: {} }],
    [{ out_trade_no: 'A', faults: { forgeNotification: 'bad-amount' } }],
    [{ out_trade_no: 'A', faults: { coupon: { fee: 0 } } }],
    [{ appid: DEMO.appId, faults: { dropNotifications: true } }],
  ])('refuses invalid settings %j', async (body) => {
    const res = await postJson(`${ctx.sb.url}/sandbox/faults`, body);
    expect(res.status).toBe(400);
    expect(res.json).toMatchObject({ error: 'BAD_REQUEST' });
  });
});

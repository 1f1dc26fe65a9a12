import { describe, expect, it } from 'vitest';
import { formatWechatTime, verifyV2 } from '@mp-pay/shared/wechatpay';
import {
  callV2,
  DEMO,
  eventually,
  inspect,
  pay,
  placeOrder,
  postJson,
  sandbox,
  useSandboxAndReceiver,
} from './helpers.ts';

const ctx = useSandboxAndReceiver();

const query = (outTradeNo: string, on = ctx.sb) =>
  callV2(on, '/pay/orderquery', { out_trade_no: outTradeNo });
const close = (outTradeNo: string, on = ctx.sb) =>
  callV2(on, '/pay/closeorder', { out_trade_no: outTradeNo });

describe('orderquery', () => {
  it('reports NOTPAY without payment fields, echoing attach', async () => {
    const order = await placeOrder(ctx.sb, ctx.receiver.url, { attach: 'a1' });
    const reply = await query(order.outTradeNo);
    expect(reply).toMatchObject({
      return_code: 'SUCCESS',
      result_code: 'SUCCESS',
      trade_state: 'NOTPAY',
      trade_state_desc: '订单未支付',
      out_trade_no: order.outTradeNo,
      attach: 'a1',
    });
    expect(reply.transaction_id).toBeUndefined();
    expect(reply.time_end).toBeUndefined();
    expect(verifyV2(reply, DEMO.key)).toBe(true);
  });

  it('reports SUCCESS with what the notification carries', async () => {
    const order = await placeOrder(ctx.sb, ctx.receiver.url, { total_fee: 321, attach: 'x' }, 'HMAC-SHA256');
    await pay(ctx.sb, order);
    const reply = await callV2(
      ctx.sb,
      '/pay/orderquery',
      { out_trade_no: order.outTradeNo },
      { signType: 'HMAC-SHA256' },
    );
    expect(reply).toMatchObject({
      trade_state: 'SUCCESS',
      trade_state_desc: '支付成功',
      total_fee: '321',
      cash_fee: '321',
      fee_type: 'CNY',
      openid: order.openid,
      attach: 'x',
      trade_type: 'JSAPI',
      bank_type: 'OTHERS',
      is_subscribe: 'N',
    });
    expect(reply.transaction_id).toMatch(/^\d{28}$/);
    expect(reply.time_end).toMatch(/^\d{14}$/);
    expect(reply.sign).toHaveLength(64);
    expect(verifyV2(reply, DEMO.key)).toBe(true);
    const byTransaction = await callV2(ctx.sb, '/pay/orderquery', {
      transaction_id: reply.transaction_id as string,
    });
    expect(byTransaction).toMatchObject({ trade_state: 'SUCCESS', out_trade_no: order.outTradeNo });
  });

  it('answers ORDERNOTEXIST for an unknown out_trade_no or transaction_id', async () => {
    expect(await query('NOPE')).toMatchObject({
      result_code: 'FAIL',
      err_code: 'ORDERNOTEXIST',
      err_code_des: '订单不存在',
    });
    const reply = await callV2(ctx.sb, '/pay/orderquery', { transaction_id: '4200000000202401010000000000' });
    expect(reply.err_code).toBe('ORDERNOTEXIST');
  });
});

describe('closeorder', () => {
  it('closes an unpaid order: CLOSED, then ORDERCLOSED on a second close', async () => {
    const order = await placeOrder(ctx.sb, ctx.receiver.url);
    const reply = await close(order.outTradeNo);
    expect(reply).toMatchObject({ return_code: 'SUCCESS', result_code: 'SUCCESS' });
    expect(verifyV2(reply, DEMO.key)).toBe(true);
    expect(await query(order.outTradeNo)).toMatchObject({
      trade_state: 'CLOSED',
      trade_state_desc: '订单已关闭',
    });
    expect(await close(order.outTradeNo)).toMatchObject({ result_code: 'FAIL', err_code: 'ORDERCLOSED' });
    expect((await inspect(ctx.sb, order.outTradeNo)).closed_by).toBe('merchant');
  });

  it('answers ORDERPAID for a paid order and ORDERNOTEXIST for an unknown one', async () => {
    const order = await placeOrder(ctx.sb, ctx.receiver.url);
    await pay(ctx.sb, order);
    expect(await close(order.outTradeNo)).toMatchObject({ result_code: 'FAIL', err_code: 'ORDERPAID' });
    expect((await query(order.outTradeNo)).trade_state).toBe('SUCCESS');
    expect((await close('NOPE')).err_code).toBe('ORDERNOTEXIST');
  });

  it('closes a PAYERROR order', async () => {
    const order = await placeOrder(ctx.sb, ctx.receiver.url);
    await pay(ctx.sb, order, 'payerror');
    expect((await close(order.outTradeNo)).result_code).toBe('SUCCESS');
    expect((await query(order.outTradeNo)).trade_state).toBe('CLOSED');
  });

  it('refuses to close an order younger than the minimum age (5 minutes by default)', async () => {
    const strict = await sandbox({ closeMinAgeMs: undefined });
    try {
      expect(strict.config.closeMinAgeMs).toBe(5 * 60_000);
      const order = await placeOrder(strict, ctx.receiver.url);
      const early = await close(order.outTradeNo, strict);
      expect(early).toMatchObject({ result_code: 'FAIL', err_code: 'INVALID_REQUEST' });
      expect(early.err_code_des).toContain('5分钟内不能关单');
      expect((await query(order.outTradeNo, strict)).trade_state).toBe('NOTPAY');
      await postJson(`${strict.url}/sandbox/clock`, { advance_ms: 5 * 60_000 });
      expect((await close(order.outTradeNo, strict)).result_code).toBe('SUCCESS');
    } finally {
      await strict.close();
    }
  });

  it('accepts closing an order that expired by itself', async () => {
    const own = await sandbox();
    try {
      const expire = formatWechatTime(new Date(Date.now() + 10 * 60_000));
      const order = await placeOrder(own, ctx.receiver.url, { time_expire: expire });
      await postJson(`${own.url}/sandbox/clock`, { advance_ms: 10 * 60_000 });
      expect((await query(order.outTradeNo, own)).trade_state).toBe('CLOSED');
      expect((await inspect(own, order.outTradeNo)).closed_by).toBe('expiry');
      expect((await close(order.outTradeNo, own)).result_code).toBe('SUCCESS');
      expect((await close(order.outTradeNo, own)).err_code).toBe('ORDERCLOSED');
    } finally {
      await own.close();
    }
  });
});

describe('GET /sandbox/orders/:out_trade_no', () => {
  it('shows the order, prepay_ids and attempts, never the key', async () => {
    const order = await placeOrder(ctx.sb, ctx.receiver.url, { total_fee: 77 });
    await pay(ctx.sb, order, 'cancel');
    await pay(ctx.sb, order);
    const seen = await eventually(async () => {
      const o = await inspect(ctx.sb, order.outTradeNo);
      return o.notifications.length > 0 ? o : undefined;
    });
    expect(seen).toMatchObject({
      appid: DEMO.appId,
      mch_id: DEMO.mchId,
      out_trade_no: order.outTradeNo,
      state: 'SUCCESS',
      total_fee: 77,
      openid: order.openid,
      notify_url: ctx.receiver.url,
      sign_type: 'MD5',
      payments: [{ outcome: 'cancel' }, { outcome: 'success' }],
    });
    expect(seen.prepay_ids).toEqual([{ prepay_id: order.prepayId, expires_at: expect.any(String) }]);
    expect(JSON.stringify(seen)).not.toContain(DEMO.key);
  });

  it('lists the most recent orders, newest first', async () => {
    const own = await sandbox();
    try {
      const first = await placeOrder(own, ctx.receiver.url);
      const second = await placeOrder(own, ctx.receiver.url, { total_fee: 5 });
      await pay(own, second);
      const all = (await (await fetch(`${own.url}/sandbox/orders`)).json()) as {
        orders: Array<Record<string, unknown>>;
      };
      expect(all.orders.map((o) => o.out_trade_no)).toEqual([second.outTradeNo, first.outTradeNo]);
      expect(all.orders[0]).toMatchObject({ state: 'SUCCESS', total_fee: 5, mch_id: DEMO.mchId });
      const one = (await (await fetch(`${own.url}/sandbox/orders?limit=1`)).json()) as { orders: unknown[] };
      expect(one.orders).toHaveLength(1);
    } finally {
      await own.close();
    }
  });

  it('answers 404 for an unknown order', async () => {
    const res = await fetch(`${ctx.sb.url}/sandbox/orders/NOPE`);
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: 'ORDERNOTEXIST' });
  });
});

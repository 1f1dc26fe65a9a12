import { describe, expect, it } from 'vitest';
import { verifyV2 } from '@mp-pay/shared/wechatpay';
import { callV2, DEMO, placeOrder, sandbox, useSandboxAndReceiver } from './helpers.ts';
import {
  advanceClock,
  inspectRefunds,
  newOutRefundNo,
  paidOrder,
  refundFields,
  refundV2,
  setFaults,
  settled,
} from './refund-helpers.ts';

const ctx = useSandboxAndReceiver();
/** Refunds of one order 1 minute apart make rule tests slow to set up: this sandbox lifts that rule. */
const free = useSandboxAndReceiver({ refundMinIntervalMs: 0 });

describe('POST /secapi/pay/refund', () => {
  it('accepts a refund (signed reply, PROCESSING), which then succeeds; orderquery reads REFUND', async () => {
    const order = await paidOrder(ctx.sb, ctx.receiver.url);
    const fields = refundFields(order, { refund_fee: 300, refund_desc: '退货' });
    const reply = await refundV2(ctx.sb, fields, { signType: 'HMAC-SHA256' });
    expect(verifyV2(reply, DEMO.key)).toBe(true);
    expect(reply).toMatchObject({
      return_code: 'SUCCESS',
      result_code: 'SUCCESS',
      appid: DEMO.appId,
      mch_id: DEMO.mchId,
      transaction_id: order.transactionId,
      out_trade_no: order.outTradeNo,
      out_refund_no: String(fields.out_refund_no),
      refund_fee: '300',
      total_fee: '1999',
      cash_fee: '1999',
      cash_refund_fee: '300',
    });
    expect(reply.refund_id).toMatch(/^503\d{26}$/);
    const done = await settled(ctx.sb, order.outTradeNo, String(fields.out_refund_no));
    expect(done.status).toBe('SUCCESS');
    const query = await callV2(ctx.sb, '/pay/orderquery', { out_trade_no: order.outTradeNo });
    expect(query).toMatchObject({ trade_state: 'REFUND', transaction_id: order.transactionId });
  });

  it('is idempotent: the same out_refund_no with the same parameters returns the same refund', async () => {
    const order = await paidOrder(ctx.sb, ctx.receiver.url);
    const fields = refundFields(order);
    const first = await refundV2(ctx.sb, fields);
    const again = await refundV2(ctx.sb, fields, { signType: 'HMAC-SHA256' });
    expect(again.result_code).toBe('SUCCESS');
    expect(again.refund_id).toBe(first.refund_id);
    // After it finished too, and by transaction_id instead of out_trade_no.
    await settled(ctx.sb, order.outTradeNo, String(fields.out_refund_no));
    const { out_trade_no: _, ...rest } = fields;
    const third = await refundV2(ctx.sb, { ...rest, transaction_id: order.transactionId });
    expect(third.refund_id).toBe(first.refund_id);
    expect(await inspectRefunds(ctx.sb, order.outTradeNo)).toHaveLength(1);
  });

  it('the same out_refund_no with other amounts, or for another order: REFUND_FEE_MISMATCH', async () => {
    const order = await paidOrder(ctx.sb, ctx.receiver.url);
    const fields = refundFields(order);
    await refundV2(ctx.sb, fields);
    const changed = await refundV2(ctx.sb, { ...fields, refund_fee: 101 });
    expect(changed).toMatchObject({ result_code: 'FAIL', err_code: 'REFUND_FEE_MISMATCH' });
    expect(changed.err_code_des).toContain('订单金额或退款金额与之前请求不一致');
    const other = await paidOrder(ctx.sb, ctx.receiver.url);
    const elsewhere = await refundV2(ctx.sb, { ...fields, out_trade_no: other.outTradeNo });
    expect(elsewhere.err_code).toBe('REFUND_FEE_MISMATCH');
  });

  it('refuses over-refunds: more than what remains (INVALID_REQUEST), a fully refunded order (ERROR)', async () => {
    const order = await paidOrder(free.sb, free.receiver.url);
    expect((await refundV2(free.sb, refundFields(order, { refund_fee: 1500 }))).result_code).toBe('SUCCESS');
    const over = await refundV2(free.sb, refundFields(order, { refund_fee: 500 }));
    expect(over).toMatchObject({ result_code: 'FAIL', err_code: 'INVALID_REQUEST' });
    expect(over.err_code_des).toMatch(/^refund_fee大于可退金额: 499 fen/);
    expect((await refundV2(free.sb, refundFields(order, { refund_fee: 499 }))).result_code).toBe('SUCCESS');
    const full = await refundV2(free.sb, refundFields(order, { refund_fee: 1 }));
    expect(full).toMatchObject({ err_code: 'ERROR', err_code_des: '订单已全额退款' });
  });

  it('never refunds more than was paid, however many requests run at once', async () => {
    const order = await paidOrder(free.sb, free.receiver.url);
    const replies = await Promise.all(
      Array.from({ length: 20 }, () => refundV2(free.sb, refundFields(order, { refund_fee: 300 }))),
    );
    const accepted = replies.filter((r) => r.result_code === 'SUCCESS');
    expect(accepted).toHaveLength(6); // 6 × 300 ≤ 1999 < 7 × 300
    expect(replies.filter((r) => r.err_code === 'INVALID_REQUEST')).toHaveLength(14);
    const refunds = await inspectRefunds(free.sb, order.outTradeNo);
    expect(refunds.reduce((sum, r) => sum + r.refund_fee, 0)).toBe(1800);
  });

  it('refund_fee above total_fee or not a number: return_code FAIL invalid refund_fee', async () => {
    const order = await paidOrder(ctx.sb, ctx.receiver.url);
    for (const refund_fee of [2000, 0, '1.5', 'abc']) {
      const reply = await refundV2(ctx.sb, refundFields(order, { refund_fee }));
      expect(reply).toMatchObject({ return_code: 'FAIL', return_msg: 'invalid refund_fee' });
    }
    expect(await refundV2(ctx.sb, refundFields(order, { total_fee: '-1' }))).toMatchObject({
      return_code: 'FAIL',
      return_msg: 'invalid total_fee',
    });
  });

  it('total_fee other than the order total: REFUND_FEE_MISMATCH', async () => {
    const order = await paidOrder(ctx.sb, ctx.receiver.url);
    const reply = await refundV2(ctx.sb, refundFields(order, { total_fee: 1998 }));
    expect(reply).toMatchObject({ result_code: 'FAIL', err_code: 'REFUND_FEE_MISMATCH' });
  });

  it('an unpaid order, an unknown one, a bad transaction_id, missing references', async () => {
    const unpaid = await placeOrder(ctx.sb, ctx.receiver.url);
    const notPaid = await refundV2(ctx.sb, {
      out_trade_no: unpaid.outTradeNo,
      out_refund_no: newOutRefundNo(),
      total_fee: 1999,
      refund_fee: 1,
    });
    expect(notPaid).toMatchObject({ result_code: 'FAIL', err_code: 'ERROR' });
    expect(notPaid.err_code_des).toContain('订单未支付');
    const base = { out_refund_no: newOutRefundNo(), total_fee: 10, refund_fee: 1 };
    expect((await refundV2(ctx.sb, { ...base, out_trade_no: 'NOPE123' })).err_code).toBe('ORDERNOTEXIST');
    expect(
      (await refundV2(ctx.sb, { ...base, transaction_id: '4200000000000000000000000000' })).err_code,
    ).toBe('INVALID_TRANSACTIONID');
    expect(await refundV2(ctx.sb, base)).toMatchObject({
      return_code: 'FAIL',
      return_msg: '缺少参数out_trade_no或transaction_id',
    });
    expect(await refundV2(ctx.sb, { out_trade_no: 'X', total_fee: 10, refund_fee: 1 })).toMatchObject({
      return_code: 'FAIL',
      return_msg: '缺少参数out_refund_no',
    });
  });

  it('invalid out_refund_no, refund_desc over 80 characters, bad notify_url: PARAM_ERROR', async () => {
    const order = await paidOrder(ctx.sb, ctx.receiver.url);
    for (const extra of [
      { out_refund_no: 'has space' },
      { out_refund_no: 'x'.repeat(65) },
      { refund_desc: '退'.repeat(81) },
      { notify_url: 'ftp://example.com/n' },
      { notify_url: 'https://example.com/n?x=1' },
    ]) {
      const reply = await refundV2(ctx.sb, refundFields(order, extra));
      expect(reply, JSON.stringify(extra)).toMatchObject({ result_code: 'FAIL', err_code: 'PARAM_ERROR' });
    }
  });

  it('checks the signature as every v2 call: a wrong key is FAIL 签名错误', async () => {
    const order = await paidOrder(ctx.sb, ctx.receiver.url);
    const reply = await refundV2(ctx.sb, refundFields(order), { key: 'x'.repeat(32) });
    expect(reply).toMatchObject({ return_code: 'FAIL', return_msg: '签名错误' });
    expect(reply.sign).toBeUndefined();
  });

  it('refunds of one order must be 1 minute apart on the sandbox clock: FREQUENCY_LIMITED', async () => {
    const order = await paidOrder(ctx.sb, ctx.receiver.url);
    expect((await refundV2(ctx.sb, refundFields(order))).result_code).toBe('SUCCESS');
    const soon = await refundV2(ctx.sb, refundFields(order));
    expect(soon).toMatchObject({ result_code: 'FAIL', err_code: 'FREQUENCY_LIMITED' });
    expect(soon.err_code_des).toContain('同一笔订单多次退款的请求需相隔1分钟');
    await advanceClock(ctx.sb, 60_000);
    expect((await refundV2(ctx.sb, refundFields(order))).result_code).toBe('SUCCESS');
  });

  it('at most 50 refunds per payment', async () => {
    const order = await paidOrder(free.sb, free.receiver.url);
    for (let i = 0; i < 50; i++) {
      expect((await refundV2(free.sb, refundFields(order, { refund_fee: 1 }))).result_code).toBe('SUCCESS');
    }
    const fiftyFirst = await refundV2(free.sb, refundFields(order, { refund_fee: 1 }));
    expect(fiftyFirst).toMatchObject({ result_code: 'FAIL', err_code: 'ERROR' });
    expect(fiftyFirst.err_code_des).toContain('退款次数超过限制');
  });

  it('NOTENOUGH under the refundNotEnough fault, SYSTEMERROR under systemErrorRate; nothing refunded', async () => {
    const order = await paidOrder(ctx.sb, ctx.receiver.url);
    await setFaults(ctx.sb, { out_trade_no: order.outTradeNo }, { refundNotEnough: true });
    expect((await refundV2(ctx.sb, refundFields(order))).err_code).toBe('NOTENOUGH');
    await setFaults(ctx.sb, { out_trade_no: order.outTradeNo }, { systemErrorRate: 1 });
    expect((await refundV2(ctx.sb, refundFields(order))).err_code).toBe('SYSTEMERROR');
    expect(await inspectRefunds(ctx.sb, order.outTradeNo)).toHaveLength(0);
  });

  it('the outcome follows the refundOutcome fault: abnormal = CHANGE, closed = REFUNDCLOSE (money back)', async () => {
    const order = await paidOrder(free.sb, free.receiver.url);
    await setFaults(free.sb, { out_trade_no: order.outTradeNo }, { refundOutcome: 'abnormal' });
    const a = refundFields(order, { refund_fee: 1000 });
    await refundV2(free.sb, a);
    expect((await settled(free.sb, order.outTradeNo, String(a.out_refund_no))).status).toBe('CHANGE');
    await setFaults(free.sb, { out_trade_no: order.outTradeNo }, { refundOutcome: 'closed' });
    const b = refundFields(order, { refund_fee: 999 });
    await refundV2(free.sb, b);
    expect((await settled(free.sb, order.outTradeNo, String(b.out_refund_no))).status).toBe('REFUNDCLOSE');
    // The closed refund's 999 fen are refundable again; no refund succeeded, so orderquery still says SUCCESS.
    expect((await refundV2(free.sb, refundFields(order, { refund_fee: 999 }))).result_code).toBe('SUCCESS');
    const query = await callV2(free.sb, '/pay/orderquery', { out_trade_no: order.outTradeNo });
    expect(query.trade_state).toBe('SUCCESS');
  });

  it('stays PROCESSING until its delay is over on the sandbox clock (POST /sandbox/clock ends it)', async () => {
    const sb = await sandbox({ refundDelayMs: 3_600_000_000 }); // one hour of real time at this time scale
    try {
      const order = await paidOrder(sb, 'http://127.0.0.1:9/unused');
      const fields = refundFields(order);
      await refundV2(sb, fields);
      const query = () => callV2(sb, '/pay/refundquery', { out_refund_no: String(fields.out_refund_no) });
      expect((await query()).refund_status_0).toBe('PROCESSING');
      await advanceClock(sb, 3_600_000);
      const after = await query();
      expect(after.refund_status_0).toBe('SUCCESS');
      expect(after.refund_success_time_0).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
    } finally {
      await sb.close();
    }
  });
});

describe('POST /pay/refundquery', () => {
  it('finds refunds by refund_id, out_refund_no, transaction_id and out_trade_no, signed, with _$n fields', async () => {
    const order = await paidOrder(free.sb, free.receiver.url);
    const a = refundFields(order, { refund_fee: 100 });
    const b = refundFields(order, { refund_fee: 200 });
    const first = await refundV2(free.sb, a);
    await refundV2(free.sb, b);
    await settled(free.sb, order.outTradeNo, String(b.out_refund_no));

    const byId = await callV2(free.sb, '/pay/refundquery', { refund_id: first.refund_id });
    expect(verifyV2(byId, DEMO.key)).toBe(true);
    expect(byId).toMatchObject({
      result_code: 'SUCCESS',
      transaction_id: order.transactionId,
      out_trade_no: order.outTradeNo,
      total_fee: '1999',
      refund_count: '1',
      out_refund_no_0: String(a.out_refund_no),
      refund_id_0: first.refund_id,
      refund_fee_0: '100',
      refund_status_0: 'SUCCESS',
      refund_recv_accout_0: '支付用户零钱',
    });
    const byNo = await callV2(free.sb, '/pay/refundquery', { out_refund_no: String(b.out_refund_no) });
    expect(byNo).toMatchObject({ refund_count: '1', refund_fee_0: '200' });
    for (const ref of [{ transaction_id: order.transactionId }, { out_trade_no: order.outTradeNo }]) {
      const all = await callV2(free.sb, '/pay/refundquery', ref);
      expect(all).toMatchObject({
        refund_count: '2',
        refund_fee: '300',
        refund_fee_0: '100',
        refund_fee_1: '200',
      });
      expect(all.total_refund_count).toBeUndefined();
    }
    // refund_id wins over out_trade_no when both are given.
    const both = await callV2(free.sb, '/pay/refundquery', {
      refund_id: first.refund_id,
      out_trade_no: order.outTradeNo,
    });
    expect(both.refund_count).toBe('1');
  });

  it('pages with offset (10 per reply) and reports total_refund_count then', async () => {
    const order = await paidOrder(free.sb, free.receiver.url);
    for (let i = 0; i < 12; i++) await refundV2(free.sb, refundFields(order, { refund_fee: 1 }));
    const page1 = await callV2(free.sb, '/pay/refundquery', { out_trade_no: order.outTradeNo });
    expect(page1.refund_count).toBe('10');
    const page2 = await callV2(free.sb, '/pay/refundquery', { out_trade_no: order.outTradeNo, offset: 10 });
    expect(page2).toMatchObject({ refund_count: '2', total_refund_count: '12' });
    expect(page2.out_refund_no_2).toBeUndefined();
    const past = await callV2(free.sb, '/pay/refundquery', { out_trade_no: order.outTradeNo, offset: 20 });
    expect(past.err_code).toBe('REFUNDNOTEXIST');
  });

  it('REFUNDNOTEXIST for unknown refunds or an order without any; FAIL without a reference', async () => {
    const order = await paidOrder(ctx.sb, ctx.receiver.url);
    for (const ref of [
      { refund_id: '50300000000000000000000000000' },
      { out_refund_no: 'NOSUCHREFUND' },
      { out_trade_no: order.outTradeNo },
      { out_trade_no: 'NOSUCHORDER' },
    ]) {
      expect((await callV2(ctx.sb, '/pay/refundquery', ref)).err_code).toBe('REFUNDNOTEXIST');
    }
    expect((await callV2(ctx.sb, '/pay/refundquery', {})).return_code).toBe('FAIL');
  });
});

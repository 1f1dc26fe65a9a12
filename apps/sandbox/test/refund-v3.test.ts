import type { V3EncryptedResource } from '@mp-pay/shared/wechatpay';
import { createVerify } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { inspect, NotifyReceiver, eventually, useSandboxAndReceiver, DEMO } from './helpers.ts';
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
import { callV3, decrypt, payV3, placeV3, queryPath, replySignatureOk, V3 } from './v3-helpers.ts';

const ctx = useSandboxAndReceiver();
const free = useSandboxAndReceiver({ refundMinIntervalMs: 0 });
const REFUNDS = '/v3/refund/domestic/refunds';

interface RefundNotice {
  id: string;
  create_time: string;
  event_type: string;
  resource: V3EncryptedResource & { original_type?: string };
}

async function paidV3(sb = ctx.sb, notifyUrl = 'http://127.0.0.1:9/unused') {
  const order = await placeV3(sb, notifyUrl);
  expect((await payV3(sb, order.prepayId)).json.errMsg).toBe('requestPayment:ok');
  return order;
}

function refundBody(outTradeNo: string, extra: Record<string, unknown> = {}) {
  return {
    out_trade_no: outTradeNo,
    out_refund_no: newOutRefundNo(),
    reason: '商品已售完',
    amount: { refund: 100, total: 1999, currency: 'CNY' },
    ...extra,
  };
}

describe('POST /v3/refund/domestic/refunds', () => {
  it('accepts a refund: 200 PROCESSING, signed; GET shows it SUCCESS later; the v3 query reads REFUND', async () => {
    const order = await paidV3();
    const body = refundBody(order.outTradeNo);
    const res = await callV3(ctx.sb, 'POST', REFUNDS, body);
    expect(res.status).toBe(200);
    expect(replySignatureOk(res)).toBe(true);
    expect(res.json).toMatchObject({
      out_refund_no: body.out_refund_no,
      out_trade_no: order.outTradeNo,
      channel: 'ORIGINAL',
      user_received_account: '支付用户零钱',
      status: 'PROCESSING',
      amount: { refund: 100, total: 1999, payer_total: 1999, payer_refund: 100, currency: 'CNY' },
    });
    expect(res.json.refund_id).toMatch(/^503\d{26}$/);
    expect(res.json.transaction_id).toMatch(/^4200\d{24}$/);
    expect(res.json.create_time).toMatch(/\+08:00$/);
    await settled(ctx.sb, order.outTradeNo, body.out_refund_no);
    const query = await callV3(ctx.sb, 'GET', `${REFUNDS}/${body.out_refund_no}`);
    expect(query.status).toBe(200);
    expect(replySignatureOk(query)).toBe(true);
    expect(query.json).toMatchObject({ refund_id: res.json.refund_id, status: 'SUCCESS' });
    expect(query.json.success_time).toMatch(/\+08:00$/);
    const tx = await callV3(ctx.sb, 'GET', queryPath(order.outTradeNo));
    expect(tx.json).toMatchObject({
      trade_state: 'REFUND',
      trade_state_desc: expect.stringContaining('退款'),
    });
  });

  it('by transaction_id too; the same out_refund_no again is the same refund; changed: 400 INVALID_REQUEST', async () => {
    const order = await paidV3();
    const transactionId = String((await inspect(ctx.sb, order.outTradeNo)).transaction_id);
    const body = refundBody(order.outTradeNo);
    const { out_trade_no: _, ...byTx } = { ...body, transaction_id: transactionId };
    const first = await callV3(ctx.sb, 'POST', REFUNDS, byTx);
    const again = await callV3(ctx.sb, 'POST', REFUNDS, body);
    expect(again.status).toBe(200);
    expect(again.json.refund_id).toBe(first.json.refund_id);
    const changed = await callV3(ctx.sb, 'POST', REFUNDS, {
      ...body,
      amount: { refund: 101, total: 1999, currency: 'CNY' },
    });
    expect(changed.status).toBe(400);
    expect(changed.json).toMatchObject({ code: 'INVALID_REQUEST', detail: { field: 'out_refund_no' } });
  });

  it('rules: over-refund, fully refunded, wrong total, unpaid, unknown order: v3 codes', async () => {
    const order = await paidV3(free.sb);
    const post = (extra: Record<string, unknown>) =>
      callV3(free.sb, 'POST', REFUNDS, refundBody(order.outTradeNo, extra));
    const amount = (refund: number, total = 1999) => ({ amount: { refund, total, currency: 'CNY' } });
    expect((await post(amount(1500))).status).toBe(200);
    const over = await post(amount(500));
    expect([over.status, over.json.code]).toEqual([400, 'INVALID_REQUEST']);
    expect(over.json.message).toContain('申请退款金额超过订单可退金额');
    expect((await post(amount(499))).status).toBe(200);
    expect((await post(amount(1))).json).toMatchObject({
      code: 'INVALID_REQUEST',
      message: '订单已全额退款',
    });
    expect((await post(amount(1, 1998))).json).toMatchObject({
      code: 'INVALID_REQUEST',
      detail: { field: 'amount.total' },
    });
    const unpaid = await placeV3(free.sb, 'http://127.0.0.1:9/unused');
    const notPaid = await callV3(free.sb, 'POST', REFUNDS, refundBody(unpaid.outTradeNo));
    expect([notPaid.status, notPaid.json.code]).toEqual([400, 'INVALID_REQUEST']);
    const unknown = await callV3(free.sb, 'POST', REFUNDS, refundBody('NOSUCHORDER1'));
    expect([unknown.status, unknown.json.code]).toEqual([404, 'RESOURCE_NOT_EXISTS']);
  });

  it('PARAM_ERROR naming the field: missing out_refund_no / amount, neither reference, bad types, refund > total', async () => {
    const order = await paidV3();
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ out_refund_no: undefined }, 'out_refund_no'],
      [{ out_refund_no: 'bad no' }, 'out_refund_no'],
      [{ out_trade_no: undefined }, 'out_trade_no'],
      [{ amount: undefined }, 'amount'],
      [{ amount: { refund: '100', total: 1999, currency: 'CNY' } }, 'amount.refund'],
      [{ amount: { refund: 100, total: 1999 } }, 'amount.currency'],
      [{ amount: { refund: 100, total: 1999, currency: 'USD' } }, 'amount.currency'],
      [{ amount: { refund: 2000, total: 1999, currency: 'CNY' } }, 'amount.refund'],
      [{ reason: 'x'.repeat(81) }, 'reason'],
      [{ notify_url: 'ftp://x/y' }, 'notify_url'],
    ];
    for (const [extra, field] of cases) {
      const res = await callV3(ctx.sb, 'POST', REFUNDS, refundBody(order.outTradeNo, extra));
      expect([res.status, res.json.code, (res.json.detail as { field?: string }).field], field).toEqual([
        400,
        'PARAM_ERROR',
        field,
      ]);
    }
  });

  it('1 minute apart: 429 FREQUENCY_LIMITED; refundNotEnough: 403 NOT_ENOUGH; signature as every v3 call', async () => {
    const order = await paidV3();
    expect((await callV3(ctx.sb, 'POST', REFUNDS, refundBody(order.outTradeNo))).status).toBe(200);
    const soon = await callV3(ctx.sb, 'POST', REFUNDS, refundBody(order.outTradeNo));
    expect([soon.status, soon.json.code]).toEqual([429, 'FREQUENCY_LIMITED']);
    await advanceClock(ctx.sb, 60_000);
    await setFaults(ctx.sb, { out_trade_no: order.outTradeNo }, { refundNotEnough: true });
    const poor = await callV3(ctx.sb, 'POST', REFUNDS, refundBody(order.outTradeNo));
    expect([poor.status, poor.json.code]).toEqual([403, 'NOT_ENOUGH']);
    const unsigned = await callV3(ctx.sb, 'POST', REFUNDS, refundBody(order.outTradeNo), {
      signedBody: '{}',
    });
    expect([unsigned.status, unsigned.json.code]).toEqual([401, 'SIGN_ERROR']);
    expect(await inspectRefunds(ctx.sb, order.outTradeNo)).toHaveLength(1);
  });

  it('never refunds more than was paid under concurrent requests', async () => {
    const order = await paidV3(free.sb);
    const replies = await Promise.all(
      Array.from({ length: 12 }, () =>
        callV3(
          free.sb,
          'POST',
          REFUNDS,
          refundBody(order.outTradeNo, { amount: { refund: 400, total: 1999, currency: 'CNY' } }),
        ),
      ),
    );
    expect(replies.filter((r) => r.status === 200)).toHaveLength(4);
    expect((await inspect(free.sb, order.outTradeNo)).refunded_fee).toBe(1600);
  });

  it('GET of an unknown out_refund_no: 404 RESOURCE_NOT_EXISTS; v2 refunds are visible to v3 and back', async () => {
    const missing = await callV3(ctx.sb, 'GET', `${REFUNDS}/NOSUCHREFUND`);
    expect([missing.status, missing.json.code]).toEqual([404, 'RESOURCE_NOT_EXISTS']);
    const order = await paidOrder(ctx.sb, 'http://127.0.0.1:9/unused');
    const fields = refundFields(order);
    await refundV2(ctx.sb, fields);
    const seen = await callV3(ctx.sb, 'GET', `${REFUNDS}/${String(fields.out_refund_no)}`);
    expect(seen.json).toMatchObject({ out_trade_no: order.outTradeNo, amount: { refund: 100 } });
  });
});

describe('v3 refund notifications', () => {
  it.each([
    ['success', 'REFUND.SUCCESS', 'SUCCESS', '退款成功'],
    ['abnormal', 'REFUND.ABNORMAL', 'ABNORMAL', '退款异常'],
    ['closed', 'REFUND.CLOSED', 'CLOSED', '退款关闭'],
  ] as const)(
    'outcome %s → %s, resource encrypted like payments (AAD refund), retried until 2xx',
    async (outcome, event, status, summary) => {
      const receiver = await NotifyReceiver.start();
      receiver.reply = (n) =>
        n === 1 ? { status: 500, body: '{"code":"FAIL","message":"busy"}' } : { status: 204, body: '' };
      try {
        const order = await paidV3();
        await setFaults(ctx.sb, { out_trade_no: order.outTradeNo }, { refundOutcome: outcome });
        const body = refundBody(order.outTradeNo, { notify_url: receiver.url });
        const created = await callV3(ctx.sb, 'POST', REFUNDS, body);
        await eventually(() => (receiver.received.length >= 2 ? true : undefined), 10_000);
        const [first, second] = receiver.received;
        const n = JSON.parse(second?.body ?? '{}') as RefundNotice;
        const retried = JSON.parse(first?.body ?? '{}') as Record<string, unknown>;
        // The retry repeats id and create_time (the resource is encrypted afresh, with a new nonce).
        expect([retried.id, retried.create_time]).toEqual([n.id, n.create_time]);
        expect(n).toMatchObject({ event_type: event, summary, resource_type: 'encrypt-resource' });
        expect(n.resource).toMatchObject({
          algorithm: 'AEAD_AES_256_GCM',
          associated_data: 'refund',
          original_type: 'refund',
        });
        const headers = second?.headers ?? {};
        const verifier = createVerify('sha256').update(
          `${headers['wechatpay-timestamp']}\n${headers['wechatpay-nonce']}\n${second?.body}\n`,
        );
        expect(verifier.verify(V3.platformPublicKey, String(headers['wechatpay-signature']), 'base64')).toBe(
          true,
        );
        const resource = JSON.parse(decrypt(n.resource)) as Record<string, unknown>;
        expect(resource).toMatchObject({
          mchid: DEMO.mchId,
          out_trade_no: order.outTradeNo,
          out_refund_no: body.out_refund_no,
          refund_id: created.json.refund_id,
          refund_status: status,
          user_received_account: '支付用户零钱',
          amount: { total: 1999, refund: 100, payer_total: 1999, payer_refund: 100 },
        });
        expect('success_time' in resource).toBe(status === 'SUCCESS');
        const [refund] = await inspectRefunds(ctx.sb, order.outTradeNo);
        expect(refund?.notifications.map((a) => a.outcome)).toEqual(['rejected', 'acknowledged']);
      } finally {
        await receiver.close();
      }
    },
  );

  it('carries the v3 forgeries (tampered ciphertext before the genuine one)', async () => {
    const receiver = await NotifyReceiver.start();
    receiver.reply = () => ({ status: 204, body: '' });
    try {
      const order = await paidV3();
      await setFaults(
        ctx.sb,
        { out_trade_no: order.outTradeNo },
        { forgeNotification: 'tampered-ciphertext' },
      );
      await callV3(ctx.sb, 'POST', REFUNDS, refundBody(order.outTradeNo, { notify_url: receiver.url }));
      await eventually(() => (receiver.received.length >= 2 ? true : undefined));
      const [forged, genuine] = receiver.received.map(
        (r) => JSON.parse(r.body) as { resource: Parameters<typeof decrypt>[0] },
      );
      expect(() => decrypt(forged!.resource)).toThrow();
      expect(JSON.parse(decrypt(genuine!.resource))).toMatchObject({ refund_status: 'SUCCESS' });
    } finally {
      await receiver.close();
    }
  });
});

import { describe, expect, it } from 'vitest';
import { decryptRefundNotification, WechatPayRefundNotifyError } from '@mp-pay/shared/wechatpay';
import { DEMO, eventually, NotifyReceiver, sandbox, SUCCESS_XML, useSandboxAndReceiver } from './helpers.ts';
import { inspectRefunds, paidOrder, refundFields, refundV2, setFaults, settled } from './refund-helpers.ts';

const ctx = useSandboxAndReceiver({ refundMinIntervalMs: 0 });

/** The decrypted refund notifications the receiver got for an order (payment ones carry no req_info). */
function refundMaps(receiver: NotifyReceiver, outTradeNo: string): Array<Record<string, string>> {
  return receiver
    .parsed()
    .flatMap((m) => (m.req_info === undefined ? [] : [decryptRefundNotification(m.req_info, DEMO.key)]))
    .filter((m) => m.out_trade_no === outTradeNo);
}

describe('v2 refund notifications', () => {
  it('POSTs the unsigned <xml> with req_info, which decrypts to the refund with the APIv2 key', async () => {
    const order = await paidOrder(ctx.sb, ctx.receiver.url);
    const fields = refundFields(order, { refund_fee: 321, notify_url: `${ctx.receiver.url}/refund` });
    const reply = await refundV2(ctx.sb, fields);
    const outer = await eventually(() =>
      ctx.receiver
        .parsed()
        .find(
          (m) =>
            m.req_info &&
            decryptRefundNotification(m.req_info, DEMO.key).out_refund_no === fields.out_refund_no,
        ),
    );
    expect(Object.keys(outer).sort()).toEqual(['appid', 'mch_id', 'nonce_str', 'req_info', 'return_code']);
    expect(outer).toMatchObject({ return_code: 'SUCCESS', appid: DEMO.appId, mch_id: DEMO.mchId });
    const inner = decryptRefundNotification(outer.req_info ?? '', DEMO.key);
    expect(inner).toMatchObject({
      transaction_id: order.transactionId,
      out_trade_no: order.outTradeNo,
      refund_id: reply.refund_id,
      out_refund_no: String(fields.out_refund_no),
      total_fee: '1999',
      refund_fee: '321',
      settlement_refund_fee: '321',
      refund_status: 'SUCCESS',
      refund_recv_accout: '支付用户零钱',
      refund_account: 'REFUND_SOURCE_UNSETTLED_FUNDS',
      refund_request_source: 'API',
    });
    expect(inner.success_time).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
    const received = ctx.receiver.received.find((r) => r.body.includes(outer.req_info ?? '-'));
    expect(received?.headers['content-type']).toContain('text/xml');
    const [refund] = await inspectRefunds(ctx.sb, order.outTradeNo);
    expect(refund?.notifications[0]).toMatchObject({ attempt: 1, kind: 'genuine', outcome: 'acknowledged' });
  });

  it('retries on the payment schedule until the merchant answers the SUCCESS XML', async () => {
    const receiver = await NotifyReceiver.start();
    try {
      const order = await paidOrder(ctx.sb, `http://127.0.0.1:9/payments-go-nowhere`);
      receiver.reply = (n) =>
        n === 1
          ? { status: 500, body: 'busy' }
          : n === 2
            ? { body: '<xml><return_code>FAIL</return_code></xml>' }
            : { body: SUCCESS_XML };
      await refundV2(ctx.sb, refundFields(order, { notify_url: receiver.url }));
      const attempts = await eventually(async () => {
        const [refund] = await inspectRefunds(ctx.sb, order.outTradeNo);
        return refund?.notifications.some((n) => n.outcome === 'acknowledged')
          ? refund.notifications
          : undefined;
      }, 10_000);
      expect(attempts.map((a) => [a.attempt, a.outcome])).toEqual([
        [1, 'rejected'],
        [2, 'rejected'],
        [3, 'acknowledged'],
      ]);
      expect(receiver.received).toHaveLength(3);
    } finally {
      await receiver.close();
    }
  });

  it('CHANGE and REFUNDCLOSE are notified too (without success_time)', async () => {
    const order = await paidOrder(ctx.sb, ctx.receiver.url);
    await setFaults(ctx.sb, { out_trade_no: order.outTradeNo }, { refundOutcome: 'closed' });
    const fields = refundFields(order, { notify_url: ctx.receiver.url });
    await refundV2(ctx.sb, fields);
    const inner = await eventually(() =>
      refundMaps(ctx.receiver, order.outTradeNo).find((m) => m.out_refund_no === fields.out_refund_no),
    );
    expect(inner.refund_status).toBe('REFUNDCLOSE');
    expect(inner.success_time).toBeUndefined();
  });

  it('goes to the merchant default (refundNotifyUrl) without notify_url, and nowhere without either', async () => {
    const receiver = await NotifyReceiver.start();
    const sb = await sandbox({ refundNotifyUrl: receiver.url });
    try {
      const order = await paidOrder(sb, 'http://127.0.0.1:9/unused');
      await refundV2(sb, refundFields(order));
      await eventually(() => (receiver.parsed().some((m) => m.req_info) ? true : undefined));
    } finally {
      await sb.close();
      await receiver.close();
    }
    const order = await paidOrder(ctx.sb, ctx.receiver.url);
    const fields = refundFields(order);
    await refundV2(ctx.sb, fields);
    const done = await settled(ctx.sb, order.outTradeNo, String(fields.out_refund_no));
    await new Promise((r) => setTimeout(r, 50));
    expect(done.notifications).toEqual([]);
  });

  it('faults as for payments: dropped, duplicated', async () => {
    const receiver = await NotifyReceiver.start();
    try {
      const order = await paidOrder(ctx.sb, 'http://127.0.0.1:9/unused');
      await setFaults(
        ctx.sb,
        { out_trade_no: order.outTradeNo },
        { dropNotifications: 1, duplicateNotifications: 2 },
      );
      await refundV2(ctx.sb, refundFields(order, { notify_url: receiver.url }));
      const attempts = await eventually(async () => {
        const [refund] = await inspectRefunds(ctx.sb, order.outTradeNo);
        return refund && refund.notifications.filter((n) => n.kind === 'duplicate').length === 2
          ? refund.notifications
          : undefined;
      }, 10_000);
      expect(attempts.map((a) => [a.attempt, a.kind, a.outcome])).toEqual([
        [1, 'genuine', 'dropped'],
        [2, 'genuine', 'acknowledged'],
        [2, 'duplicate', 'acknowledged'],
        [2, 'duplicate', 'acknowledged'],
      ]);
      const reqInfos = receiver.parsed().map((m) => decryptRefundNotification(m.req_info ?? '', DEMO.key));
      expect(new Set(reqInfos.map((m) => m.refund_id)).size).toBe(1);
    } finally {
      await receiver.close();
    }
  });

  it.each([
    ['bad-sign', 'encrypted with another key'],
    ['tampered-ciphertext', 'altered req_info'],
  ] as const)(
    'forgeNotification %s: a first notification that does not decrypt (%s)',
    async (forgery, description) => {
      const receiver = await NotifyReceiver.start();
      try {
        const order = await paidOrder(ctx.sb, 'http://127.0.0.1:9/unused');
        await setFaults(ctx.sb, { out_trade_no: order.outTradeNo }, { forgeNotification: forgery });
        const fields = refundFields(order, { notify_url: receiver.url });
        await refundV2(ctx.sb, fields);
        await eventually(() => (receiver.received.length >= 2 ? true : undefined));
        const [forged, genuine] = receiver.parsed();
        expect(() => decryptRefundNotification(forged?.req_info ?? '', DEMO.key), description).toThrow(
          WechatPayRefundNotifyError,
        );
        expect(decryptRefundNotification(genuine?.req_info ?? '', DEMO.key).out_refund_no).toBe(
          fields.out_refund_no,
        );
        const [refund] = await inspectRefunds(ctx.sb, order.outTradeNo);
        expect(refund?.notifications[0]?.kind).toBe(`forged-${forgery}`);
      } finally {
        await receiver.close();
      }
    },
  );

  it('forgeNotification wrong-amount: validly encrypted, another refund_fee (only an amount check catches it)', async () => {
    const receiver = await NotifyReceiver.start();
    try {
      const order = await paidOrder(ctx.sb, 'http://127.0.0.1:9/unused');
      await setFaults(ctx.sb, { out_trade_no: order.outTradeNo }, { forgeNotification: 'wrong-amount' });
      await refundV2(ctx.sb, refundFields(order, { refund_fee: 100, notify_url: receiver.url }));
      await eventually(() => (receiver.received.length >= 2 ? true : undefined));
      const fees = receiver
        .parsed()
        .map((m) => decryptRefundNotification(m.req_info ?? '', DEMO.key).refund_fee);
      expect(fees).toEqual(['99', '100']);
    } finally {
      await receiver.close();
    }
  });
});

import { describe, expect, it } from 'vitest';
import { parseV3Refund, v3RefundBody, WechatPayV3BadMessageError } from '../../src/v3/index.ts';

// Shapes from WeChat's documented refund reply and REFUND.SUCCESS resource (docs/protocol.md §8).
const reply = {
  refund_id: '50000000382019052709732678859',
  out_refund_no: '1217752501201407033233368018',
  transaction_id: '1217752501201407033233368018',
  out_trade_no: '1217752501201407033233368018',
  channel: 'ORIGINAL',
  user_received_account: '招商银行信用卡0403',
  success_time: '2020-12-01T16:18:12+08:00',
  create_time: '2020-12-01T16:18:12+08:00',
  status: 'SUCCESS',
  amount: { total: 100, refund: 100, payer_total: 90, payer_refund: 90, currency: 'CNY' },
};
const resource = {
  mchid: '1900000100',
  out_trade_no: '1217752501201407033233368018',
  transaction_id: '1004390000201707252115135568',
  out_refund_no: '1217752501201407033233368018',
  refund_id: '50000000382017072500097653156',
  refund_status: 'SUCCESS',
  success_time: '2018-06-08T10:34:56+08:00',
  amount: { total: 999, refund: 999, payer_total: 999, payer_refund: 999 },
};

describe('parseV3Refund', () => {
  it('reads the reply (status) and the notification resource (refund_status) into one shape', () => {
    expect(parseV3Refund(reply)).toMatchObject({
      outRefundNo: reply.out_refund_no,
      refundId: reply.refund_id,
      mchid: undefined,
      status: 'SUCCESS',
      refundFen: 100,
      successTime: '2020-12-01T16:18:12+08:00',
    });
    expect(parseV3Refund(resource)).toMatchObject({ mchid: '1900000100', status: 'SUCCESS', refundFen: 999 });
    expect(parseV3Refund({ out_refund_no: 'R1', status: 'PROCESSING' })).toMatchObject({
      status: 'PROCESSING',
      refundFen: undefined,
      successTime: undefined,
    });
  });

  it.each([
    ['not an object', 'x'],
    ['no out_refund_no', { status: 'SUCCESS' }],
    ['an unknown status', { out_refund_no: 'R1', status: 'DONE' }],
    ['a fractional amount', { out_refund_no: 'R1', status: 'SUCCESS', amount: { refund: 1.5 } }],
    ['a negative amount', { out_refund_no: 'R1', status: 'SUCCESS', amount: { refund: -1 } }],
    ['an amount in yuan text', { out_refund_no: 'R1', status: 'SUCCESS', amount: { refund: '1.00' } }],
  ])('refuses %s', (_what, value) => {
    expect(() => parseV3Refund(value)).toThrow(WechatPayV3BadMessageError);
  });
});

describe('v3RefundBody', () => {
  it('names the payment by out_trade_no, amounts in fen, optional fields only when given', () => {
    expect(v3RefundBody({ outTradeNo: 'T1', outRefundNo: 'T1R01', refundFen: 30, totalFen: 100 })).toEqual({
      out_trade_no: 'T1',
      out_refund_no: 'T1R01',
      amount: { refund: 30, total: 100, currency: 'CNY' },
    });
    expect(
      v3RefundBody({
        outTradeNo: 'T1',
        outRefundNo: 'T1R01',
        refundFen: 30,
        totalFen: 100,
        reason: '缺货',
        notifyUrl: 'https://x.test/n',
      }),
    ).toMatchObject({ reason: '缺货', notify_url: 'https://x.test/n' });
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOutTradeNo, formatWechatTime, verifyV2 } from '@mp-pay/shared/wechatpay';
import type { RunningSandbox } from '../src/index.ts';
import { callV2, DEMO, loginCode, orderFields, pay, postJson, sandbox } from './helpers.ts';

const NOTIFY = 'https://merchant.example/wechat/notify';
let sb: RunningSandbox;
let openid: string;
beforeAll(async () => {
  sb = await sandbox({
    extraAccounts: [
      { appId: 'wx0000000000000002', secret: 's'.repeat(32), mchId: '1900000202', key: 'k'.repeat(32) },
    ],
  });
  openid = (await loginCode(sb)).openid;
});
afterAll(() => sb.close());

const beijing = (msFromNow: number) => formatWechatTime(new Date(Date.now() + msFromNow));

async function order(overrides: Record<string, string | number> = {}) {
  return callV2(sb, '/pay/unifiedorder', orderFields(openid, NOTIFY, overrides));
}

describe('unifiedorder JSAPI rules', () => {
  it('accepts a valid order with every optional field', async () => {
    const reply = await order({
      attach: '附加数据',
      detail: '{"goods_detail":[]}',
      fee_type: 'CNY',
      time_start: beijing(0),
      time_expire: beijing(30 * 60_000),
      goods_tag: 'WXG',
      limit_pay: 'no_credit',
      device_info: 'WEB',
      spbill_create_ip: '2001:db8::1',
    });
    expect(reply).toMatchObject({
      return_code: 'SUCCESS',
      result_code: 'SUCCESS',
      trade_type: 'JSAPI',
      device_info: 'WEB',
    });
    expect(verifyV2(reply, DEMO.key)).toBe(true);
  });

  it('requires openid for JSAPI (transport-level FAIL)', async () => {
    const fields: Record<string, string | number> = orderFields(openid, NOTIFY);
    delete fields.openid;
    expect(await callV2(sb, '/pay/unifiedorder', fields)).toEqual({
      return_code: 'FAIL',
      return_msg: 'JSAPI支付必须传openid',
    });
  });

  it('refuses an openid the sandbox never issued, and one issued for another app', async () => {
    const invented = await order({ openid: 'oInventedOpenid0000000000000' });
    expect(invented).toMatchObject({
      result_code: 'FAIL',
      err_code: 'PARAM_ERROR',
      err_code_des: 'appid和openid不匹配',
    });
    const foreign = (await loginCode(sb, 'alice', 'wx0000000000000002')).openid;
    expect(foreign).not.toBe(openid);
    expect(await order({ openid: foreign })).toMatchObject({ err_code: 'PARAM_ERROR' });
  });

  it.each([
    ['total_fee', 0],
    ['total_fee', -1],
    ['total_fee', '1.50'],
    ['total_fee', '01'],
    ['total_fee', 'abc'],
    ['out_trade_no', 'has space'],
    ['out_trade_no', 'x'.repeat(33)],
    ['out_trade_no', '订单1'],
    ['body', 'x'.repeat(128)],
    ['body', '商'.repeat(43)],
    ['attach', 'a'.repeat(128)],
    ['spbill_create_ip', 'localhost'],
    ['spbill_create_ip', '300.1.1.1'],
    ['notify_url', '/wechat/notify'],
    ['notify_url', 'https://merchant.example/notify?order=1'],
    ['notify_url', 'ftp://merchant.example/notify'],
    ['notify_url', `https://merchant.example/${'n'.repeat(250)}`],
    ['fee_type', 'USD'],
    ['limit_pay', 'credit'],
    ['trade_type', 'MICROPAY'],
    ['time_start', '2024-01-01 10:00:00'],
    ['time_expire', '20240230120000'],
  ])('refuses %s = %s with PARAM_ERROR naming the field', async (field, value) => {
    const reply = await order({ [field]: value });
    expect(reply).toMatchObject({ return_code: 'SUCCESS', result_code: 'FAIL', err_code: 'PARAM_ERROR' });
    expect(reply.err_code_des).toContain(field);
    expect(reply.prepay_id).toBeUndefined();
    expect(verifyV2(reply, DEMO.key)).toBe(true);
  });

  it('accepts the limits themselves: 127-byte body, 32-character out_trade_no, 1 fen', async () => {
    const reply = await order({
      body: 'b'.repeat(127),
      out_trade_no: 'A-b_c|d*' + '9'.repeat(24),
      total_fee: 1,
    });
    expect(reply.result_code).toBe('SUCCESS');
  });

  it('wants time_expire at least 5 minutes ahead (the stricter JSAPI reading)', async () => {
    const short = await order({ time_expire: beijing(4 * 60_000) });
    expect(short).toMatchObject({
      err_code: 'PARAM_ERROR',
      err_code_des: 'time_expire时间过短，刷卡至少1分钟，其他5分钟',
    });
    expect((await order({ time_expire: beijing(6 * 60_000) })).result_code).toBe('SUCCESS');
  });
});

describe('re-submitting an out_trade_no', () => {
  it('returns a fresh prepay_id for identical parameters, and both stay payable', async () => {
    const fields = orderFields(openid, NOTIFY, { attach: 'same' });
    const first = await callV2(sb, '/pay/unifiedorder', fields);
    const second = await callV2(sb, '/pay/unifiedorder', fields);
    expect(first.result_code).toBe('SUCCESS');
    expect(second.result_code).toBe('SUCCESS');
    expect(second.prepay_id).not.toBe(first.prepay_id);
    expect(
      (await pay(sb, { prepayId: first.prepay_id as string, signType: 'MD5' }, 'cancel')).json.errMsg,
    ).toBe('requestPayment:fail cancel');
    expect((await pay(sb, { prepayId: second.prepay_id as string, signType: 'MD5' })).json.errMsg).toBe(
      'requestPayment:ok',
    );
  });

  it('keeps the sign type per prepay_id when a re-submission switches it', async () => {
    const fields = orderFields(openid, NOTIFY);
    const md5 = await callV2(sb, '/pay/unifiedorder', fields);
    const hmac = await callV2(sb, '/pay/unifiedorder', fields, { signType: 'HMAC-SHA256' });
    expect(hmac.result_code).toBe('SUCCESS');
    const wrong = await pay(sb, { prepayId: md5.prepay_id as string, signType: 'HMAC-SHA256' });
    expect(wrong.json.errMsg).toBe('requestPayment:fail 支付验证签名失败');
  });

  it.each([
    ['total_fee', 2000],
    ['body', 'another body'],
    ['attach', 'new attach'],
    ['notify_url', 'https://merchant.example/other'],
    ['spbill_create_ip', '10.0.0.9'],
  ])('answers INVALID_REQUEST 201 商户订单号重复 when %s changes', async (field, value) => {
    const fields = orderFields(openid, NOTIFY);
    expect((await callV2(sb, '/pay/unifiedorder', fields)).result_code).toBe('SUCCESS');
    const reply = await callV2(sb, '/pay/unifiedorder', { ...fields, [field]: value });
    expect(reply).toMatchObject({
      result_code: 'FAIL',
      err_code: 'INVALID_REQUEST',
      err_code_des: '201 商户订单号重复',
    });
  });

  it('answers ORDERPAID once paid, even with changed parameters', async () => {
    const fields = orderFields(openid, NOTIFY);
    const placed = await callV2(sb, '/pay/unifiedorder', fields);
    await pay(sb, { prepayId: placed.prepay_id as string, signType: 'MD5' });
    expect(await callV2(sb, '/pay/unifiedorder', fields)).toMatchObject({ err_code: 'ORDERPAID' });
    expect(await callV2(sb, '/pay/unifiedorder', { ...fields, total_fee: 1 })).toMatchObject({
      err_code: 'ORDERPAID',
    });
  });

  it('answers ORDERCLOSED once closed', async () => {
    const fields = orderFields(openid, NOTIFY);
    await callV2(sb, '/pay/unifiedorder', fields);
    expect((await callV2(sb, '/pay/closeorder', { out_trade_no: fields.out_trade_no })).result_code).toBe(
      'SUCCESS',
    );
    expect(await callV2(sb, '/pay/unifiedorder', fields)).toMatchObject({ err_code: 'ORDERCLOSED' });
  });

  it('answers ORDERCLOSED once time_expire has passed', async () => {
    const own = await sandbox();
    try {
      const user = (await postJson(`${own.url}/sandbox/login-codes`, { appid: DEMO.appId })).json
        .openid as string;
      const fields = orderFields(user, NOTIFY, { time_expire: beijing(10 * 60_000) });
      expect((await callV2(own, '/pay/unifiedorder', fields)).result_code).toBe('SUCCESS');
      await postJson(`${own.url}/sandbox/clock`, { advance_ms: 11 * 60_000 });
      expect(await callV2(own, '/pay/unifiedorder', fields)).toMatchObject({ err_code: 'ORDERCLOSED' });
      expect(await callV2(own, '/pay/orderquery', { out_trade_no: fields.out_trade_no })).toMatchObject({
        trade_state: 'CLOSED',
      });
    } finally {
      await own.close();
    }
  });

  it('keeps out_trade_no per merchant', async () => {
    const outTradeNo = createOutTradeNo();
    expect((await order({ out_trade_no: outTradeNo })).result_code).toBe('SUCCESS');
    const other = await callV2(
      sb,
      '/pay/orderquery',
      { out_trade_no: outTradeNo, appid: 'wx0000000000000002', mch_id: '1900000202' },
      { key: 'k'.repeat(32) },
    );
    expect(other.err_code).toBe('ORDERNOTEXIST');
  });
});

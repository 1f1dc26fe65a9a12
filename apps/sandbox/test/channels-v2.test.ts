/**
 * v2 unifiedorder for every trade type (docs/channels.md, docs/protocol.md §9): each type's rules and errors,
 * its reply (code_url, mweb_url, prepay_id), what the order records, and the trade paid through the buyer's
 * stand-in of its channel, then queried, notified, closed and refunded like a JSAPI trade.
 */
import { describe, expect, it } from 'vitest';
import { verifyV2, type XmlMap } from '@mp-pay/shared/wechatpay';
import { callV2, DEMO, inspect, postJson, useSandboxAndReceiver } from './helpers.ts';
import {
  APP,
  cashierLink,
  channelFields,
  openCashier,
  payCashier,
  placeV2Channel,
  scanCode,
  SCENE_INFO,
  v2NotificationFor,
} from './channel-helpers.ts';
import { newOutRefundNo, refundV2 } from './refund-helpers.ts';
import { appPayParams } from '@mp-pay/shared/wechatpay';

const ctx = useSandboxAndReceiver();
const CODE_URL_RE = /^weixin:\/\/wxpay\/bizpayurl\?pr=[0-9A-Za-z]{7,}$/;

async function unifiedorder(fields: Record<string, string | number | undefined>, appid?: string) {
  return callV2(ctx.sb, '/pay/unifiedorder', { ...fields, ...(appid ? { appid } : {}) });
}

function expectParamError(reply: XmlMap, text: string) {
  expect(reply).toMatchObject({ return_code: 'SUCCESS', result_code: 'FAIL', err_code: 'PARAM_ERROR' });
  expect(reply.err_code_des).toContain(text);
  expect(reply.prepay_id).toBeUndefined();
  expect(verifyV2(reply, DEMO.key)).toBe(true);
}

const notificationFor = (outTradeNo: string) => v2NotificationFor(ctx.receiver, outTradeNo);

describe('NATIVE', () => {
  it('answers a signed code_url weixin://wxpay/bizpayurl?pr=… next to the prepay_id', async () => {
    const { reply, outTradeNo } = await placeV2Channel(ctx.sb, 'NATIVE', ctx.receiver.url);
    expect(reply).toMatchObject({ result_code: 'SUCCESS', trade_type: 'NATIVE' });
    expect(reply.code_url).toMatch(CODE_URL_RE);
    expect(reply.prepay_id).toMatch(/^wx\d{14}[0-9a-f]{22}$/);
    expect(reply.mweb_url).toBeUndefined();
    expect(verifyV2(reply, DEMO.key)).toBe(true);
    const seen = await inspect(ctx.sb, outTradeNo);
    expect(seen).toMatchObject({ trade_type: 'NATIVE', product_id: 'SKU-42', spbill_create_ip: '127.0.0.1' });
    expect(seen.prepay_ids).toEqual([expect.objectContaining({ code_url: reply.code_url })]);
  });

  it('needs product_id (FAIL) of at most 32 characters (PARAM_ERROR)', async () => {
    const missing = await unifiedorder(channelFields('NATIVE', ctx.receiver.url, { product_id: undefined }));
    expect(missing).toEqual({ return_code: 'FAIL', return_msg: 'NATIVE支付必须传product_id' });
    expectParamError(
      await unifiedorder(channelFields('NATIVE', ctx.receiver.url, { product_id: 'P'.repeat(33) })),
      'product_id',
    );
    const limit = await unifiedorder(
      channelFields('NATIVE', ctx.receiver.url, { product_id: 'P'.repeat(32) }),
    );
    expect(limit.result_code).toBe('SUCCESS');
  });

  it('gives a fresh code_url for the same parameters and 201 商户订单号重复 for others', async () => {
    const fields = channelFields('NATIVE', ctx.receiver.url);
    const first = await unifiedorder(fields);
    const again = await unifiedorder(fields);
    expect(again.result_code).toBe('SUCCESS');
    expect(again.code_url).toMatch(CODE_URL_RE);
    expect(again.code_url).not.toBe(first.code_url);
    const changed = await unifiedorder({ ...fields, product_id: 'OTHER' });
    expect(changed).toMatchObject({ err_code: 'INVALID_REQUEST', err_code_des: '201 商户订单号重复' });
  });

  it('is paid by scanning: notification, orderquery and closeorder say NATIVE and name the buyer', async () => {
    const { reply, outTradeNo } = await placeV2Channel(ctx.sb, 'NATIVE', ctx.receiver.url, {}, 'HMAC-SHA256');
    const unpaid = await callV2(ctx.sb, '/pay/orderquery', { out_trade_no: outTradeNo });
    expect(unpaid).toMatchObject({ trade_state: 'NOTPAY' });
    const scanned = await scanCode(ctx.sb, { url: reply.code_url });
    expect(scanned.status).toBe(200);
    expect(scanned.json).toMatchObject({
      mode: 2,
      outcome: 'success',
      out_trade_no: outTradeNo,
      total_fee: 2500,
    });
    const openid = String(scanned.json.openid);
    expect(openid).toMatch(/^o.{27}$/);

    const notification = await notificationFor(outTradeNo);
    expect(notification).toMatchObject({ trade_type: 'NATIVE', openid, total_fee: '2500' });
    expect(notification.sign).toHaveLength(64);
    expect(verifyV2(notification, DEMO.key)).toBe(true);
    const paid = await callV2(ctx.sb, '/pay/orderquery', { out_trade_no: outTradeNo });
    expect(paid).toMatchObject({ trade_state: 'SUCCESS', trade_type: 'NATIVE', openid });
    const closed = await callV2(ctx.sb, '/pay/closeorder', { out_trade_no: outTradeNo });
    expect(closed).toMatchObject({ err_code: 'ORDERPAID' });

    // Refunds work for any trade type.
    const refund = await refundV2(ctx.sb, {
      out_trade_no: outTradeNo,
      out_refund_no: newOutRefundNo(),
      total_fee: 2500,
      refund_fee: 500,
    });
    expect(refund).toMatchObject({ result_code: 'SUCCESS', refund_fee: '500' });
  });

  it('a closed NATIVE trade cannot be scanned any more', async () => {
    const { reply, outTradeNo } = await placeV2Channel(ctx.sb, 'NATIVE', ctx.receiver.url);
    expect(await callV2(ctx.sb, '/pay/closeorder', { out_trade_no: outTradeNo })).toMatchObject({
      result_code: 'SUCCESS',
    });
    const scanned = await scanCode(ctx.sb, { url: reply.code_url });
    expect(scanned.status).toBe(409);
    expect(scanned.json).toEqual({ error: 'NOT_PAYABLE', message: '订单已关闭' });
  });
});

describe('APP', () => {
  it("needs a mobile app's AppID, no openid, and answers a prepay_id only", async () => {
    const mini = await unifiedorder(channelFields('APP', ctx.receiver.url), DEMO.appId);
    expectParamError(mini, 'trade_type与appid不匹配');
    const { reply, outTradeNo } = await placeV2Channel(ctx.sb, 'APP', ctx.receiver.url);
    expect(reply).toMatchObject({ appid: APP.appId, trade_type: 'APP', result_code: 'SUCCESS' });
    expect(reply.code_url).toBeUndefined();
    expect(reply.mweb_url).toBeUndefined();
    expect((await inspect(ctx.sb, outTradeNo)).trade_type).toBe('APP');
  });

  it('is paid in the app: the notification says APP, with the app AppID', async () => {
    const { reply, outTradeNo } = await placeV2Channel(ctx.sb, 'APP', ctx.receiver.url);
    const params = appPayParams({
      appId: APP.appId,
      mchId: DEMO.mchId,
      prepayId: reply.prepay_id as string,
      key: DEMO.key,
    });
    const paid = await postJson(`${ctx.sb.url}/sandbox/app/pay`, params);
    expect(paid).toEqual({ status: 200, json: { errCode: 0, errStr: '' } });
    const notification = await notificationFor(outTradeNo);
    expect(notification).toMatchObject({ appid: APP.appId, trade_type: 'APP', result_code: 'SUCCESS' });
    expect(notification.openid).toMatch(/^o.{27}$/);
    const queried = await callV2(ctx.sb, '/pay/orderquery', { appid: APP.appId, out_trade_no: outTradeNo });
    expect(queried).toMatchObject({ trade_state: 'SUCCESS', trade_type: 'APP' });
  });
});

describe('MWEB', () => {
  it('needs scene_info (FAIL), a JSON object with h5_info and its type (PARAM_ERROR)', async () => {
    const missing = await unifiedorder(channelFields('MWEB', ctx.receiver.url, { scene_info: undefined }));
    expect(missing).toEqual({ return_code: 'FAIL', return_msg: '缺少参数scene_info' });
    for (const bad of [
      'h5_info=Wap',
      JSON.stringify({ store_info: { id: '1' } }),
      JSON.stringify({ h5_info: 'Wap' }),
      JSON.stringify({ h5_info: { type: 'Web', wap_url: 'http://127.0.0.1' } }),
    ]) {
      expectParamError(
        await unifiedorder(channelFields('MWEB', ctx.receiver.url, { scene_info: bad })),
        'scene_info',
      );
    }
  });

  it('answers mweb_url: the sandbox cashier, with prepay_id and package', async () => {
    const { reply, outTradeNo } = await placeV2Channel(ctx.sb, 'MWEB', ctx.receiver.url);
    expect(reply).toMatchObject({ trade_type: 'MWEB', result_code: 'SUCCESS' });
    const link = cashierLink(reply.mweb_url as string);
    expect(`${link.url.origin}${link.path}`).toBe(`${ctx.sb.url}/cgi-bin/mmpayweb-bin/checkmweb`);
    expect(link.prepayId).toBe(reply.prepay_id);
    expect(link.pkg).toMatch(/^\d{10}$/);
    expect(verifyV2(reply, DEMO.key)).toBe(true);
    const seen = await inspect(ctx.sb, outTradeNo);
    expect(seen).toMatchObject({ trade_type: 'MWEB', scene_info: SCENE_INFO, spbill_create_ip: '127.0.0.1' });
  });

  it('is paid on the cashier: notification MWEB, back to redirect_url', async () => {
    const { reply, outTradeNo } = await placeV2Channel(ctx.sb, 'MWEB', ctx.receiver.url);
    const page = await openCashier(reply.mweb_url as string);
    expect(page.html).toContain('id="sandbox-h5-pay"');
    const back = 'http://127.0.0.1:3000/shop/result.html?order=42';
    const done = await payCashier(ctx.sb, reply.mweb_url as string, { redirect_url: back });
    expect(done.status).toBe(302);
    expect(done.location).toBe(back);
    expect(await notificationFor(outTradeNo)).toMatchObject({ trade_type: 'MWEB', result_code: 'SUCCESS' });
  });
});

describe('every trade type', () => {
  it('keeps JSAPI as it was: openid required', async () => {
    const reply = await unifiedorder(channelFields('JSAPI', ctx.receiver.url));
    expect(reply).toEqual({ return_code: 'FAIL', return_msg: 'JSAPI支付必须传openid' });
  });

  it('refuses an unknown trade_type naming it', async () => {
    expectParamError(
      await unifiedorder(channelFields('NATIVE', ctx.receiver.url, { trade_type: 'MICROPAY' })),
      'trade_type',
    );
  });

  it('is not paid through wx.requestPayment unless it is JSAPI', async () => {
    const { reply } = await placeV2Channel(ctx.sb, 'NATIVE', ctx.receiver.url);
    const res = await postJson(`${ctx.sb.url}/sandbox/pay`, {
      appId: DEMO.appId,
      timeStamp: '1700000000',
      nonceStr: 'n',
      package: `prepay_id=${reply.prepay_id}`,
      signType: 'MD5',
      paySign: 'X',
    });
    expect(res.status).toBe(400);
    expect(String(res.json.errMsg)).toContain('prepay_id不是JSAPI订单');
  });
});

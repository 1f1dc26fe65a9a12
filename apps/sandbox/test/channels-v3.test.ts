/**
 * APIv3 /v3/pay/transactions/{app,h5,native} (docs/channels.md): each endpoint's rules in WeChat's error
 * shape, its signed reply ({prepay_id}, {h5_url}, {code_url}), and the trade paid through its channel's
 * stand-in, then queried, notified (trade_type APP / MWEB / NATIVE), closed and refunded.
 */
import { describe, expect, it } from 'vitest';
import { appPayParamsV3 } from '@mp-pay/shared/wechatpay';
import { DEMO, inspect, postJson, useSandboxAndReceiver } from './helpers.ts';
import {
  APP,
  cashierLink,
  openCashier,
  payCashier,
  placeV3Channel,
  scanCode,
  v3ChannelBody,
  v3NotificationFor,
} from './channel-helpers.ts';
import { callV3, queryPath, replySignatureOk, V3 } from './v3-helpers.ts';

const ctx = useSandboxAndReceiver();
const ack = () => {
  ctx.receiver.reply = () => ({ status: 204, body: '' });
};

async function post(kind: string, body: unknown) {
  return callV3(ctx.sb, 'POST', `/v3/pay/transactions/${kind}`, body);
}

/** The decrypted transaction of the order's v3 notification. */
const notified = (outTradeNo: string) => v3NotificationFor(ctx.receiver, outTradeNo);

describe('native', () => {
  it('answers a signed {code_url}; paid by scanning, the query and notification say NATIVE', async () => {
    ack();
    const body = v3ChannelBody('native', ctx.receiver.url);
    const res = await post('native', body);
    expect(res.status).toBe(200);
    expect(Object.keys(res.json)).toEqual(['code_url']);
    expect(res.json.code_url).toMatch(/^weixin:\/\/wxpay\/bizpayurl\?pr=[0-9A-Za-z]{7,}$/);
    expect(replySignatureOk(res)).toBe(true);

    const unpaid = await callV3(ctx.sb, 'GET', queryPath(body.out_trade_no));
    expect(unpaid.json).toMatchObject({ trade_type: 'NATIVE', trade_state: 'NOTPAY' });
    const scanned = await scanCode(ctx.sb, { url: res.json.code_url });
    expect(scanned.json).toMatchObject({ outcome: 'success', out_trade_no: body.out_trade_no });

    const tx = await notified(body.out_trade_no);
    expect(tx).toMatchObject({
      trade_type: 'NATIVE',
      trade_state: 'SUCCESS',
      payer: { openid: scanned.json.openid },
      amount: { total: 3100 },
    });
    const paid = await callV3(ctx.sb, 'GET', queryPath(body.out_trade_no));
    expect(paid.json).toMatchObject({ trade_type: 'NATIVE', trade_state: 'SUCCESS' });

    const refund = await callV3(ctx.sb, 'POST', '/v3/refund/domestic/refunds', {
      out_trade_no: body.out_trade_no,
      out_refund_no: `RF${Date.now()}N`,
      amount: { refund: 100, total: 3100, currency: 'CNY' },
    });
    expect(refund.status).toBe(200);
    expect(refund.json).toMatchObject({ status: 'PROCESSING', out_trade_no: body.out_trade_no });
  });

  it('an unpaid native trade closes (204) and its code can no longer be paid', async () => {
    const placed = await placeV3Channel(ctx.sb, 'native', ctx.receiver.url);
    const closed = await callV3(
      ctx.sb,
      'POST',
      `/v3/pay/transactions/out-trade-no/${placed.outTradeNo}/close`,
      {
        mchid: DEMO.mchId,
      },
    );
    expect(closed.status).toBe(204);
    const scanned = await scanCode(ctx.sb, { url: placed.json.code_url });
    expect(scanned.status).toBe(409);
  });
});

describe('app', () => {
  it("needs a mobile app's AppID: a mini-program's is a PARAM_ERROR on appid", async () => {
    const res = await post('app', v3ChannelBody('app', ctx.receiver.url, { appid: DEMO.appId }));
    expect(res.status).toBe(400);
    expect(res.json).toMatchObject({ code: 'PARAM_ERROR', detail: { field: 'appid', location: 'body' } });
    expect(replySignatureOk(res)).toBe(true);
  });

  it('answers {prepay_id} without a payer; paid in the app with the RSA sign, notified as APP', async () => {
    ack();
    const placed = await placeV3Channel(ctx.sb, 'app', ctx.receiver.url);
    expect(Object.keys(placed.json)).toEqual(['prepay_id']);
    const params = appPayParamsV3({
      appId: APP.appId,
      partnerId: DEMO.mchId,
      prepayId: String(placed.json.prepay_id),
      privateKey: V3.mchPrivateKey,
    });
    expect(await postJson(`${ctx.sb.url}/sandbox/app/pay`, params)).toEqual({
      status: 200,
      json: { errCode: 0, errStr: '' },
    });
    const tx = await notified(placed.outTradeNo);
    expect(tx).toMatchObject({ appid: APP.appId, trade_type: 'APP', trade_state: 'SUCCESS' });
    expect((await inspect(ctx.sb, placed.outTradeNo)).trade_type).toBe('APP');
  });

  it('the same rules as jsapi: a missing field names WeChat’s label, a string total is refused', async () => {
    const { amount: _amount, ...noAmount } = v3ChannelBody('app', ctx.receiver.url);
    const missing = await post('app', noAmount);
    expect(missing.json).toMatchObject({ code: 'PARAM_ERROR', detail: { field: 'amount' } });
    const text = await post('app', v3ChannelBody('app', ctx.receiver.url, { amount: { total: '100' } }));
    expect(text.json).toMatchObject({ code: 'PARAM_ERROR', detail: { field: 'amount.total' } });
  });
});

describe('h5', () => {
  it.each([
    ['scene_info', undefined, 'scene_info'],
    ['payer_client_ip', { h5_info: { type: 'Wap' } }, 'scene_info.payer_client_ip'],
    ['h5_info', { payer_client_ip: '127.0.0.1' }, 'scene_info.h5_info'],
    ['h5_info.type', { payer_client_ip: '127.0.0.1', h5_info: {} }, 'scene_info.h5_info.type'],
    ['a bad type', { payer_client_ip: '127.0.0.1', h5_info: { type: 'Web' } }, 'scene_info.h5_info.type'],
    ['a bad IP', { payer_client_ip: 'localhost', h5_info: { type: 'Wap' } }, 'scene_info.payer_client_ip'],
  ])('refuses %s with PARAM_ERROR naming the field', async (_what, scene, field) => {
    const res = await post('h5', v3ChannelBody('h5', ctx.receiver.url, { scene_info: scene }));
    expect(res.status).toBe(400);
    expect(res.json).toMatchObject({ code: 'PARAM_ERROR', detail: { field } });
    expect(replySignatureOk(res)).toBe(true);
  });

  it('answers {h5_url} (the cashier); paid there, notified as MWEB with the scene recorded', async () => {
    ack();
    const placed = await placeV3Channel(ctx.sb, 'h5', ctx.receiver.url);
    expect(Object.keys(placed.json)).toEqual(['h5_url']);
    const link = cashierLink(String(placed.json.h5_url));
    expect(link.path).toBe('/cgi-bin/mmpayweb-bin/checkmweb');
    const seen = await inspect(ctx.sb, placed.outTradeNo);
    expect(seen).toMatchObject({ trade_type: 'MWEB', spbill_create_ip: '127.0.0.1' });
    expect(JSON.parse(String(seen.scene_info))).toEqual(placed.body.scene_info);

    expect((await openCashier(String(placed.json.h5_url))).html).toContain('sandbox-h5-pay');
    const done = await payCashier(ctx.sb, String(placed.json.h5_url));
    expect(done.status).toBe(200);
    expect(done.html).toContain('id="sandbox-h5-done"');
    const tx = await notified(placed.outTradeNo);
    expect(tx).toMatchObject({ trade_type: 'MWEB', trade_state: 'SUCCESS' });
  });

  it('re-submitting the same h5 order gives a fresh h5_url; another scene is OUT_TRADE_NO_USED', async () => {
    const body = v3ChannelBody('h5', ctx.receiver.url);
    const first = await post('h5', body);
    const again = await post('h5', body);
    expect(again.status).toBe(200);
    expect(again.json.h5_url).not.toBe(first.json.h5_url);
    const other = await post('h5', {
      ...body,
      scene_info: { payer_client_ip: '198.51.100.7', h5_info: { type: 'Wap' } },
    });
    expect(other.status).toBe(403);
    expect(other.json).toMatchObject({ code: 'OUT_TRADE_NO_USED' });
  });
});

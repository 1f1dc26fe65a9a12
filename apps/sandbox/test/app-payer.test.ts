/**
 * POST /sandbox/app/pay: the OpenSDK + WeChat checks on the seven PayReq fields (docs/channels.md), by the
 * API that placed the trade (v2 key and sign type, v3 RSA with the merchant certificate's public key), and the
 * SDK's {errCode, errStr} answers.
 */
import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { appPayParams, appPayParamsV3, signV3, type SignType } from '@mp-pay/shared/wechatpay';
import { DEMO, inspect, postJson, useSandboxAndReceiver } from './helpers.ts';
import { APP, placeV2Channel, placeV3Channel, v2NotificationFor } from './channel-helpers.ts';
import { V3 } from './v3-helpers.ts';

const ctx = useSandboxAndReceiver();
const payApp = (body: Record<string, unknown>) => postJson(`${ctx.sb.url}/sandbox/app/pay`, body);

async function v2Order(signType: SignType = 'MD5') {
  const placed = await placeV2Channel(ctx.sb, 'APP', ctx.receiver.url, {}, signType);
  const params = appPayParams({
    appId: APP.appId,
    mchId: DEMO.mchId,
    prepayId: String(placed.reply.prepay_id),
    key: DEMO.key,
    signType,
  });
  return { ...placed, params };
}

describe('v2 APP trades', () => {
  it.each(['MD5', 'HMAC-SHA256'] as const)(
    'pays with the %s sign of the six fields and notifies',
    async (signType) => {
      const order = await v2Order(signType);
      expect(await payApp(order.params)).toEqual({ status: 200, json: { errCode: 0, errStr: '' } });
      const notification = await v2NotificationFor(ctx.receiver, order.outTradeNo);
      expect(notification).toMatchObject({ trade_type: 'APP', appid: APP.appId });
      expect(notification.sign).toHaveLength(signType === 'MD5' ? 32 : 64);
    },
  );

  it('cancel is -2 and fail is -1, both leaving the trade unpaid; a paid trade is -1 该订单已支付', async () => {
    const order = await v2Order();
    expect(await payApp({ ...order.params, outcome: 'cancel' })).toEqual({
      status: 200,
      json: { errCode: -2, errStr: '用户取消' },
    });
    expect((await payApp({ ...order.params, outcome: 'fail' })).json).toEqual({
      errCode: -1,
      errStr: '支付失败，请稍后再试',
    });
    expect((await inspect(ctx.sb, order.outTradeNo)).state).toBe('NOTPAY');
    expect((await payApp(order.params)).json.errCode).toBe(0);
    expect(await payApp(order.params)).toEqual({
      status: 409,
      json: { errCode: -1, errStr: '该订单已支付' },
    });
  });

  it.each([
    [
      'a camelCase field',
      (p: Record<string, string>) => {
        const { prepayid, ...rest } = p;
        return { ...rest, prepayId: prepayid };
      },
      'prepayid is missing (prepayId was sent',
    ],
    [
      'the mini-program package',
      (p: Record<string, string>) => ({ ...p, package: `prepay_id=${p.prepayid}` }),
      'package must be Sign=WXPay',
    ],
    [
      "a mini-program's appid",
      (p: Record<string, string>) => ({ ...p, appid: DEMO.appId }),
      'is not a mobile app',
    ],
    [
      'another partnerid',
      (p: Record<string, string>) => ({ ...p, partnerid: '1900000999' }),
      'partnerid 1900000999',
    ],
    ['an unknown prepayid', (p: Record<string, string>) => ({ ...p, prepayid: 'wx0000' }), 'prepayid不存在'],
    [
      'a tampered timestamp',
      (p: Record<string, string>) => ({ ...p, timestamp: String(Number(p.timestamp) + 1) }),
      '支付验证签名失败',
    ],
  ])('refuses %s with errCode -1 naming it', async (_what, edit, text) => {
    const order = await v2Order();
    const res = await payApp(edit(order.params as unknown as Record<string, string>));
    expect(res.json.errCode).toBe(-1);
    expect(String(res.json.errStr)).toContain(text);
    expect((await inspect(ctx.sb, order.outTradeNo)).state).toBe('NOTPAY');
  });

  it('refuses the sign type the order was not placed with', async () => {
    const order = await v2Order('HMAC-SHA256');
    const md5 = appPayParams({
      appId: APP.appId,
      mchId: DEMO.mchId,
      prepayId: String(order.reply.prepay_id),
      key: DEMO.key,
      signType: 'MD5',
    });
    const res = await payApp(md5);
    expect(res.json).toMatchObject({ errCode: -1, errStr: expect.stringContaining('MD5') });
  });

  it('refuses the prepay_id of another trade type', async () => {
    const native = await placeV2Channel(ctx.sb, 'NATIVE', ctx.receiver.url);
    const params = appPayParams({
      appId: APP.appId,
      mchId: DEMO.mchId,
      prepayId: String(native.reply.prepay_id),
      key: DEMO.key,
    });
    const res = await payApp(params);
    expect(res.json).toMatchObject({ errCode: -1, errStr: expect.stringContaining('NATIVE trade') });
  });
});

describe('v3 APP trades', () => {
  async function v3Order() {
    const placed = await placeV3Channel(ctx.sb, 'app', ctx.receiver.url);
    return { ...placed, prepayId: String(placed.json.prepay_id) };
  }

  it('pays with SHA256withRSA over appid\\ntimestamp\\nnoncestr\\nprepayid\\n', async () => {
    const order = await v3Order();
    const params = appPayParamsV3({
      appId: APP.appId,
      partnerId: DEMO.mchId,
      prepayId: order.prepayId,
      privateKey: V3.mchPrivateKey,
    });
    expect(await payApp(params)).toEqual({ status: 200, json: { errCode: 0, errStr: '' } });
    expect((await inspect(ctx.sb, order.outTradeNo)).state).toBe('SUCCESS');
  });

  it('refuses another key, the prepay_id= line, and a v2 sign', async () => {
    const order = await v3Order();
    const stranger = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({
      type: 'pkcs8',
      format: 'pem',
    });
    const other = appPayParamsV3({
      appId: APP.appId,
      partnerId: DEMO.mchId,
      prepayId: order.prepayId,
      privateKey: String(stranger),
    });
    expect((await payApp(other)).json).toMatchObject({
      errCode: -1,
      errStr: expect.stringContaining('支付验证签名失败'),
    });

    const good = appPayParamsV3({
      appId: APP.appId,
      partnerId: DEMO.mchId,
      prepayId: order.prepayId,
      privateKey: V3.mchPrivateKey,
    });
    const line = signV3(
      `${APP.appId}\n${good.timestamp}\n${good.noncestr}\nprepay_id=${order.prepayId}\n`,
      V3.mchPrivateKey,
    );
    expect((await payApp({ ...good, sign: line })).json).toMatchObject({
      errCode: -1,
      errStr: expect.stringContaining('prepay_id='),
    });
    const v2 = appPayParams({ appId: APP.appId, mchId: DEMO.mchId, prepayId: order.prepayId, key: DEMO.key });
    expect((await payApp(v2)).json).toMatchObject({ errCode: -1 });
    expect((await inspect(ctx.sb, order.outTradeNo)).state).toBe('NOTPAY');
  });
});

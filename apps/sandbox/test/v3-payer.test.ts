import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  buildAuthorizationV3,
  miniProgramPayParamsV3,
  parseAuthorizationV3,
  signV2,
} from '@mp-pay/shared/wechatpay';
import { DEMO, inspect, placeOrder, postJson, useSandboxAndReceiver } from './helpers.ts';
import { callV3, placeV3, queryPath, rsaPayParams, V3 } from './v3-helpers.ts';

const ctx = useSandboxAndReceiver();
const payUrl = () => `${ctx.sb.url}/sandbox/pay`;
const SIGN_FAILED = 'requestPayment:fail 支付验证签名失败';
const otherKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({
  type: 'pkcs8',
  format: 'pem',
}) as string;

async function refused(params: Record<string, unknown>) {
  const res = await postJson(payUrl(), params);
  expect(res.status).toBe(400);
  expect(res.json.errMsg).toBe(SIGN_FAILED);
  return String(res.json.hint);
}

describe('POST /sandbox/pay for APIv3 orders (signType RSA)', () => {
  it('accepts SHA256withRSA over appId\\ntimeStamp\\nnonceStr\\npackage\\n and pays the trade', async () => {
    const order = await placeV3(ctx.sb, ctx.receiver.url);
    expect(await postJson(payUrl(), rsaPayParams(order.prepayId))).toEqual({
      status: 200,
      json: { errMsg: 'requestPayment:ok' },
    });
    expect((await callV3(ctx.sb, 'GET', queryPath(order.outTradeNo))).json.trade_state).toBe('SUCCESS');
  });

  it("accepts the shared miniProgramPayParamsV3's output as is", async () => {
    const order = await placeV3(ctx.sb, ctx.receiver.url);
    const params = miniProgramPayParamsV3({
      appId: DEMO.appId,
      prepayId: order.prepayId,
      privateKey: V3.mchPrivateKey,
    });
    expect((await postJson(payUrl(), { appId: DEMO.appId, ...params })).json.errMsg).toBe(
      'requestPayment:ok',
    );
  });

  it('names a wrong key', async () => {
    const order = await placeV3(ctx.sb, ctx.receiver.url);
    const hint = await refused(rsaPayParams(order.prepayId, { privateKey: otherKey }));
    expect(hint).toMatch(/does not verify with the public key of merchant certificate .*wrong key/);
    expect(hint).toContain(V3.mchCertSerial);
    // Recorded on the order, with the hint.
    const seen = await inspect(ctx.sb, order.outTradeNo);
    expect(seen.payments).toEqual([expect.objectContaining({ outcome: 'refused', hint })]);
    expect(seen.state).toBe('NOTPAY');
  });

  it('names a missing trailing \\n', async () => {
    const order = await placeV3(ctx.sb, ctx.receiver.url);
    const hint = await refused(rsaPayParams(order.prepayId, { message: (m) => m.slice(0, -1) }));
    expect(hint).toMatch(/lacks the trailing \\n/);
  });

  it('names a bare prepay_id and a signed signType', async () => {
    const order = await placeV3(ctx.sb, ctx.receiver.url);
    const bare = rsaPayParams(order.prepayId, { message: (m) => m.replace('prepay_id=', '') });
    expect(await refused(bare)).toMatch(/not the bare prepay_id/);
    const withType = rsaPayParams(order.prepayId, { message: (m) => `${m}RSA\n` });
    expect(await refused(withType)).toMatch(/signType is not part of the signed message/);
  });

  it('names MD5 or HMAC-SHA256 where RSA is due', async () => {
    const order = await placeV3(ctx.sb, ctx.receiver.url);
    const base = rsaPayParams(order.prepayId);
    for (const signType of ['MD5', 'HMAC-SHA256'] as const) {
      const { appId, timeStamp, nonceStr } = base;
      const fields = { appId, timeStamp, nonceStr, package: base.package, signType };
      const hint = await refused({ ...fields, paySign: signV2(fields, DEMO.key, signType) });
      expect(hint).toMatch(
        new RegExp(`paySign was computed with ${signType} \\(APIv2\\).*placed with APIv3`),
      );
      // signType RSA but an MD5/HMAC value.
      const hex = await refused({ ...base, paySign: signV2(fields, DEMO.key, signType) });
      expect(hex).toMatch(/looks like an APIv2 .* signature \(hex\)/);
    }
    const { signType: _rsa, ...noType } = base;
    expect(await refused(noType)).toMatch(/signType is MD5, but the order was placed with APIv3/);
  });

  it('names the jsapi request signature reused as paySign', async () => {
    const order = await placeV3(ctx.sb, ctx.receiver.url);
    const authorization = buildAuthorizationV3({
      method: 'POST',
      url: '/v3/pay/transactions/jsapi',
      body: JSON.stringify(order.body),
      mchId: DEMO.mchId,
      serialNo: V3.mchCertSerial,
      privateKey: V3.mchPrivateKey,
    });
    const res = await callV3(ctx.sb, 'POST', '/v3/pay/transactions/jsapi', order.body, { authorization });
    expect(res.status).toBe(200);
    const { signature } = parseAuthorizationV3(authorization);
    const hint = await refused({ ...rsaPayParams(String(res.json.prepay_id)), paySign: signature });
    expect(hint).toMatch(/paySign is the signature of the \/v3\/pay\/transactions\/jsapi request/);
  });

  it('refuses signType RSA for a v2 order, naming the API it was placed with', async () => {
    const order = await placeOrder(ctx.sb, ctx.receiver.url);
    const hint = await refused(rsaPayParams(order.prepayId));
    expect(hint).toMatch(/placed with APIv2 \(MD5\)/);
  });

  it('refuses an unknown signType', async () => {
    const order = await placeV3(ctx.sb, ctx.receiver.url);
    const res = await postJson(payUrl(), { ...rsaPayParams(order.prepayId), signType: 'SHA256' });
    expect(res).toMatchObject({
      status: 400,
      json: { errMsg: expect.stringMatching(/MD5, HMAC-SHA256 or RSA/) },
    });
  });
});

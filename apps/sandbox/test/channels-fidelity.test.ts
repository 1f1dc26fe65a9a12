/**
 * The channels with an independent client: wechatpay-axios-plugin signs every v2 unifiedorder (APP, MWEB,
 * NATIVE) and v3 app / h5 / native request itself and verifies every reply (v2 sign, v3 Wechatpay-Signature);
 * the APP pay sign is computed with its Hash / Rsa, and notifications are checked with its primitives. Nothing
 * here signs or verifies through @mp-pay/shared.
 */
import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Formatter, Hash, Rsa, Wechatpay } from 'wechatpay-axios-plugin';
import { DEMO, eventually, postJson, useSandboxAndReceiver } from './helpers.ts';
import {
  APP,
  libraryReadsV2Notification,
  libraryReadsV3Notification,
  libraryV2SignOk as libraryVerifies,
  openCashier,
  scanCode,
} from './channel-helpers.ts';
import { V3 } from './v3-helpers.ts';

type Data = Record<string, string>;
interface Reply<T> {
  status: number;
  data: T;
  headers: Record<string, string>;
}
interface Endpoint<T> {
  post(data: unknown): Promise<Reply<T>>;
}
interface LibraryError {
  response?: { status: number; data?: Record<string, unknown> };
}

const ctx = useSandboxAndReceiver();
const throwaway = generateKeyPairSync('rsa', { modulusLength: 2048 });

/** v2: the library insists on v3 credentials too; a throwaway pair does for v2 calls. */
function v2Library() {
  const wxpay = new Wechatpay({
    mchid: DEMO.mchId,
    serial: 'UNUSED-MERCHANT-SERIAL',
    privateKey: throwaway.privateKey.export({ type: 'pkcs8', format: 'pem' }),
    certs: { 'UNUSED-PLATFORM-SERIAL': throwaway.publicKey.export({ type: 'spki', format: 'pem' }) },
    secret: DEMO.key,
    baseURL: `${ctx.sb.url}/`,
  } as ConstructorParameters<typeof Wechatpay>[0]) as unknown as {
    v2: { pay: { unifiedorder: Endpoint<Data>; orderquery: Endpoint<Data> } };
  };
  return wxpay.v2.pay;
}

function v3Library() {
  const wxpay = new Wechatpay({
    mchid: DEMO.mchId,
    serial: V3.mchCertSerial,
    privateKey: V3.mchPrivateKey,
    certs: { [V3.platformPublicKeyId]: V3.platformPublicKey },
    baseURL: `${ctx.sb.url}/`,
  } as ConstructorParameters<typeof Wechatpay>[0]) as unknown as {
    v3: { pay: { transactions: Record<'app' | 'h5' | 'native', Endpoint<Record<string, unknown>>> } };
  };
  return wxpay.v3.pay.transactions;
}

const key = Hash.keyObjectFrom(DEMO.key);
function v2Order(tradeType: string, extra: Record<string, string | number> = {}) {
  return {
    appid: tradeType === 'APP' ? APP.appId : DEMO.appId,
    mch_id: DEMO.mchId,
    body: `独立客户端 ${tradeType}`,
    out_trade_no: `FCH${Formatter.nonce(20)}`,
    total_fee: 1500,
    spbill_create_ip: '127.0.0.1',
    notify_url: ctx.receiver.url,
    trade_type: tradeType,
    ...extra,
  };
}

describe('wechatpay-axios-plugin: v2 unifiedorder APP / MWEB / NATIVE', () => {
  it('NATIVE: code_url, then scanning pays it and the notification verifies with the library', async () => {
    const pay = v2Library();
    const data = v2Order('NATIVE', { product_id: 'FID-1', sign_type: 'HMAC-SHA256' });
    const placed = await pay.unifiedorder.post(data);
    expect(placed.data).toMatchObject({ result_code: 'SUCCESS', trade_type: 'NATIVE' });
    expect(placed.data.code_url).toMatch(/^weixin:\/\/wxpay\/bizpayurl\?pr=\w{7,}$/);
    expect(libraryVerifies(placed.data)).toBe(true);
    const before = ctx.receiver.received.length;
    expect((await scanCode(ctx.sb, { url: placed.data.code_url })).status).toBe(200);
    const notification = await libraryReadsV2Notification(ctx.receiver, data.out_trade_no, before);
    expect(libraryVerifies(notification)).toBe(true);
    expect(notification).toMatchObject({ trade_type: 'NATIVE', total_fee: '1500' });
    const queried = await pay.orderquery.post({
      appid: DEMO.appId,
      mch_id: DEMO.mchId,
      out_trade_no: data.out_trade_no,
      sign_type: 'HMAC-SHA256',
    });
    expect(queried.data).toMatchObject({ trade_state: 'SUCCESS', trade_type: 'NATIVE' });
  });

  it('NATIVE without product_id: the library receives return_code FAIL', async () => {
    const err = (await v2Library()
      .unifiedorder.post(v2Order('NATIVE'))
      .then(
        () => undefined,
        (e: unknown) => e,
      )) as LibraryError | undefined;
    expect(err?.response?.data).toMatchObject({
      return_code: 'FAIL',
      return_msg: 'NATIVE支付必须传product_id',
    });
  });

  it('APP: prepay_id, then the OpenSDK sign computed by the library pays it', async () => {
    const pay = v2Library();
    const data = v2Order('APP');
    const placed = await pay.unifiedorder.post(data);
    expect(placed.data).toMatchObject({ result_code: 'SUCCESS', trade_type: 'APP', appid: APP.appId });
    expect(libraryVerifies(placed.data)).toBe(true);
    const params: Data = {
      appid: APP.appId,
      partnerid: DEMO.mchId,
      prepayid: placed.data.prepay_id as string,
      package: 'Sign=WXPay',
      noncestr: Formatter.nonce(),
      timestamp: `${Formatter.timestamp()}`,
    };
    params.sign = Hash.sign(Hash.ALGO_MD5, params, key);
    expect(await postJson(`${ctx.sb.url}/sandbox/app/pay`, params)).toEqual({
      status: 200,
      json: { errCode: 0, errStr: '' },
    });
  });

  it('MWEB: mweb_url opens the cashier', async () => {
    const scene = JSON.stringify({
      h5_info: { type: 'Wap', wap_url: 'http://127.0.0.1:3000/shop/', wap_name: '店' },
    });
    const placed = await v2Library().unifiedorder.post(v2Order('MWEB', { scene_info: scene }));
    expect(placed.data).toMatchObject({ result_code: 'SUCCESS', trade_type: 'MWEB' });
    expect(libraryVerifies(placed.data)).toBe(true);
    const page = await openCashier(placed.data.mweb_url as string);
    expect(page.html).toContain('id="sandbox-h5-amount">¥15.00<');
  });
});

describe('wechatpay-axios-plugin: v3 app / h5 / native', () => {
  const body = (appid: string, extra: Record<string, unknown> = {}) => ({
    appid,
    mchid: DEMO.mchId,
    description: '独立客户端 v3',
    out_trade_no: `FCV3${Formatter.nonce(20)}`,
    notify_url: ctx.receiver.url,
    amount: { total: 1700, currency: 'CNY' },
    ...extra,
  });

  it('app: the reply verifies, the library-made RSA sign pays, the notification decrypts as APP', async () => {
    const transactions = v3Library();
    const order = body(APP.appId);
    const placed = await transactions.app.post(order);
    expect(placed.status).toBe(200);
    const prepayid = String(placed.data.prepay_id);
    const timestamp = `${Formatter.timestamp()}`;
    const noncestr = Formatter.nonce();
    const sign = Rsa.sign(
      Formatter.joinedByLineFeed(APP.appId, timestamp, noncestr, prepayid),
      Rsa.from(V3.mchPrivateKey, Rsa.KEY_TYPE_PRIVATE),
    );
    ctx.receiver.reply = () => ({ status: 204, body: '' });
    const before = ctx.receiver.received.length;
    const paid = await postJson(`${ctx.sb.url}/sandbox/app/pay`, {
      appid: APP.appId,
      partnerid: DEMO.mchId,
      prepayid,
      package: 'Sign=WXPay',
      noncestr,
      timestamp,
      sign,
    });
    expect(paid.json).toEqual({ errCode: 0, errStr: '' });
    const received = await eventually(() =>
      ctx.receiver.received.slice(before).find((r) => r.body.startsWith('{')),
    );
    const { verified, tx } = libraryReadsV3Notification(received);
    expect(verified).toBe(true);
    expect(tx).toMatchObject({ out_trade_no: order.out_trade_no, trade_type: 'APP', trade_state: 'SUCCESS' });
  });

  it('h5: {h5_url} verified by the library; a missing payer_client_ip is a signed PARAM_ERROR', async () => {
    const transactions = v3Library();
    const placed = await transactions.h5.post(
      body(DEMO.appId, { scene_info: { payer_client_ip: '127.0.0.1', h5_info: { type: 'Wap' } } }),
    );
    expect(String(placed.data.h5_url)).toContain('/cgi-bin/mmpayweb-bin/checkmweb?prepay_id=wx');
    expect((await openCashier(String(placed.data.h5_url))).html).toContain('id="sandbox-h5-amount">¥17.00<');
    const err = (await transactions.h5
      .post(body(DEMO.appId, { scene_info: { h5_info: { type: 'Wap' } } }))
      .then(
        () => undefined,
        (e: unknown) => e,
      )) as LibraryError | undefined;
    expect(err?.response?.status).toBe(400);
    expect(err?.response?.data).toMatchObject({
      code: 'PARAM_ERROR',
      detail: { field: 'scene_info.payer_client_ip' },
    });
  });

  it('native: {code_url} verified by the library', async () => {
    const placed = await v3Library().native.post(body(DEMO.appId));
    expect(placed.status).toBe(200);
    expect(placed.data.code_url).toMatch(/^weixin:\/\/wxpay\/bizpayurl\?pr=\w{7,}$/);
  });
});

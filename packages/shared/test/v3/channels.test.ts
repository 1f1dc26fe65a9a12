import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  appPayMessageV3,
  appPayParamsV3,
  miniProgramPayParamsV3,
  parseAuthorizationV3,
  requestMessageV3,
  signV3,
  V3KeySet,
  verifyAppPayParamsV3,
  verifySignatureV3,
  WechatPayV3BadMessageError,
  WechatPayV3Client,
  WechatPayV3Error,
  type PrepayV3Request,
} from '../../src/v3/index.ts';
import { SANDBOX_DEMO_V3 as D } from '../../src/wechatpay/demo-v3.ts';
import { startFakeWechat, type Received } from '../fake-wechat.ts';
import { replyV3 } from './fake-v3.ts';
import { NEXT_PLATFORM } from './test-keys.ts';

/**
 * The APP, H5 and Native prepay calls of APIv3 (docs/protocol.md §9). The request values follow the examples of
 * WeChat's v3 API reference (appid wxd678efh567hg6787, mchid 1230000109, the QQ-doll description, payer IP
 * 14.23.150.211), and the bodies are compared with the documented JSON written out here, not with our builder.
 */
const MCHID = '1230000109';
const DOC_REQUEST: PrepayV3Request = {
  appid: 'wxd678efh567hg6787',
  description: 'Image形象店-深圳腾大-QQ公仔',
  outTradeNo: '1217752501201407033233368018',
  timeExpire: new Date('2018-06-08T10:34:56+08:00'),
  attach: '自定义数据说明',
  notifyUrl: 'https://www.weixin.qq.com/wxpay/pay.php',
  amountFen: 100,
};
const DOC_BODY = {
  appid: 'wxd678efh567hg6787',
  mchid: MCHID,
  description: 'Image形象店-深圳腾大-QQ公仔',
  out_trade_no: '1217752501201407033233368018',
  time_expire: '2018-06-08T10:34:56+08:00',
  attach: '自定义数据说明',
  notify_url: 'https://www.weixin.qq.com/wxpay/pay.php',
  amount: { total: 100, currency: 'CNY' },
};

let fake: Awaited<ReturnType<typeof startFakeWechat>>;
beforeAll(async () => {
  fake = await startFakeWechat();
});
afterAll(() => fake.close());
beforeEach(() => {
  fake.received.length = 0;
});

function client() {
  return new WechatPayV3Client({
    mchId: MCHID,
    serialNo: D.mchCertSerial,
    privateKey: D.mchPrivateKey,
    keys: new V3KeySet().addPublicKey(D.platformPublicKeyId, D.platformPublicKey),
    baseUrl: fake.url,
    timeoutMs: 2000,
  });
}

function sentTo(path: string): unknown {
  expect(fake.received).toHaveLength(1);
  const req = fake.received[0] as Received;
  expect(req.method).toBe('POST');
  expect(req.url).toBe(path);
  expect(req.headers['content-type']).toBe('application/json');
  const auth = parseAuthorizationV3(req.headers.authorization as string);
  const message = requestMessageV3({
    method: req.method,
    url: req.url,
    timestamp: auth.timestamp,
    nonce: auth.nonce,
    body: req.body,
  });
  expect(verifySignatureV3(message, auth.signature, D.mchPublicKey)).toBe(true);
  return JSON.parse(req.body);
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e,
  );
}

describe('WechatPayV3Client.appPrepay', () => {
  it('POSTs the documented body to /v3/pay/transactions/app (no payer) and returns the prepay_id', async () => {
    fake.setHandler((_req, res) => replyV3(res, 200, { prepay_id: 'wx26112221580621e9b071c00d9e093b0000' }));
    await expect(client().appPrepay(DOC_REQUEST)).resolves.toEqual({
      prepayId: 'wx26112221580621e9b071c00d9e093b0000',
    });
    expect(sentTo('/v3/pay/transactions/app')).toEqual(DOC_BODY);
  });

  it('a reply without prepay_id, or unsigned, is refused', async () => {
    fake.setHandler((_req, res) => replyV3(res, 200, { code_url: 'weixin://wxpay/bizpayurl?pr=x' }));
    const err = await rejection(client().appPrepay(DOC_REQUEST));
    expect(err).toBeInstanceOf(WechatPayV3BadMessageError);
    expect((err as Error).message).toMatch(/app reply lacks prepay_id/);
    fake.setHandler((_req, res) => replyV3(res, 200, { prepay_id: 'wx1' }, { unsigned: true }));
    await expect(client().appPrepay(DOC_REQUEST)).rejects.toMatchObject({ code: 'SIGNATURE' });
    fake.setHandler((_req, res) =>
      replyV3(res, 200, { prepay_id: 'wx1' }, { privateKey: NEXT_PLATFORM.privateKey }),
    );
    await expect(client().appPrepay(DOC_REQUEST)).rejects.toMatchObject({ code: 'SIGNATURE' });
  });

  it("maps WeChat's signed error replies", async () => {
    fake.setHandler((_req, res) =>
      replyV3(res, 400, { code: 'PARAM_ERROR', message: 'appid和mch_id不匹配' }),
    );
    const err = await rejection(client().appPrepay(DOC_REQUEST));
    expect(err).toBeInstanceOf(WechatPayV3Error);
    expect(err).toMatchObject({ code: 'PARAM_ERROR', httpStatus: 400, retryable: false });
  });
});

describe('WechatPayV3Client.h5Prepay', () => {
  it('adds scene_info.payer_client_ip and h5_info, and returns the h5_url', async () => {
    const h5Url =
      'https://wx.tenpay.com/cgi-bin/mmpayweb-bin/checkmweb?prepay_id=wx2916263004719461949c84457c735b0000&package=2150917749';
    fake.setHandler((_req, res) => replyV3(res, 200, { h5_url: h5Url }));
    await expect(
      client().h5Prepay({ ...DOC_REQUEST, payerClientIp: '14.23.150.211', h5Info: { type: 'Wap' } }),
    ).resolves.toEqual({ h5Url });
    expect(sentTo('/v3/pay/transactions/h5')).toEqual({
      ...DOC_BODY,
      scene_info: { payer_client_ip: '14.23.150.211', h5_info: { type: 'Wap' } },
    });
  });

  it('sends the app variants of h5_info with their snake_case names, and IPv6 addresses', async () => {
    fake.setHandler((_req, res) => replyV3(res, 200, { h5_url: 'https://wx.tenpay.com/x' }));
    await client().h5Prepay({
      ...DOC_REQUEST,
      payerClientIp: '2001:db8::1',
      h5Info: {
        type: 'iOS',
        appName: '王者荣耀',
        appUrl: 'https://pay.qq.com',
        bundleId: 'com.tencent.wzryiOS',
      },
    });
    expect(sentTo('/v3/pay/transactions/h5')).toMatchObject({
      scene_info: {
        payer_client_ip: '2001:db8::1',
        h5_info: {
          type: 'iOS',
          app_name: '王者荣耀',
          app_url: 'https://pay.qq.com',
          bundle_id: 'com.tencent.wzryiOS',
        },
      },
    });
  });

  it('refuses, before calling WeChat, a missing IP or h5_info type, and a reply without h5_url', async () => {
    for (const bad of [
      { payerClientIp: '', h5Info: { type: 'Wap' as const } },
      { payerClientIp: 'localhost', h5Info: { type: 'Wap' as const } },
      { payerClientIp: '1.2.3.4', h5Info: { type: 'WAP' as 'Wap' } },
    ]) {
      await expect(client().h5Prepay({ ...DOC_REQUEST, ...bad })).rejects.toThrow(TypeError);
    }
    expect(fake.received).toHaveLength(0);
    fake.setHandler((_req, res) => replyV3(res, 200, { prepay_id: 'wx1' }));
    const err = await rejection(
      client().h5Prepay({ ...DOC_REQUEST, payerClientIp: '1.2.3.4', h5Info: { type: 'Wap' } }),
    );
    expect(err).toBeInstanceOf(WechatPayV3BadMessageError);
    expect((err as Error).message).toMatch(/h5 reply lacks h5_url/);
  });
});

describe('WechatPayV3Client.nativePrepay', () => {
  it('POSTs to /v3/pay/transactions/native and returns the code_url', async () => {
    fake.setHandler((_req, res) => replyV3(res, 200, { code_url: 'weixin://wxpay/bizpayurl?pr=p4lpSuKzz' }));
    const { timeExpire: _t, attach: _a, ...minimal } = DOC_REQUEST;
    await expect(client().nativePrepay(minimal)).resolves.toEqual({
      codeUrl: 'weixin://wxpay/bizpayurl?pr=p4lpSuKzz',
    });
    const { time_expire: _te, attach: _at, ...body } = DOC_BODY;
    expect(sentTo('/v3/pay/transactions/native')).toEqual(body);
  });

  it('a reply without code_url is a bad message; bad requests never leave', async () => {
    fake.setHandler((_req, res) => replyV3(res, 200, {}));
    await expect(client().nativePrepay(DOC_REQUEST)).rejects.toBeInstanceOf(WechatPayV3BadMessageError);
    fake.received.length = 0;
    for (const bad of [
      { appid: '' },
      { description: '' },
      { outTradeNo: 'abc' },
      { notifyUrl: 'https://x/n?a=1' },
      { amountFen: 0 },
      { amountFen: 1.5 },
      { timeExpire: new Date('nope') },
      { attach: 'x'.repeat(129) },
    ]) {
      await expect(client().nativePrepay({ ...DOC_REQUEST, ...bad }), JSON.stringify(bad)).rejects.toThrow(
        /^nativePrepay: /,
      );
    }
    expect(fake.received).toHaveLength(0);
  });
});

describe('verifyAppPayParamsV3', () => {
  const good = appPayParamsV3({
    appId: 'wx0a990c0de5a4db02',
    partnerId: '1900000109',
    prepayId: 'wx26112221580621e9b071c00d9e093b0000',
    privateKey: D.mchPrivateKey,
    timestamp: 1_764_547_200,
    nonceStr: '5K8264ILTKCH16CQ2502SI8ZNMTM67VS',
  });

  it('accepts what appPayParamsV3 signs: RSA over appid\\ntimestamp\\nnoncestr\\nprepayid\\n', () => {
    expect(appPayMessageV3('a', '1', 'n', 'p')).toBe('a\n1\nn\np\n');
    const message =
      'wx0a990c0de5a4db02\n1764547200\n5K8264ILTKCH16CQ2502SI8ZNMTM67VS\nwx26112221580621e9b071c00d9e093b0000\n';
    expect(verifySignatureV3(message, good.sign, D.mchPublicKey)).toBe(true);
    expect(Object.keys(good)).toEqual([
      'appid',
      'partnerid',
      'prepayid',
      'package',
      'noncestr',
      'timestamp',
      'sign',
    ]);
    expect(verifyAppPayParamsV3(good, D.mchPublicKey)).toBeUndefined();
    expect(verifyAppPayParamsV3({ ...good, timestamp: 1_764_547_200 }, D.mchPublicKey)).toBeUndefined();
  });

  it('refuses tampering, another key, the mini-program package line, and the shape mistakes', () => {
    expect(verifyAppPayParamsV3({ ...good, prepayid: 'wx2' }, D.mchPublicKey)).toMatch(
      /^sign does not match/,
    );
    expect(verifyAppPayParamsV3(good, D.platformPublicKey)).toMatch(/^sign does not match/);
    expect(verifyAppPayParamsV3({ ...good, sign: 'not base64!' }, D.mchPublicKey)).toMatch(/base64/);
    const miniSign = signV3(
      `wx0a990c0de5a4db02\n1764547200\n5K8264ILTKCH16CQ2502SI8ZNMTM67VS\nprepay_id=${good.prepayid}\n`,
      D.mchPrivateKey,
    );
    expect(verifyAppPayParamsV3({ ...good, sign: miniSign }, D.mchPublicKey)).toMatch(/prepay_id=/);
    const mini = miniProgramPayParamsV3({
      appId: good.appid,
      prepayId: good.prepayid,
      privateKey: D.mchPrivateKey,
    });
    expect(verifyAppPayParamsV3(mini, D.mchPublicKey)).toMatch(
      /nonceStr is not a PayReq field|timeStamp is not a PayReq field/,
    );
    expect(verifyAppPayParamsV3({ ...good, package: 'prepay_id=x' }, D.mchPublicKey)).toMatch(/Sign=WXPay/);
    expect(verifyAppPayParamsV3({ ...good, timestamp: '1764547200000' }, D.mchPublicKey)).toMatch(
      /milliseconds/,
    );
    const { partnerid: _p, ...noPartner } = good;
    expect(verifyAppPayParamsV3(noPartner, D.mchPublicKey)).toBe('partnerid is missing or empty');
  });
});

/**
 * Refund fidelity with an independent client: wechatpay-axios-plugin (an SDK used against the live service)
 * performs the v2 refund over mutual TLS with the demo client certificate (its `merchant: {pfx, passphrase}` →
 * https.Agent, switched on per request by `security: true`), decrypts the refund notification with its own
 * AesEcb and md5, and in APIv3 mode creates and queries a refund, verifying every reply's signature itself.
 * Its AES-256-ECB and ours must read each other's req_info.
 */
import { generateKeyPairSync } from 'node:crypto';
import { Agent } from 'node:https';
import { describe, expect, it } from 'vitest';
import { Aes, Formatter, Hash, Transformer, Wechatpay } from 'wechatpay-axios-plugin';
import {
  decryptRefundNotification,
  encryptRefundNotification,
  SANDBOX_DEMO_TLS,
} from '@mp-pay/shared/wechatpay';
import { DEMO, eventually, useSandboxAndReceiver } from './helpers.ts';
import { paidOrder } from './refund-helpers.ts';
import { payV3, placeV3, V3 } from './v3-helpers.ts';

type Data = Record<string, string>;
interface Endpoint {
  get(config?: Record<string, unknown>): Promise<{ status: number; data: Record<string, unknown> }>;
  post(
    data?: unknown,
    config?: Record<string, unknown>,
  ): Promise<{ status: number; data: Data & Record<string, unknown> }>;
}
interface Client {
  v2: { secapi: { pay: { refund: Endpoint } }; pay: { refundquery: Endpoint } };
  v3: { refund: { domestic: { refunds: Endpoint & { _out_refund_no_: Endpoint } } } };
}

const ctx = useSandboxAndReceiver();
const throwaway = generateKeyPairSync('rsa', { modulusLength: 2048 });

/** The library's AES key for req_info: its own md5 (lowercase hex) of the APIv2 key. */
const libraryKey = (apiKey: string) => Hash.md5(apiKey);

function library(v3 = false): Client {
  return new Wechatpay({
    mchid: DEMO.mchId,
    serial: v3 ? V3.mchCertSerial : 'UNUSED-MERCHANT-SERIAL',
    privateKey: v3 ? V3.mchPrivateKey : throwaway.privateKey.export({ type: 'pkcs8', format: 'pem' }),
    certs: v3
      ? { [V3.platformPublicKeyId]: V3.platformPublicKey }
      : { 'UNUSED-PLATFORM-SERIAL': throwaway.publicKey.export({ type: 'spki', format: 'pem' }) },
    secret: DEMO.key,
    // The apiclient_cert.p12 as WeChat ships it (passphrase = mch_id), plus the sandbox's demo CA as trust root.
    merchant: {
      pfx: Buffer.from(SANDBOX_DEMO_TLS.clientP12Base64, 'base64'),
      passphrase: SANDBOX_DEMO_TLS.passphrase,
      ca: SANDBOX_DEMO_TLS.caCert,
    },
    baseURL: `${ctx.sb.url}/`,
  } as ConstructorParameters<typeof Wechatpay>[0]) as unknown as Client;
}

describe('wechatpay-axios-plugin against the sandbox refunds', () => {
  it('AES-256-ECB req_info: the library reads ours, we read the library’s', () => {
    const map = {
      out_refund_no: 'R1',
      refund_status: 'SUCCESS',
      refund_fee: '1',
      refund_recv_accout: '支付用户零钱',
    };
    const ours = encryptRefundNotification(map, DEMO.key);
    const plain = Aes.AesEcb.decrypt(ours, libraryKey(DEMO.key));
    expect(Transformer.toObject(plain.replace(/^<root>/, '<xml>').replace(/<\/root>$/, '</xml>'))).toEqual(
      map,
    );
    const theirs = Aes.AesEcb.encrypt(
      `<root>${Transformer.toXml(map).replace(/^<xml>|<\/xml>$/g, '')}</root>`,
      libraryKey(DEMO.key),
    );
    expect(decryptRefundNotification(theirs, DEMO.key)).toEqual(map);
  });

  it('v2: refunds over mutual TLS with the .p12, queries, and decrypts the refund notification', async () => {
    const order = await paidOrder(ctx.sb, ctx.receiver.url);
    const wxpay = library();
    const outRefundNo = `FIDR${Formatter.nonce(16)}`;
    const { data } = await wxpay.v2.secapi.pay.refund.post(
      {
        appid: DEMO.appId,
        mch_id: DEMO.mchId,
        out_trade_no: order.outTradeNo,
        out_refund_no: outRefundNo,
        total_fee: order.totalFee,
        refund_fee: 234,
        notify_url: ctx.receiver.url,
      },
      { baseURL: `${ctx.sb.tlsUrl}/`, security: true },
    );
    // The library verified the reply's signature itself (it throws otherwise).
    expect(data).toMatchObject({
      return_code: 'SUCCESS',
      result_code: 'SUCCESS',
      out_refund_no: outRefundNo,
      refund_fee: '234',
    });

    // Without `security` (no client certificate) the TLS handshake fails, as at WeChat.
    await expect(
      wxpay.v2.secapi.pay.refund.post(
        {
          appid: DEMO.appId,
          mch_id: DEMO.mchId,
          out_trade_no: order.outTradeNo,
          out_refund_no: `${outRefundNo}X`,
          total_fee: order.totalFee,
          refund_fee: 1,
        },
        { baseURL: `${ctx.sb.tlsUrl}/`, httpsAgent: new Agent({ ca: SANDBOX_DEMO_TLS.caCert }) },
      ),
    ).rejects.toThrow();

    const notification = await eventually(() =>
      ctx.receiver.received
        .map((r) => Transformer.toObject(r.body) as Data)
        .find((m) => m.req_info !== undefined),
    );
    const plain = Aes.AesEcb.decrypt(notification.req_info ?? '', libraryKey(DEMO.key));
    const inner = Transformer.toObject(
      plain.replace(/^<root>/, '<xml>').replace(/<\/root>$/, '</xml>'),
    ) as Data;
    expect(inner).toMatchObject({
      out_refund_no: outRefundNo,
      out_trade_no: order.outTradeNo,
      refund_id: data.refund_id,
      refund_fee: '234',
      refund_status: 'SUCCESS',
    });

    const { data: query } = await wxpay.v2.pay.refundquery.post({
      appid: DEMO.appId,
      mch_id: DEMO.mchId,
      out_refund_no: outRefundNo,
    });
    expect(query).toMatchObject({ result_code: 'SUCCESS', refund_count: '1', refund_status_0: 'SUCCESS' });
  });

  it('v3: creates and queries a refund, the library signing and verifying', async () => {
    const order = await placeV3(ctx.sb, 'http://127.0.0.1:9/unused');
    expect((await payV3(ctx.sb, order.prepayId)).json.errMsg).toBe('requestPayment:ok');
    const wxpay = library(true);
    const outRefundNo = `FIDV3R${Formatter.nonce(16)}`;
    const created = await wxpay.v3.refund.domestic.refunds.post({
      out_trade_no: order.outTradeNo,
      out_refund_no: outRefundNo,
      reason: '独立客户端退款',
      amount: { refund: 999, total: 1999, currency: 'CNY' },
    });
    expect(created.status).toBe(200);
    expect(created.data).toMatchObject({
      out_refund_no: outRefundNo,
      status: 'PROCESSING',
      amount: { refund: 999 },
    });
    const queried = await eventually(async () => {
      const res = await wxpay.v3.refund.domestic.refunds._out_refund_no_.get({ out_refund_no: outRefundNo });
      return res.data.status === 'SUCCESS' ? res : undefined;
    });
    expect(queried.data).toMatchObject({ refund_id: created.data.refund_id, out_trade_no: order.outTradeNo });
  });
});

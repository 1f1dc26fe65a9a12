/**
 * APIv3 fidelity with an independent client: wechatpay-axios-plugin (an SDK used against the live service)
 * signs every request itself and verifies every reply's Wechatpay-Signature with the key its `certs` name,
 * throwing otherwise; notifications are verified and decrypted with its own Rsa and Aes. Nothing here goes
 * through @mp-pay/shared's v3 code, so a shared bug cannot hide behind both sides agreeing.
 */
import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Aes, Formatter, Rsa } from 'wechatpay-axios-plugin';
import type { RunningSandbox } from '../src/index.ts';
import { DEMO, eventually, loginCode, postJson, sandbox, useSandboxAndReceiver } from './helpers.ts';
import {
  libraryFailure as failure,
  libraryReadsV3Notification,
  libraryV3,
  type LibraryEndpoint,
} from './channel-helpers.ts';
import { V3 } from './v3-helpers.ts';

/** The chained client's shape, for the paths used here. */
interface V3Client {
  v3: {
    pay: {
      transactions: {
        jsapi: LibraryEndpoint;
        outTradeNo: { _out_trade_no_: LibraryEndpoint & { close: LibraryEndpoint } };
        id: { _transaction_id_: LibraryEndpoint };
      };
    };
    certificates: LibraryEndpoint;
  };
}

const ctx = useSandboxAndReceiver();

function library(
  sb: RunningSandbox,
  options: { privateKey?: string; certs?: Record<string, string> } = {},
): V3Client['v3'] {
  return libraryV3<V3Client['v3']>(sb, options);
}

async function order(v3: V3Client['v3'], extra: Record<string, unknown> = {}) {
  const { openid } = await loginCode(ctx.sb, 'fidelity-v3');
  const body = {
    appid: DEMO.appId,
    mchid: DEMO.mchId,
    description: '独立客户端 v3 测试',
    out_trade_no: `FIDV3${Formatter.nonce(20)}`,
    notify_url: ctx.receiver.url,
    amount: { total: 2345, currency: 'CNY' },
    payer: { openid },
    attach: 'fidelity & "quotes"',
    ...extra,
  };
  const placed = await v3.pay.transactions.jsapi.post(body);
  return { body, openid, prepayId: String(placed.data.prepay_id), placed };
}

describe('wechatpay-axios-plugin (APIv3) against the sandbox', () => {
  it('jsapi → paySign → notification → query both ways → close refused, all verified by the library', async () => {
    const v3 = library(ctx.sb);
    const { body, openid, prepayId, placed } = await order(v3);
    expect(placed.status).toBe(200);
    expect(placed.headers['wechatpay-serial']).toBe(V3.platformPublicKeyId);
    expect(prepayId).toMatch(/^wx/);

    // paySign as the library's README computes it for wx.requestPayment (v3).
    const params: Record<string, string> = {
      appId: DEMO.appId,
      timeStamp: `${Formatter.timestamp()}`,
      nonceStr: Formatter.nonce(),
      package: `prepay_id=${prepayId}`,
      signType: 'RSA',
    };
    params.paySign = Rsa.sign(
      Formatter.joinedByLineFeed(
        params.appId ?? '',
        params.timeStamp ?? '',
        params.nonceStr ?? '',
        params.package ?? '',
      ),
      Rsa.from(V3.mchPrivateKey, Rsa.KEY_TYPE_PRIVATE),
    );
    ctx.receiver.reply = () => ({ status: 204, body: '' });
    const before = ctx.receiver.received.length;
    expect(await postJson(`${ctx.sb.url}/sandbox/pay`, params)).toEqual({
      status: 200,
      json: { errMsg: 'requestPayment:ok' },
    });

    // The notification, verified and decrypted with the library's primitives.
    const received = await eventually(() => ctx.receiver.received[before]);
    const { verified, serial, envelope, tx } = libraryReadsV3Notification(received);
    expect(serial).toBe(V3.platformPublicKeyId);
    expect(verified).toBe(true);
    expect(envelope.event_type).toBe('TRANSACTION.SUCCESS');
    expect(tx).toMatchObject({
      appid: DEMO.appId,
      mchid: DEMO.mchId,
      out_trade_no: body.out_trade_no,
      trade_state: 'SUCCESS',
      attach: body.attach,
      payer: { openid },
      amount: { total: 2345, payer_total: 2345 },
    });

    const byNo = await v3.pay.transactions.outTradeNo._out_trade_no_.get({
      params: { mchid: DEMO.mchId },
      out_trade_no: body.out_trade_no,
    });
    expect(byNo.data).toEqual(tx);
    const byId = await v3.pay.transactions.id._transaction_id_.get({
      params: { mchid: DEMO.mchId },
      transaction_id: tx.transaction_id,
    });
    expect(byId.data).toEqual(tx);

    const closed = await failure(
      v3.pay.transactions.outTradeNo._out_trade_no_.close.post(
        { mchid: DEMO.mchId },
        { out_trade_no: body.out_trade_no },
      ),
    );
    expect(closed.response?.status).toBe(403);
    expect(closed.response?.data).toMatchObject({ code: 'ORDER_PAID' });
  });

  it('closes an unpaid order: 204 with a verified empty body', async () => {
    const v3 = library(ctx.sb);
    const { body } = await order(v3);
    const closed = await v3.pay.transactions.outTradeNo._out_trade_no_.close.post(
      { mchid: DEMO.mchId },
      { out_trade_no: body.out_trade_no },
    );
    expect(closed.status).toBe(204);
    const queried = await v3.pay.transactions.outTradeNo._out_trade_no_.get({
      params: { mchid: DEMO.mchId },
      out_trade_no: body.out_trade_no,
    });
    expect(queried.data).toMatchObject({ trade_state: 'CLOSED' });
  });

  it('gets the documented errors back, with the library reading them', async () => {
    const v3 = library(ctx.sb);
    const { body } = await order(v3);
    const used = await failure(v3.pay.transactions.jsapi.post({ ...body, amount: { total: 1 } }));
    expect(used.response).toMatchObject({ status: 403, data: { code: 'OUT_TRADE_NO_USED' } });
    const param = await failure(v3.pay.transactions.jsapi.post({ ...body, out_trade_no: 'X' }));
    expect(param.response).toMatchObject({ status: 400, data: { code: 'PARAM_ERROR' } });
    const missing = await failure(
      v3.pay.transactions.outTradeNo._out_trade_no_.get({
        params: { mchid: DEMO.mchId },
        out_trade_no: 'NOSUCH1',
      }),
    );
    expect(missing.response).toMatchObject({ status: 404, data: { code: 'ORDER_NOT_EXIST' } });

    const wrongKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({
      type: 'pkcs8',
      format: 'pem',
    }) as string;
    const signed = await failure(
      library(ctx.sb, { privateKey: wrongKey }).pay.transactions.outTradeNo._out_trade_no_.get({
        params: { mchid: DEMO.mchId },
        out_trade_no: body.out_trade_no,
      }),
    );
    expect(signed.response).toMatchObject({ status: 401, data: { code: 'SIGN_ERROR' } });
  });

  it("verifies for real: a wrong platform key or an unconfigured serial fails the library's check", async () => {
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({
      type: 'spki',
      format: 'pem',
    }) as string;
    const { openid } = await loginCode(ctx.sb, 'fidelity-v3');
    const body = {
      appid: DEMO.appId,
      mchid: DEMO.mchId,
      description: 'x',
      out_trade_no: `FIDV3${Formatter.nonce(20)}`,
      notify_url: ctx.receiver.url,
      amount: { total: 1 },
      payer: { openid },
    };
    const wrong = await failure(
      library(ctx.sb, { certs: { [V3.platformPublicKeyId]: other } }).pay.transactions.jsapi.post(body),
    );
    expect(wrong.code).toBe('EV3_RES_HEADER_SIGNATURE_DIGEST');
    // The order exists now (the reply was refused, not the request): the same body again is a 200, signed
    // under the public key id, which this client does not hold.
    const unknown = await failure(
      library(ctx.sb, {
        certs: { [V3.platformCertSerial]: V3.platformPublicKey },
      }).pay.transactions.jsapi.post(body),
    );
    expect(unknown.code).toBe('EV3_RES_HEADER_PLATFORM_SERIAL');
  });

  it('downloads the platform certificate in certificate mode and decrypts it with its own AES', async () => {
    const sb = await sandbox({ v3KeyMode: 'certificate' });
    try {
      const v3 = library(sb, { certs: { [V3.platformCertSerial]: V3.platformCertificate } });
      const res = await v3.certificates.get();
      const [entry] = res.data.data as Array<{
        serial_no: string;
        encrypt_certificate: { ciphertext: string; nonce: string; associated_data: string };
      }>;
      expect(entry?.serial_no).toBe(V3.platformCertSerial);
      const { ciphertext, nonce, associated_data } = entry?.encrypt_certificate ?? {
        ciphertext: '',
        nonce: '',
        associated_data: '',
      };
      expect(Aes.AesGcm.decrypt(ciphertext, V3.apiV3Key, nonce, associated_data)).toBe(
        V3.platformCertificate,
      );

      const publicKeyOnly = await failure(library(ctx.sb).certificates.get());
      expect(publicKeyOnly.response).toMatchObject({ status: 404, data: { code: 'RESOURCE_NOT_EXISTS' } });
    } finally {
      await sb.close();
    }
  });
});

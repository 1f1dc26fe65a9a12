import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  parseXml,
  verifyV2,
  WechatPayError,
  WechatPayInvalidRequestError,
  WechatPayNotEnoughFundsError,
  WechatPayOrderNotExistError,
  WechatPayRefundNotExistError,
  WechatPaySystemError,
  WechatPayUserAccountError,
  WechatPayV2Client,
} from '../src/wechatpay/index.ts';
import { signedV2Reply, startFakeWechat, type Received } from './fake-wechat.ts';
import { makeTlsFixtures, mutualTlsServerOptions, type TlsFixtures } from './tls-fixtures.ts';

/**
 * Refunds against our own little stand-in for WeChat's /secapi/ host: HTTPS that requires a client certificate
 * from the merchant CA, replies signed with the APIv2 key (the sandbox learns refunds in a later issue).
 */
const KEY = 'r'.repeat(16) + 'K'.repeat(16);
const APPID = 'wx0123456789abcdef';
const OTHER_APPID = 'wxfedcba9876543210';
const MCHID = '1900000109';

let tls: TlsFixtures;
let fake: Awaited<ReturnType<typeof startFakeWechat>>;
beforeAll(async () => {
  tls = makeTlsFixtures(MCHID);
  fake = await startFakeWechat(mutualTlsServerOptions(tls));
});
afterAll(async () => {
  await fake.close();
  tls.cleanup();
});
beforeEach(() => {
  fake.received.length = 0;
});

function client(extra: Partial<ConstructorParameters<typeof WechatPayV2Client>[0]> = {}) {
  return new WechatPayV2Client({
    appId: APPID,
    mchId: MCHID,
    key: KEY,
    baseUrl: fake.url,
    timeoutMs: 2000,
    // WeChat's p12 as downloaded: the passphrase defaults to the mch_id.
    clientCertificate: { pfx: tls.clientP12 },
    ca: tls.caPem,
    ...extra,
  });
}

const signedReply = (req: Received, fields: Record<string, string>) =>
  signedV2Reply(req, fields, { key: KEY, mchId: MCHID });

const REFUND = {
  outTradeNo: '20261125140000abcdefghijklmnopqr',
  outRefundNo: 'R20261126-0001',
  totalFee: 2990,
  refundFee: 1000,
};

describe('WechatPayV2Client.refund', () => {
  it('posts a signed refund over mutual TLS and returns the typed acceptance', async () => {
    fake.setHandler((req, res) =>
      res.end(
        signedReply(req, {
          out_trade_no: REFUND.outTradeNo,
          out_refund_no: REFUND.outRefundNo,
          transaction_id: '4200000001202611250000000001',
          refund_id: '50000000012026112600000000001',
          refund_fee: '1000',
          settlement_refund_fee: '1000',
          total_fee: '2990',
          cash_fee: '2990',
          cash_refund_fee: '1000',
        }),
      ),
    );
    const result = await client({ signType: 'HMAC-SHA256' }).refund({
      ...REFUND,
      refundDesc: '部分退款',
      notifyUrl: 'https://shop.example.com/wechatpay/refund-notify',
    });
    expect(result).toMatchObject({
      outRefundNo: REFUND.outRefundNo,
      refundId: '50000000012026112600000000001',
      outTradeNo: REFUND.outTradeNo,
      transactionId: '4200000001202611250000000001',
      refundFee: 1000,
      totalFee: 2990,
      cashFee: 2990,
      settlementRefundFee: 1000,
      cashRefundFee: 1000,
    });

    const sent = fake.received[0]!;
    expect(sent.url).toBe('/secapi/pay/refund');
    expect(sent.clientCertCn).toBe(MCHID);
    const request = parseXml(sent.body);
    expect(verifyV2(request, KEY)).toBe(true);
    expect(request).toMatchObject({
      appid: APPID,
      mch_id: MCHID,
      sign_type: 'HMAC-SHA256',
      out_trade_no: REFUND.outTradeNo,
      out_refund_no: REFUND.outRefundNo,
      total_fee: '2990',
      refund_fee: '1000',
      refund_desc: '部分退款',
      notify_url: 'https://shop.example.com/wechatpay/refund-notify',
    });
  });

  it('refunds by transaction_id, for the appid the trade was placed with', async () => {
    fake.setHandler((req, res) => res.end(signedReply(req, { refund_id: 'R1', refund_fee: '1' })));
    await client().refund({
      transactionId: '4200000001202611250000000001',
      outRefundNo: 'R2',
      totalFee: 1,
      refundFee: 1,
      appId: OTHER_APPID,
    });
    const request = parseXml(fake.received[0]!.body);
    expect(request).toMatchObject({ appid: OTHER_APPID, transaction_id: '4200000001202611250000000001' });
    expect(request.out_trade_no).toBeUndefined();
  });

  it('refuses, before any network call, without a client certificate or with bad amounts', async () => {
    const noCert = client({ clientCertificate: undefined });
    await expect(noCert.refund(REFUND)).rejects.toThrow(TypeError);
    await expect(noCert.refund(REFUND)).rejects.toThrow(/client certificate/);
    await expect(client().refund({ ...REFUND, refundFee: 3000 })).rejects.toThrow(RangeError);
    await expect(client().refund({ ...REFUND, refundFee: 0 })).rejects.toThrow(RangeError);
    await expect(client().refund({ ...REFUND, totalFee: 29.9 })).rejects.toThrow(RangeError);
    await expect(client().refund({ ...REFUND, outRefundNo: 'bad no' })).rejects.toThrow(RangeError);
    expect(fake.received).toHaveLength(0);
  });

  it('fails construction on a wrong certificate passphrase, without echoing it', () => {
    expect(() => client({ clientCertificate: { pfx: tls.clientP12, passphrase: 'hunter2' } })).toThrow(
      /wrong passphrase/,
    );
  });

  it.each<[string, new (...args: never[]) => WechatPayError, boolean]>([
    ['NOTENOUGH', WechatPayNotEnoughFundsError, false],
    ['USER_ACCOUNT_ABNORMAL', WechatPayUserAccountError, false],
    ['SYSTEMERROR', WechatPaySystemError, true],
    ['BIZERR_NEED_RETRY', WechatPaySystemError, true],
    ['FREQUENCY_LIMITED', WechatPaySystemError, true],
    ['ORDERNOTEXIST', WechatPayOrderNotExistError, false],
    ['TRADE_OVERDUE', WechatPayInvalidRequestError, false],
    ['INVALID_REQ_TOO_MUCH', WechatPayInvalidRequestError, false],
  ])('maps %s to its class', async (code, cls, retryable) => {
    fake.setHandler((req, res) =>
      res.end(signedReply(req, { result_code: 'FAIL', err_code: code, err_code_des: `${code} 描述` })),
    );
    const error = (await client()
      .refund(REFUND)
      .catch((e: unknown) => e)) as WechatPayError;
    expect(error).toBeInstanceOf(cls);
    expect(error).toMatchObject({ code, retryable, httpStatus: 200 });
    expect(error.rawBody).toContain(code);
    expect(error.rawBody).not.toContain(KEY);
  });

  it('rejects an accepted refund without refund_id', async () => {
    fake.setHandler((req, res) => res.end(signedReply(req, { refund_fee: '1000' })));
    await expect(client().refund(REFUND)).rejects.toMatchObject({ code: 'BAD_REPLY' });
  });
});

describe('WechatPayV2Client.refundQuery', () => {
  it('parses every refund_*_$n of the reply', async () => {
    fake.setHandler((req, res) =>
      res.end(
        signedReply(req, {
          out_trade_no: REFUND.outTradeNo,
          transaction_id: '4200000001202611250000000001',
          total_fee: '2990',
          cash_fee: '2990',
          refund_count: '2',
          total_refund_count: '2',
          out_refund_no_0: 'R-A',
          refund_id_0: '5001',
          refund_fee_0: '1000',
          refund_status_0: 'SUCCESS',
          refund_success_time_0: '2026-11-26 10:00:00',
          refund_recv_accout_0: '支付用户的零钱',
          out_refund_no_1: 'R-B',
          refund_id_1: '5002',
          refund_fee_1: '500',
          refund_status_1: 'PROCESSING',
        }),
      ),
    );
    const result = await client().refundQuery({ outRefundNo: 'R-A', appId: OTHER_APPID });
    expect(result).toMatchObject({
      outTradeNo: REFUND.outTradeNo,
      transactionId: '4200000001202611250000000001',
      totalFee: 2990,
      refundCount: 2,
      totalRefundCount: 2,
    });
    expect(result.refunds).toEqual([
      {
        outRefundNo: 'R-A',
        refundId: '5001',
        refundFee: 1000,
        status: 'SUCCESS',
        successTime: '2026-11-26 10:00:00',
        recvAccount: '支付用户的零钱',
      },
      {
        outRefundNo: 'R-B',
        refundId: '5002',
        refundFee: 500,
        status: 'PROCESSING',
        successTime: undefined,
        recvAccount: undefined,
      },
    ]);
    const sent = fake.received[0]!;
    expect(sent.url).toBe('/pay/refundquery');
    expect(parseXml(sent.body)).toMatchObject({ appid: OTHER_APPID, out_refund_no: 'R-A' });
  });

  it.each<[object, Record<string, string>]>([
    [{ refundId: '5001', outRefundNo: 'ignored' }, { refund_id: '5001' }],
    [{ transactionId: '42' }, { transaction_id: '42' }],
    [
      { outTradeNo: 'T1', offset: 10 },
      { out_trade_no: 'T1', offset: '10' },
    ],
  ])('queries by %j', async (ref, expected) => {
    fake.setHandler((req, res) => res.end(signedReply(req, { refund_count: '0' })));
    await client().refundQuery(ref as Parameters<WechatPayV2Client['refundQuery']>[0]);
    const sent = parseXml(fake.received[0]!.body);
    expect(sent).toMatchObject(expected);
    for (const field of ['refund_id', 'out_refund_no', 'transaction_id', 'out_trade_no']) {
      if (!(field in expected)) expect(sent[field]).toBeUndefined();
    }
  });

  it('maps REFUNDNOTEXIST and refuses broken replies', async () => {
    fake.setHandler((req, res) =>
      res.end(
        signedReply(req, {
          result_code: 'FAIL',
          err_code: 'REFUNDNOTEXIST',
          err_code_des: '退款订单查询失败',
        }),
      ),
    );
    await expect(client().refundQuery({ outRefundNo: 'nope' })).rejects.toBeInstanceOf(
      WechatPayRefundNotExistError,
    );

    const broken: Record<string, string>[] = [
      { refund_count: 'x' },
      {
        refund_count: '1',
        out_refund_no_0: 'R',
        refund_id_0: '1',
        refund_fee_0: '1',
        refund_status_0: 'WEIRD',
      },
      { refund_count: '1', out_refund_no_0: 'R', refund_fee_0: '1', refund_status_0: 'SUCCESS' },
      {
        refund_count: '1',
        out_refund_no_0: 'R',
        refund_id_0: '1',
        refund_fee_0: '1.5',
        refund_status_0: 'SUCCESS',
      },
      { refund_count: '999' },
    ];
    for (const fields of broken) {
      fake.setHandler((req, res) => res.end(signedReply(req, fields)));
      await expect(client().refundQuery({ outRefundNo: 'R' }), JSON.stringify(fields)).rejects.toBeInstanceOf(
        WechatPayError,
      );
    }
  });
});

import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { billSha1, formatBill } from '../src/bills/index.ts';
import { buildXml, parseXml, verifyV2, WechatPayError, WechatPayV2Client } from '../src/v2/index.ts';
import {
  parseAuthorizationV3,
  requestMessageV3,
  V3KeySet,
  verifySignatureV3,
  WechatPayV3Client,
  WechatPayV3Error,
} from '../src/v3/index.ts';
import { SANDBOX_DEMO_V3 as D } from '../src/wechatpay/demo-v3.ts';
import { startFakeWechat } from './fake-wechat.ts';
import { replyV3 } from './v3/fake-v3.ts';

/**
 * The bill calls of both clients against a stand-in WeChat on port 0: what is sent (signed as every call), how
 * the bytes come back (raw, gzip untouched), and how each documented failure maps to a typed code. The sandbox
 * suite (apps/sandbox/test/bills.test.ts) runs the same clients against the sandbox's bills.
 */
const KEY = '192006250b4c09247ec02edce69f6a2d';
const MCHID = '1900000109';
const APPID = 'wxd930ea5d5a258f4f';
let fake: Awaited<ReturnType<typeof startFakeWechat>>;
beforeAll(async () => {
  fake = await startFakeWechat();
});
afterAll(() => fake.close());

const BILL = formatBill([], { type: 'ALL' });

function v2(options: { timeoutMs?: number } = {}) {
  return new WechatPayV2Client({ appId: APPID, mchId: MCHID, key: KEY, baseUrl: fake.url, ...options });
}
function v3() {
  return new WechatPayV3Client({
    mchId: MCHID,
    serialNo: D.mchCertSerial,
    privateKey: D.mchPrivateKey,
    keys: new V3KeySet().addPublicKey(D.platformPublicKeyId, D.platformPublicKey),
    baseUrl: fake.url,
    timeoutMs: 2000,
  });
}

async function rejection<T>(promise: Promise<unknown>): Promise<T> {
  return (await promise.then(
    () => {
      throw new Error('expected a failure');
    },
    (err: unknown) => err,
  )) as T;
}

describe('WechatPayV2Client.downloadBill', () => {
  it('posts a signed request and returns the bytes as received, plain or gzip', async () => {
    const gz = gzipSync(Buffer.from(BILL));
    fake.setHandler((req, res) => {
      const fields = parseXml(req.body);
      res.end(fields.tar_type === 'GZIP' ? gz : BILL);
    });
    expect((await v2().downloadBill({ billDate: '20261130', billType: 'ALL' })).toString('utf8')).toBe(BILL);
    const sent = parseXml(fake.received.at(-1)?.body ?? '');
    expect(fake.received.at(-1)?.url).toBe('/pay/downloadbill');
    expect(sent).toMatchObject({ appid: APPID, mch_id: MCHID, bill_date: '20261130', bill_type: 'ALL' });
    expect(sent.tar_type).toBeUndefined();
    expect(verifyV2(sent, KEY)).toBe(true);
    const zipped = await v2().downloadBill({ billDate: '20261130', billType: 'REFUND', tarType: 'GZIP' });
    expect(zipped.equals(gz)).toBe(true);
    expect(parseXml(fake.received.at(-1)?.body ?? '')).toMatchObject({
      bill_type: 'REFUND',
      tar_type: 'GZIP',
    });
  });

  it('maps each documented XML failure to a typed code', async () => {
    const cases: [Record<string, string>, string, boolean][] = [
      [{ return_msg: 'No Bill Exist', error_code: '20002' }, 'NO_BILL', false],
      [{ return_msg: 'Bill Creating' }, 'BILL_CREATING', true],
      [{ return_msg: 'invalid bill_type', error_code: '20001' }, 'INVALID_BILL_TYPE', false],
      [{ return_msg: 'data format error' }, 'DATA_FORMAT_ERROR', false],
      [{ return_msg: 'missing parameter' }, 'MISSING_PARAMETER', false],
      [{ return_msg: 'SIGN ERROR' }, 'SIGN_ERROR', false],
      [{ return_msg: 'invalid bill_date', error_code: '20001' }, 'INVALID_BILL_DATE', false],
      [{ return_msg: 'something new' }, 'FAIL', false],
    ];
    for (const [fields, code, retryable] of cases) {
      const xml = buildXml({ return_code: 'FAIL', ...fields });
      fake.setHandler((_req, res) => res.end(xml));
      const err = await rejection<WechatPayError>(
        v2().downloadBill({ billDate: '20261130', billType: 'ALL' }),
      );
      expect(err, code).toBeInstanceOf(WechatPayError);
      expect(err, code).toMatchObject({ code, retryable });
      expect(err.raw?.return_msg).toBe(fields.return_msg);
    }
  });

  it('refuses bad arguments before sending, and reports HTTP errors, oversize and timeouts', async () => {
    const before = fake.received.length;
    await expect(v2().downloadBill({ billDate: '2026-11-30', billType: 'ALL' })).rejects.toThrow(TypeError);
    await expect(v2().downloadBill({ billDate: '20260230', billType: 'ALL' })).rejects.toThrow(TypeError);
    await expect(v2().downloadBill({ billDate: '20261130', billType: 'WEEKLY' as 'ALL' })).rejects.toThrow(
      TypeError,
    );
    expect(fake.received.length).toBe(before);

    fake.setHandler((_req, res) => {
      res.statusCode = 502;
      res.end('bad gateway');
    });
    expect(await rejection(v2().downloadBill({ billDate: '20261130', billType: 'ALL' }))).toMatchObject({
      code: 'HTTP_502',
      retryable: true,
    });
    fake.setHandler((_req, res) => res.end(Buffer.alloc(4096, 0x61)));
    expect(
      await rejection(v2().downloadBill({ billDate: '20261130', billType: 'ALL' }, { maxBytes: 1024 })),
    ).toMatchObject({ code: 'TOO_LARGE' });
    fake.setHandler(() => undefined);
    expect(
      await rejection(v2({ timeoutMs: 100 }).downloadBill({ billDate: '20261130', billType: 'ALL' })),
    ).toMatchObject({ code: 'TIMEOUT', retryable: true });
  });
});

describe('WechatPayV3Client.tradeBill / downloadBillFile', () => {
  it('asks with a signed GET and returns the verified reply', async () => {
    fake.setHandler((req, res) =>
      req.url.startsWith('/v3/bill/tradebill')
        ? replyV3(res, 200, {
            hash_type: 'SHA1',
            hash_value: billSha1(Buffer.from(BILL)),
            download_url: `${fake.url}/v3/billdownload/file?token=abc`,
          })
        : res.end(BILL),
    );
    const meta = await v3().tradeBill({ billDate: '2026-11-30', billType: 'SUCCESS', tarType: 'GZIP' });
    const asked = fake.received.at(-1);
    expect(asked?.url).toBe('/v3/bill/tradebill?bill_date=2026-11-30&bill_type=SUCCESS&tar_type=GZIP');
    expect(meta).toEqual({
      hashType: 'SHA1',
      hashValue: billSha1(Buffer.from(BILL)),
      downloadUrl: `${fake.url}/v3/billdownload/file?token=abc`,
    });

    // The file: signed request, unsigned reply accepted, bytes checked against the hash.
    const bytes = await v3().downloadBillFile(meta.downloadUrl, meta.hashValue);
    expect(bytes.toString('utf8')).toBe(BILL);
    const download = fake.received.at(-1);
    expect(download?.url).toBe('/v3/billdownload/file?token=abc');
    const auth = parseAuthorizationV3(String(download?.headers.authorization));
    const message = requestMessageV3({
      method: 'GET',
      url: '/v3/billdownload/file?token=abc',
      timestamp: auth.timestamp,
      nonce: auth.nonce,
      body: '',
    });
    expect(verifySignatureV3(message, auth.signature, D.mchPublicKey)).toBe(true);
  });

  it('a reply that does not match hash_value is BILL_HASH_MISMATCH; no hash given, no check', async () => {
    fake.setHandler((_req, res) => res.end(BILL + 'x'));
    const url = `${fake.url}/v3/billdownload/file?token=t`;
    const err = await rejection<WechatPayV3Error>(v3().downloadBillFile(url, billSha1(Buffer.from(BILL))));
    expect(err).toMatchObject({ code: 'BILL_HASH_MISMATCH', retryable: false });
    expect((await v3().downloadBillFile(url)).toString('utf8')).toBe(BILL + 'x');
  });

  it('maps NO_STATEMENT_EXIST / STATEMENT_CREATING to NO_BILL / BILL_CREATING, keeps other errors', async () => {
    const cases: [string, string, boolean][] = [
      ['NO_STATEMENT_EXIST', 'NO_BILL', false],
      ['STATEMENT_CREATING', 'BILL_CREATING', true],
      ['PARAM_ERROR', 'PARAM_ERROR', false],
    ];
    for (const [wechat, code, retryable] of cases) {
      fake.setHandler((_req, res) => replyV3(res, 400, { code: wechat, message: '…' }));
      const err = await rejection<WechatPayV3Error>(
        v3().tradeBill({ billDate: '2026-11-30', billType: 'ALL' }),
      );
      expect(err, wechat).toBeInstanceOf(WechatPayV3Error);
      expect(err, wechat).toMatchObject({ code, retryable, httpStatus: 400 });
    }
    // An unsigned "no bill" is not WeChat's word: a retryable transport-ish failure, not NO_BILL.
    fake.setHandler((_req, res) =>
      replyV3(res, 400, { code: 'NO_STATEMENT_EXIST', message: '…' }, { unsigned: true }),
    );
    const forged = await rejection<WechatPayV3Error>(
      v3().tradeBill({ billDate: '2026-11-30', billType: 'ALL' }),
    );
    expect(forged).toMatchObject({ code: 'HTTP_400', retryable: true });
  });

  it('refuses a reply without a proper hash, a download URL on another host, and bad arguments', async () => {
    fake.setHandler((_req, res) =>
      replyV3(res, 200, { hash_type: 'MD5', hash_value: 'x', download_url: 'y' }),
    );
    expect(await rejection(v3().tradeBill({ billDate: '2026-11-30', billType: 'ALL' }))).toMatchObject({
      code: 'BAD_MESSAGE',
    });
    const before = fake.received.length;
    await expect(
      v3().downloadBillFile('https://api.mch.weixin.qq.com/v3/billdownload/file?token=x'),
    ).rejects.toThrow(/not on/);
    await expect(v3().downloadBillFile('not a url')).rejects.toThrow(/not a URL/);
    await expect(v3().tradeBill({ billDate: '20261130', billType: 'ALL' })).rejects.toThrow(TypeError);
    expect(fake.received.length).toBe(before);
    fake.setHandler((_req, res) => replyV3(res, 400, { code: 'INVALID_REQUEST', message: 'token used' }));
    expect(await rejection(v3().downloadBillFile(`${fake.url}/v3/billdownload/file?token=z`))).toMatchObject({
      code: 'INVALID_REQUEST',
      httpStatus: 400,
    });
    fake.setHandler((_req, res) => res.end(Buffer.alloc(4096, 0x61)));
    expect(
      await rejection(
        v3().downloadBillFile(`${fake.url}/v3/billdownload/file?token=z`, undefined, { maxBytes: 100 }),
      ),
    ).toMatchObject({ code: 'TOO_LARGE' });
  });
});

/**
 * Bills (docs/protocol.md §8 "Bills"): the sandbox's /pay/downloadbill and /v3/bill/tradebill made from its own
 * state, on its clock, read with @mp-pay/shared's clients and parser over HTTP, and with wechatpay-axios-plugin
 * as an independent v3 client. One sandbox for the file: its clock only moves forward, so the steps run in order.
 */
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Hash, Wechatpay } from 'wechatpay-axios-plugin';
import {
  billLines,
  billSummaryOf,
  parseBillLines,
  type BillRow,
  type BillSummary,
} from '@mp-pay/shared/bills';
import type { WechatPayError } from '@mp-pay/shared/wechatpay';
import {
  SANDBOX_DEMO_V3,
  V3KeySet,
  WechatPayV2Client,
  WechatPayV3Client,
  WechatPayV3Error,
} from '@mp-pay/shared/wechatpay';
import { beijingDay, billReadyAt } from '../src/bills/calendar.ts';
import type { RunningSandbox } from '../src/index.ts';
import { callV2, DEMO, eventually, inspect, NotifyReceiver, postJson, sandbox } from './helpers.ts';
import {
  advanceClock,
  newOutRefundNo,
  paidOrder,
  refundFields,
  refundV2,
  settled,
  setFaults,
  type PaidOrder,
} from './refund-helpers.ts';

/** With a default refund notify URL, so a console refund that notified anyway would be seen. */
const started: { sb?: RunningSandbox; receiver?: NotifyReceiver } = {};
beforeAll(async () => {
  started.receiver = await NotifyReceiver.start();
  started.sb = await sandbox({ refundNotifyUrl: started.receiver.url });
});
afterAll(async () => {
  await started.sb?.close();
  await started.receiver?.close();
});
const ctx = {
  get sb(): RunningSandbox {
    if (!started.sb) throw new Error('not started');
    return started.sb;
  },
  get receiver(): NotifyReceiver {
    if (!started.receiver) throw new Error('not started');
    return started.receiver;
  },
};
const V3 = SANDBOX_DEMO_V3;

function v2Client() {
  return new WechatPayV2Client({ appId: DEMO.appId, mchId: DEMO.mchId, key: DEMO.key, baseUrl: ctx.sb.url });
}
function v3Client() {
  return new WechatPayV3Client({
    mchId: DEMO.mchId,
    serialNo: V3.mchCertSerial,
    privateKey: V3.mchPrivateKey,
    keys: new V3KeySet().addPublicKey(V3.platformPublicKeyId, V3.platformPublicKey),
    baseUrl: ctx.sb.url,
  });
}

async function failure<T extends Error>(promise: Promise<unknown>): Promise<T> {
  return (await promise.then(
    () => {
      throw new Error('expected a failure');
    },
    (err: unknown) => err,
  )) as T;
}

async function* once(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  yield bytes;
}

async function parse(bytes: Buffer, gzip = false) {
  const rows: BillRow[] = [];
  let summary: BillSummary | undefined;
  let header = '';
  for await (const line of billLines(once(bytes), { gzip })) {
    header ||= line;
    break;
  }
  for await (const entry of parseBillLines(billLines(once(bytes), { gzip }))) {
    if (entry.kind === 'row') rows.push(entry.row);
    else summary = entry.summary;
  }
  return { rows, summary, header };
}

const dashed = (day: string) => `${day.slice(0, 4)}-${day.slice(4, 6)}-${day.slice(6)}`;
const shift = (day: string, days: number) => {
  const at = Date.UTC(Number(day.slice(0, 4)), Number(day.slice(4, 6)) - 1, Number(day.slice(6)) + days);
  return new Date(at).toISOString().slice(0, 10).replaceAll('-', '');
};

async function sandboxNow(): Promise<number> {
  const res = await fetch(`${ctx.sb.url}/sandbox/clock`);
  return Date.parse(((await res.json()) as { now: string }).now);
}

describe('bills from the sandbox state', () => {
  let a: PaidOrder;
  let b: PaidOrder;
  let day = '';
  let apiRefundNo = '';
  let consoleRefundNo = '';

  it('a day with trades: Bill Creating / STATEMENT_CREATING until 10:00 Beijing the next day', async () => {
    a = await paidOrder(ctx.sb, ctx.receiver.url, { total_fee: 1999, attach: '桌号=7,会员' });
    b = await paidOrder(ctx.sb, ctx.receiver.url, { total_fee: 888, body: '咖啡, 大杯' });
    day = beijingDay(await sandboxNow());
    const v2 = failure<WechatPayError>(v2Client().downloadBill({ billDate: day, billType: 'ALL' }));
    expect(await v2).toMatchObject({ code: 'BILL_CREATING', retryable: true });
    const v3 = await failure<WechatPayV3Error>(
      v3Client().tradeBill({ billDate: dashed(day), billType: 'ALL' }),
    );
    expect(v3).toBeInstanceOf(WechatPayV3Error);
    expect(v3).toMatchObject({ code: 'BILL_CREATING', retryable: true, httpStatus: 400 });
  });

  it('an API refund notifies the shop; a console refund does not, yet shows in refundquery', async () => {
    const fields = refundFields(a, { refund_fee: 500 });
    apiRefundNo = String(fields.out_refund_no);
    expect((await refundV2(ctx.sb, fields)).result_code).toBe('SUCCESS');
    expect(await settled(ctx.sb, a.outTradeNo, apiRefundNo)).toMatchObject({ status: 'SUCCESS' });

    consoleRefundNo = newOutRefundNo();
    const made = await postJson(`${ctx.sb.url}/sandbox/console/refunds`, {
      out_trade_no: b.outTradeNo,
      refund_fee: 300,
      out_refund_no: consoleRefundNo,
    });
    expect(made).toMatchObject({
      status: 201,
      json: {
        out_refund_no: consoleRefundNo,
        status: 'PROCESSING',
        request_source: 'VENDOR_PLATFORM',
        notified: false,
      },
    });
    const done = await settled(ctx.sb, b.outTradeNo, consoleRefundNo);
    expect(done.status).toBe('SUCCESS');
    // The API refund went to the default refund notify URL; the console one goes nowhere.
    const apiRefund = await eventually(async () => {
      const refunds = (await inspect(ctx.sb, a.outTradeNo)).refunds as { notifications: unknown[] }[];
      return refunds[0]?.notifications.length ? refunds[0] : undefined;
    });
    expect(apiRefund.notifications.length).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, 100));
    const again = (await inspect(ctx.sb, b.outTradeNo)).refunds as { notifications: unknown[] }[];
    expect(again[0]?.notifications).toEqual([]);
    const queried = await v2Client().refundQuery({ outTradeNo: b.outTradeNo });
    expect(queried.refunds).toEqual([
      expect.objectContaining({ outRefundNo: consoleRefundNo, refundFee: 300, status: 'SUCCESS' }),
    ]);
    // The console applies WeChat's refund rules too.
    const tooMuch = await postJson(`${ctx.sb.url}/sandbox/console/refunds`, {
      out_trade_no: b.outTradeNo,
      refund_fee: 10_000,
    });
    expect(tooMuch.status).toBe(409);
    const unknown = await postJson(`${ctx.sb.url}/sandbox/console/refunds`, {
      out_trade_no: 'NOPE123456',
      refund_fee: 1,
    });
    expect(unknown.status).toBe(404);
    const bad = await postJson(`${ctx.sb.url}/sandbox/console/refunds`, {
      out_trade_no: b.outTradeNo,
      refund_fee: 1.5,
    });
    expect(bad.status).toBe(400);
  });

  it('tampers an amount in the bill only', async () => {
    const res = await postJson(`${ctx.sb.url}/sandbox/console/bill-tamper`, {
      out_trade_no: a.outTradeNo,
      total_fee: 1000,
    });
    expect(res).toEqual({
      status: 200,
      json: { mch_id: DEMO.mchId, out_trade_no: a.outTradeNo, bill_total_fee: 1000 },
    });
    expect((await inspect(ctx.sb, a.outTradeNo)).total_fee).toBe(1999);
    expect(
      (
        await postJson(`${ctx.sb.url}/sandbox/console/bill-tamper`, {
          out_trade_no: 'NOPE123456',
          total_fee: 1,
        })
      ).status,
    ).toBe(404);
    expect((await postJson(`${ctx.sb.url}/sandbox/console/bill-tamper`, { total_fee: 1 })).status).toBe(400);
  });

  it('one minute before 10:00 the bill is still being made; at 10:00 it is there', async () => {
    const now = await sandboxNow();
    await advanceClock(ctx.sb, billReadyAt(day) - 60_000 - now);
    const early = await failure<WechatPayError>(v2Client().downloadBill({ billDate: day, billType: 'ALL' }));
    expect(early.code).toBe('BILL_CREATING');
    await advanceClock(ctx.sb, 90_000);
    const bytes = await v2Client().downloadBill({ billDate: day, billType: 'ALL' });
    expect(bytes.toString('utf8')).toMatch(/^交易时间,公众账号ID,/);
  });

  it('v2 ALL: payments (one tampered) and both refunds, summary consistent, exact published layout', async () => {
    const bytes = await v2Client().downloadBill({ billDate: day, billType: 'ALL' });
    const text = bytes.toString('utf8');
    expect(text.endsWith('\r\n')).toBe(true);
    const { rows, summary, header } = await parse(bytes);
    expect(header.split(',')).toHaveLength(27);
    const byNo = (no: string, state: string) =>
      rows.find((r) => r.outTradeNo === no && r.tradeState === state);
    expect(rows).toHaveLength(4);
    expect(byNo(a.outTradeNo, 'SUCCESS')).toMatchObject({
      transactionId: a.transactionId,
      appId: DEMO.appId,
      mchId: DEMO.mchId,
      settlementTotalFen: 1000,
      totalFen: 1000,
      fee: '0.06000',
      rate: '0.60%',
      attach: '桌号=7,会员',
    });
    expect(byNo(b.outTradeNo, 'SUCCESS')).toMatchObject({
      settlementTotalFen: 888,
      totalFen: 888,
      body: '咖啡, 大杯',
      fee: '0.05000',
    });
    expect(byNo(a.outTradeNo, 'REFUND')).toMatchObject({
      outRefundNo: apiRefundNo,
      refundFen: 500,
      requestedRefundFen: 500,
      refundStatus: 'SUCCESS',
      settlementTotalFen: 0,
      fee: '-0.03000',
    });
    expect(byNo(b.outTradeNo, 'REFUND')).toMatchObject({ outRefundNo: consoleRefundNo, refundFen: 300 });
    expect(summary).toEqual(billSummaryOf(rows));
    expect(summary).toMatchObject({
      count: 4,
      settlementTotalFen: 1888,
      refundTotalFen: 800,
      fee: '0.06000',
    });
    for (const line of text.split('\r\n').slice(1, 5)) expect(line.startsWith('`')).toBe(true);
  });

  it('v2 SUCCESS (gzip) lists payments without refund columns, REFUND only refunds', async () => {
    const gz = await v2Client().downloadBill({ billDate: day, billType: 'SUCCESS', tarType: 'GZIP' });
    expect([gz[0], gz[1]]).toEqual([0x1f, 0x8b]);
    const success = await parse(gz, true);
    expect(success.header.split(',')).toHaveLength(20);
    expect(success.rows.map((r) => r.tradeState)).toEqual(['SUCCESS', 'SUCCESS']);
    const refunds = await parse(await v2Client().downloadBill({ billDate: day, billType: 'REFUND' }));
    expect(refunds.rows.map((r) => r.outRefundNo).sort()).toEqual([apiRefundNo, consoleRefundNo].sort());
    expect(refunds.summary).toMatchObject({ count: 2, settlementTotalFen: 0, refundTotalFen: 800 });
  });

  it('v2 failures: No Bill Exist, future and expired days, bad parameters, SIGN ERROR', async () => {
    const client = v2Client();
    const none = await failure<WechatPayError>(
      client.downloadBill({ billDate: shift(day, -1), billType: 'ALL' }),
    );
    expect(none).toMatchObject({ code: 'NO_BILL', retryable: false });
    expect(none.raw).toMatchObject({ return_code: 'FAIL', return_msg: 'No Bill Exist', error_code: '20002' });
    const today = await failure<WechatPayError>(
      client.downloadBill({ billDate: shift(day, 1), billType: 'ALL' }),
    );
    expect(today.code).toBe('BILL_CREATING');
    for (const old of [shift(day, 2), shift(day, -100)]) {
      const refused = await failure<WechatPayError>(client.downloadBill({ billDate: old, billType: 'ALL' }));
      expect(refused.code, old).toBe('INVALID_BILL_DATE');
    }
    const raw = (fields: Record<string, string>, options = {}) =>
      callV2(ctx.sb, '/pay/downloadbill', fields, options);
    expect(await raw({ bill_date: day, bill_type: 'WEEKLY' })).toMatchObject({
      return_code: 'FAIL',
      return_msg: 'invalid bill_type',
    });
    expect(await raw({ bill_date: '20261301' })).toMatchObject({ return_msg: 'data format error' });
    expect(await raw({ bill_type: 'ALL' })).toMatchObject({ return_msg: 'missing parameter' });
    expect(await raw({ bill_date: day, tar_type: 'ZIP' })).toMatchObject({ return_msg: 'invalid tar_type' });
    expect(await raw({ bill_date: day }, { key: 'x'.repeat(32) })).toMatchObject({
      return_code: 'FAIL',
      return_msg: 'SIGN ERROR',
    });
    const wrongKey = new WechatPayV2Client({
      appId: DEMO.appId,
      mchId: DEMO.mchId,
      key: 'y'.repeat(32),
      baseUrl: ctx.sb.url,
    });
    expect(
      await failure<WechatPayError>(wrongKey.downloadBill({ billDate: day, billType: 'ALL' })),
    ).toMatchObject({ code: 'SIGN_ERROR' });
  });

  it('v3: tradebill signed and verified, the file unsigned and SHA1-checked, one-time and short-lived', async () => {
    const client = v3Client();
    const meta = await client.tradeBill({ billDate: dashed(day), billType: 'ALL', tarType: 'GZIP' });
    expect(meta).toMatchObject({ hashType: 'SHA1', hashValue: expect.stringMatching(/^[0-9a-f]{40}$/) });
    expect(meta.downloadUrl.startsWith(`${ctx.sb.url}/v3/billdownload/file?token=`)).toBe(true);
    const gz = await client.downloadBillFile(meta.downloadUrl, meta.hashValue);
    const v3Rows = (await parse(gz, true)).rows;
    const v2Rows = (await parse(await v2Client().downloadBill({ billDate: day, billType: 'ALL' }))).rows;
    expect(v3Rows).toEqual(v2Rows);
    expect(gunzipSync(gz).toString('utf8')).toContain(consoleRefundNo);

    const used = await failure<WechatPayV3Error>(client.downloadBillFile(meta.downloadUrl, meta.hashValue));
    expect(used).toMatchObject({ code: 'INVALID_REQUEST', httpStatus: 400 });

    const later = await client.tradeBill({ billDate: dashed(day), billType: 'SUCCESS' });
    await advanceClock(ctx.sb, 31_000);
    expect(await failure<WechatPayV3Error>(client.downloadBillFile(later.downloadUrl))).toMatchObject({
      code: 'INVALID_REQUEST',
    });

    const noBill = await failure<WechatPayV3Error>(
      client.tradeBill({ billDate: dashed(shift(day, -1)), billType: 'ALL' }),
    );
    expect(noBill).toMatchObject({ code: 'NO_BILL', retryable: false });
    expect(
      (
        await failure<WechatPayV3Error>(
          client.tradeBill({ billDate: dashed(shift(day, -120)), billType: 'ALL' }),
        )
      ).code,
    ).toBe('INVALID_REQUEST');
    await expect(
      client.downloadBillFile('http://attacker.example/v3/billdownload/file?token=x'),
    ).rejects.toThrow(/not on/);
  });

  it('v3: the file reply carries no WeChat signature; a corrupted download fails the hash check', async () => {
    const client = v3Client();
    const meta = await client.tradeBill({ billDate: dashed(day), billType: 'REFUND' });
    await postJson(`${ctx.sb.url}/sandbox/console/bill-tamper`, { corrupt_next_download: true });
    const err = await failure<WechatPayV3Error>(client.downloadBillFile(meta.downloadUrl, meta.hashValue));
    expect(err).toMatchObject({ code: 'BILL_HASH_MISMATCH', retryable: false });
    // The next one is whole again; look at the raw reply headers with the library below.
    const fresh = await client.tradeBill({ billDate: dashed(day), billType: 'REFUND' });
    const bytes = await client.downloadBillFile(fresh.downloadUrl, fresh.hashValue);
    expect((await parse(bytes)).rows).toHaveLength(2);
  });

  it('wechatpay-axios-plugin downloads the v3 bill as an independent client', async () => {
    const wxpay = new Wechatpay({
      mchid: DEMO.mchId,
      serial: V3.mchCertSerial,
      privateKey: V3.mchPrivateKey,
      certs: { [V3.platformPublicKeyId]: V3.platformPublicKey },
      baseURL: `${ctx.sb.url}/`,
    } as ConstructorParameters<typeof Wechatpay>[0]) as unknown as {
      v3: {
        bill: { tradebill: { get(config: unknown): Promise<{ data: Record<string, string> }> } };
        billdownload: {
          file: { get(config: unknown): Promise<{ data: ArrayBuffer; headers: Record<string, string> }> };
        };
      };
    };
    const { data: meta } = await wxpay.v3.bill.tradebill.get({
      params: { bill_date: dashed(day), bill_type: 'ALL', tar_type: 'GZIP' },
    });
    expect(meta.hash_type).toBe('SHA1');
    const token = new URL(meta.download_url ?? '').searchParams.get('token');
    const file = await wxpay.v3.billdownload.file.get({ params: { token }, responseType: 'arraybuffer' });
    const bytes = Buffer.from(file.data);
    expect(file.headers['wechatpay-signature']).toBeUndefined();
    expect(Hash.sha1(bytes)).toBe(meta.hash_value);
    const { rows, summary } = await parse(bytes, true);
    expect(rows).toHaveLength(4);
    expect(summary?.count).toBe(4);
  });

  it('a dropped payment notification still leaves the payment in the next bill', async () => {
    const c = await paidOrderWithoutNotification();
    const now = await sandboxNow();
    const cDay = beijingDay(now);
    await advanceClock(ctx.sb, billReadyAt(cDay) + 1000 - now);
    const { rows } = await parse(await v2Client().downloadBill({ billDate: cDay, billType: 'SUCCESS' }));
    expect(rows.map((r) => r.outTradeNo)).toContain(c.outTradeNo);
  });
});

async function paidOrderWithoutNotification(): Promise<PaidOrder> {
  await setFaults(ctx.sb, { mch_id: DEMO.mchId }, { dropNotifications: true });
  try {
    const order = await paidOrder(ctx.sb, ctx.receiver.url, { total_fee: 123 });
    await eventually(async () =>
      (await inspect(ctx.sb, order.outTradeNo)).notifications.length > 0 ? true : undefined,
    );
    const seen = await inspect(ctx.sb, order.outTradeNo);
    expect(seen.notifications.every((n) => n.outcome === 'dropped')).toBe(true);
    return order;
  } finally {
    await fetch(`${ctx.sb.url}/sandbox/faults?mch_id=${DEMO.mchId}`, { method: 'DELETE' });
  }
}

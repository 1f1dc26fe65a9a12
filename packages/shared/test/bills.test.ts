import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  BillFormatError,
  billLines,
  billSummaryOf,
  checkBillHash,
  billSha1,
  feeToMicroYuan,
  fenToYuan,
  formatBill,
  microYuanToFee,
  parseBillLines,
  yuanToFen,
  type BillEntry,
  type BillRow,
} from '@mp-pay/shared/bills';

/**
 * Vectors: the header and summary names are WeChat's published ones (docs/protocol.md §8 "Bills"); the data
 * lines are real sample lines found in public SDK tests (WxJava's WxPayBillResultTest, a Go SDK's download test).
 */
const ALL_HEADER =
  '交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注';
const SUCCESS_HEADER =
  '交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额,商品名称,商户数据包,手续费,费率,订单金额,费率备注';
const LEGACY_ALL_HEADER = ALL_HEADER.replace(',订单金额,申请退款金额,费率备注', '');
const SUMMARY_HEADER =
  '总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额';
const LEGACY_SUMMARY_HEADER = '总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额';

const ALL_ROW_1 =
  '`2021-01-28 15:35:18,`wx81be3101902f7cb2,`1601959334,`0,`,`4200000910202101282955148400,`S20210128153505214586,`ofyak5qR_1wYsC99CsWA6R9MJazA,`NATIVE,`SUCCESS,`OTHERS,`CNY,`0.01,`0.00,`0,`0,`0.00,`0.00,`,`,`for testing,`cipher code,`0.00000,`1.00%,`0.01,`0.00,`';
const ALL_ROW_2 =
  '`2021-01-28 16:59:46,`wx81be3101902f7cb2,`1601959334,`0,`,`4200000926202101281412639609,`S20210128165824499930,`ofyak5qR_1wYsC99CsWA6R9MJazA,`NATIVE,`SUCCESS,`OTHERS,`CNY,`0.01,`0.00,`0,`0,`0.00,`0.00,`,`,`for testing,`cipher code,`0.00000,`1.00%,`0.01,`0.00,`';
const SUCCESS_ROW =
  '`2019-07-23 18:46:41,`XXXX,`XXX,`XXX,`,`XXX,`XXX,`XXX,`JSAPI,`SUCCESS,`CFT,`CNY,`0.01,`0.00,`XXX,`XXXX,`0.00000,`0.60%,`0.01,`';
const LEGACY_ROW =
  '`2014-11-10 16:33:45,`wx2421b1c4370ec43b,`10000100,`0,`1000,`1001690740201411100005734289,`1415640626,`085e9858e3ba5186aafcbaed1,`MICROPAY,`SUCCESS,`CFT,`CNY,`0.01,`0.0,`0,`0,`0,`0,`,`,`被扫支付测试,`订单额外描述,`0,`0.60%';

async function collect(lines: Iterable<string> | AsyncIterable<string>) {
  const rows: BillRow[] = [];
  const summaries: Extract<BillEntry, { kind: 'summary' }>[] = [];
  for await (const entry of parseBillLines(lines)) {
    if (entry.kind === 'row') rows.push(entry.row);
    else summaries.push(entry);
  }
  return { rows, summaries };
}

async function* chunks(bytes: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let at = 0; at < bytes.length; at += size) yield bytes.subarray(at, at + size);
}

async function parseBytes(bytes: Uint8Array, gzip = false, chunkSize = 7) {
  return collect(billLines(chunks(bytes, chunkSize), { gzip }));
}

function row(overrides: Partial<BillRow>): BillRow {
  return {
    tradeTime: '2026-11-30 12:00:00',
    appId: 'wx0000000000000001',
    mchId: '1900000109',
    subMchId: '0',
    deviceInfo: '',
    transactionId: '4200000000202611300000000001',
    outTradeNo: 'ORDER-1',
    openid: 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o',
    tradeType: 'JSAPI',
    tradeState: 'SUCCESS',
    bank: 'OTHERS',
    currency: 'CNY',
    settlementTotalFen: 1234,
    couponFen: 0,
    refundId: '0',
    outRefundNo: '0',
    refundFen: 0,
    couponRefundFen: 0,
    refundType: '',
    refundStatus: '',
    body: '测试商品',
    attach: '',
    fee: '0.07404',
    rate: '0.60%',
    totalFen: 1234,
    requestedRefundFen: 0,
    rateNote: '',
    ...overrides,
  };
}

describe('yuanToFen', () => {
  it('converts exactly, without floating point', () => {
    expect(yuanToFen('0.01')).toBe(1);
    expect(yuanToFen('0.29')).toBe(29);
    expect(yuanToFen('12.30')).toBe(1230);
    expect(yuanToFen('12.3')).toBe(1230);
    expect(yuanToFen('5')).toBe(500);
    expect(yuanToFen('0.0')).toBe(0);
    expect(yuanToFen('-0.01')).toBe(-1);
    expect(yuanToFen('-0.00')).toBe(0);
    expect(yuanToFen('1.100')).toBe(110);
    expect(yuanToFen('99999999.99')).toBe(9_999_999_999);
  });

  it('refuses fractions of a fen and anything that is not a plain amount', () => {
    for (const bad of [
      '0.001',
      '1.105',
      '',
      '.5',
      '1.',
      '1,234.50',
      '`1.00',
      ' 1.00',
      '1e3',
      '+1',
      '--1',
      'NaN',
    ]) {
      expect(() => yuanToFen(bad), bad).toThrow(RangeError);
    }
  });

  it('prints fen back and keeps fees exact', () => {
    expect(fenToYuan(1)).toBe('0.01');
    expect(fenToYuan(-1234)).toBe('-12.34');
    expect(fenToYuan(0)).toBe('0.00');
    expect(() => fenToYuan(0.5)).toThrow(RangeError);
    expect(feeToMicroYuan('0.07404')).toBe(74_040);
    expect(feeToMicroYuan('-0.00600')).toBe(-6_000);
    expect(microYuanToFee(74_040 - 6_000)).toBe('0.06804');
    expect(microYuanToFee(1)).toBe('0.000001');
    expect(microYuanToFee(0)).toBe('0.00000');
  });
});

describe('parseBillLines on the published format', () => {
  it('reads a current ALL bill (real sample lines)', async () => {
    const { rows, summaries } = await collect([
      ALL_HEADER,
      ALL_ROW_1,
      ALL_ROW_2,
      SUMMARY_HEADER,
      '`2,`0.02,`0.00,`0.00,`0.00000,`0.02,`0.00',
    ]);
    expect(rows).toHaveLength(2);
    expect(rows[0]).toEqual({
      tradeTime: '2021-01-28 15:35:18',
      appId: 'wx81be3101902f7cb2',
      mchId: '1601959334',
      subMchId: '0',
      deviceInfo: '',
      transactionId: '4200000910202101282955148400',
      outTradeNo: 'S20210128153505214586',
      openid: 'ofyak5qR_1wYsC99CsWA6R9MJazA',
      tradeType: 'NATIVE',
      tradeState: 'SUCCESS',
      bank: 'OTHERS',
      currency: 'CNY',
      settlementTotalFen: 1,
      couponFen: 0,
      refundId: '0',
      outRefundNo: '0',
      refundFen: 0,
      couponRefundFen: 0,
      refundType: '',
      refundStatus: '',
      body: 'for testing',
      attach: 'cipher code',
      fee: '0.00000',
      rate: '1.00%',
      totalFen: 1,
      requestedRefundFen: 0,
      rateNote: '',
    });
    expect(summaries).toEqual([
      {
        kind: 'summary',
        columns: 'current',
        summary: {
          count: 2,
          settlementTotalFen: 2,
          refundTotalFen: 0,
          couponRefundTotalFen: 0,
          fee: '0.00000',
          totalFen: 2,
          requestedRefundTotalFen: 0,
        },
      },
    ]);
    expect(billSummaryOf(rows)).toEqual(summaries[0]?.summary);
  });

  it('reads a current SUCCESS bill (no refund columns) and its summary as printed', async () => {
    const { rows, summaries } = await collect([
      SUCCESS_HEADER,
      SUCCESS_ROW,
      SUMMARY_HEADER,
      '`31,`3.05,`0.00,`0.00,`0.02000,`3.05,`0.00',
    ]);
    expect(rows[0]).toMatchObject({
      tradeType: 'JSAPI',
      settlementTotalFen: 1,
      body: 'XXX',
      attach: 'XXXX',
      fee: '0.00000',
      rate: '0.60%',
      totalFen: 1,
      refundId: '',
      refundFen: 0,
      rateNote: '',
    });
    expect(rows[0]?.requestedRefundFen).toBeUndefined();
    expect(summaries[0]?.summary).toMatchObject({ count: 31, settlementTotalFen: 305, fee: '0.02000' });
  });

  it('reads a legacy ALL bill (ends at 手续费,费率), Chinese body and attach, amounts like 0.0', async () => {
    const { rows, summaries } = await collect([
      LEGACY_ALL_HEADER,
      LEGACY_ROW,
      LEGACY_SUMMARY_HEADER,
      '`48,`5.76,`1.42,`0.00,`0.01000',
    ]);
    expect(rows[0]).toMatchObject({
      tradeTime: '2014-11-10 16:33:45',
      deviceInfo: '1000',
      tradeType: 'MICROPAY',
      couponFen: 0,
      body: '被扫支付测试',
      attach: '订单额外描述',
      fee: '0',
      rate: '0.60%',
    });
    expect(rows[0]?.totalFen).toBeUndefined();
    expect(summaries[0]).toEqual({
      kind: 'summary',
      columns: 'legacy',
      summary: {
        count: 48,
        settlementTotalFen: 576,
        refundTotalFen: 142,
        couponRefundTotalFen: 0,
        fee: '0.01000',
      },
    });
  });

  it('keeps a plain comma inside a field: fields are split on ",`"', async () => {
    const line = ALL_ROW_1.replace('`for testing', '`apples, pears').replace('`cipher code', '`k=1,v=2');
    const { rows } = await collect([
      ALL_HEADER,
      line,
      SUMMARY_HEADER,
      '`1,`0.01,`0.00,`0.00,`0.00000,`0.01,`0.00',
    ]);
    expect(rows[0]).toMatchObject({ body: 'apples, pears', attach: 'k=1,v=2', fee: '0.00000' });
  });

  it('reads older column names (子商户号, 企业红包…, 总交易额…) as the same fields', async () => {
    const header = LEGACY_ALL_HEADER.replace('特约商户号', '子商户号')
      .replace('代金券金额', '企业红包金额')
      .replace('充值券退款金额', '企业红包退款金额');
    const { rows, summaries } = await collect([
      header,
      LEGACY_ROW,
      '总交易单数,总交易额,总退款金额,总企业红包退款金额,手续费总金额',
      '`1,`0.01,`0.00,`0.00,`0.00006',
    ]);
    expect(rows[0]).toMatchObject({ subMchId: '0', couponFen: 0 });
    expect(summaries[0]?.summary).toMatchObject({ count: 1, settlementTotalFen: 1, fee: '0.00006' });
  });

  it('names the line of every format fault', async () => {
    const cases: [string[], number, RegExp][] = [
      [[], 0, /empty bill/],
      [['`2021-01-28 15:35:18,`wx'], 1, /header/],
      [['交易时间,谁知道', ALL_ROW_1], 1, /unknown column/],
      [['交易时间,公众账号ID'], 1, /lacks/],
      [[ALL_HEADER, ALL_ROW_1.slice(0, -2)], 2, /fields where the header has 27/],
      [[ALL_HEADER, ALL_ROW_1.replace('`0.01,`0.00,`0,', '`0.011,`0.00,`0,')], 2, /应结订单金额.*fraction/],
      [[ALL_HEADER, ALL_ROW_1.replace('`0.01,`0.00,`0,', '`abc,`0.00,`0,')], 2, /应结订单金额/],
      [[ALL_HEADER, ALL_ROW_1.replace('2021-01-28 15:35:18', '2021/01/28')], 2, /交易时间/],
      [[ALL_HEADER, ALL_ROW_1.replace('`0.00000,', '`free,')], 2, /手续费/],
      [[ALL_HEADER, ALL_ROW_1.slice(1)], 2, /backtick/],
      [[ALL_HEADER, ALL_ROW_1], 0, /summary missing/],
      [[ALL_HEADER, ALL_ROW_1, SUMMARY_HEADER], 0, /summary line missing/],
      [[ALL_HEADER, SUMMARY_HEADER, '`1,`0.01'], 3, /2 summary fields/],
      [[ALL_HEADER, SUMMARY_HEADER, '`x,`0.01,`0.00,`0.00,`0.00000,`0.01,`0.00'], 3, /not a count/],
      [[ALL_HEADER, '总交易单数,总金额'], 2, /unknown summary column/],
      [
        [ALL_HEADER, SUMMARY_HEADER, '`0,`0.00,`0.00,`0.00,`0.00000,`0.00,`0.00', ALL_ROW_1],
        4,
        /after the summary/,
      ],
    ];
    for (const [lines, line, message] of cases) {
      const failure = await collect(lines).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(failure, lines.join('|').slice(0, 80)).toBeInstanceOf(BillFormatError);
      expect((failure as BillFormatError).line, String(message)).toBe(line);
      expect((failure as BillFormatError).message).toMatch(message);
    }
  });
});

describe('billLines', () => {
  it('splits CRLF, drops the BOM, decodes UTF-8 split across chunks, for any chunk size', async () => {
    const text =
      '\uFEFF' +
      [LEGACY_ALL_HEADER, LEGACY_ROW, LEGACY_SUMMARY_HEADER, '`1,`0.01,`0.00,`0.00,`0.00000'].join('\r\n') +
      '\r\n';
    const bytes = Buffer.from(text, 'utf8');
    for (const size of [1, 2, 3, 5, 64, 1 << 16]) {
      const lines: string[] = [];
      for await (const line of billLines(chunks(bytes, size))) lines.push(line);
      expect(lines, String(size)).toEqual([
        LEGACY_ALL_HEADER,
        LEGACY_ROW,
        LEGACY_SUMMARY_HEADER,
        '`1,`0.01,`0.00,`0.00,`0.00000',
      ]);
    }
    const { rows } = await parseBytes(bytes, false, 3);
    expect(rows[0]?.body).toBe('被扫支付测试');
  });

  it('refuses bytes that are not UTF-8, a line without end, and a broken gzip stream', async () => {
    await expect(parseBytes(Buffer.from([0x41, 0xff, 0x0a]))).rejects.toThrow(/UTF-8/);
    const long = Buffer.alloc(70 * 1024, 0x61);
    await expect(parseBytes(long, false, 4096)).rejects.toThrow(/too long/);
    const gz = gzipSync(Buffer.from(ALL_HEADER + '\n'));
    await expect(parseBytes(gz.subarray(0, gz.length - 6), true)).rejects.toThrow();
    await expect(parseBytes(Buffer.from('not gzip'), true)).rejects.toThrow();
  });
});

describe('formatBill', () => {
  const payment = row({});
  const refund = row({
    tradeTime: '2026-11-30 18:00:00',
    tradeState: 'REFUND',
    settlementTotalFen: 0,
    totalFen: 0,
    refundId: '50000000002026113000000001',
    outRefundNo: 'R-1',
    refundFen: 500,
    requestedRefundFen: 500,
    refundType: 'ORIGINAL',
    refundStatus: 'SUCCESS',
    fee: '-0.03000',
  });

  it('prints the published layout: header, backticked rows, summary header and line, CRLF', () => {
    const text = formatBill([payment, refund], { type: 'ALL' });
    const lines = text.split('\r\n');
    expect(lines[0]).toBe(ALL_HEADER);
    expect(lines[1]).toBe(
      '`2026-11-30 12:00:00,`wx0000000000000001,`1900000109,`0,`,`4200000000202611300000000001,`ORDER-1,`oUpF8uMuAJO_M2pxb1Q9zNjWeS6o,`JSAPI,`SUCCESS,`OTHERS,`CNY,`12.34,`0.00,`0,`0,`0.00,`0.00,`,`,`测试商品,`,`0.07404,`0.60%,`12.34,`0.00,`',
    );
    expect(lines[3]).toBe(SUMMARY_HEADER);
    expect(lines[4]).toBe('`2,`12.34,`5.00,`0.00,`0.04404,`12.34,`5.00');
    expect(lines[5]).toBe('');
    expect(lines).toHaveLength(6);
  });

  it('SUCCESS lists payments without refund columns, REFUND lists refunds only', () => {
    const success = formatBill([payment, refund], { type: 'SUCCESS' }).split('\r\n');
    expect(success[0]).toBe(SUCCESS_HEADER);
    expect(success).toHaveLength(5);
    expect(success[1]?.split(',`')).toHaveLength(20);
    const refunds = formatBill([payment, refund], { type: 'REFUND' }).split('\r\n');
    expect(refunds[0]).toBe(ALL_HEADER);
    expect(refunds[1]).toContain('`REFUND,');
    expect(refunds[3]).toBe('`1,`0.00,`5.00,`0.00,`-0.03000,`0.00,`5.00');
    const legacy = formatBill([payment], { type: 'ALL', columns: 'legacy' }).split('\r\n');
    expect(legacy[0]).toBe(LEGACY_ALL_HEADER);
    expect(legacy[2]).toBe(LEGACY_SUMMARY_HEADER);
    expect(legacy[3]).toBe('`1,`12.34,`0.00,`0.00,`0.07404');
  });

  it('round-trips: formatBill → billLines → parseBillLines gives the rows and their summary back', async () => {
    for (const type of ['ALL', 'SUCCESS', 'REFUND'] as const) {
      const rows = [payment, refund].filter(
        (r) => type === 'ALL' || (type === 'SUCCESS') === (r.tradeState === 'SUCCESS'),
      );
      const parsed = await parseBytes(Buffer.from(formatBill(rows, { type }), 'utf8'), false, 11);
      const expected =
        type === 'SUCCESS'
          ? rows.map(({ requestedRefundFen: _drop, ...r }) => ({ ...r, refundId: '', outRefundNo: '' }))
          : rows;
      expect(parsed.rows, type).toEqual(expected);
      const summary = billSummaryOf(rows);
      expect(parsed.summaries[0]?.summary, type).toEqual(
        type === 'SUCCESS'
          ? { ...summary, requestedRefundTotalFen: summary.requestedRefundTotalFen }
          : summary,
      );
    }
  });

  it('streams a gzipped bill of 100 000 rows in a few seconds', async () => {
    const rows: BillRow[] = [];
    for (let i = 0; i < 100_000; i += 1) {
      rows.push(
        row({
          outTradeNo: `ORDER-${i}`,
          transactionId: `42000000002026113${String(i).padStart(11, '0')}`,
          settlementTotalFen: (i % 997) + 1,
          totalFen: (i % 997) + 1,
          fee: '0.00006',
        }),
      );
    }
    const gz = gzipSync(Buffer.from(formatBill(rows, { type: 'ALL' }), 'utf8'));
    const started = Date.now();
    let count = 0;
    let sum = 0;
    let summary;
    for await (const entry of parseBillLines(billLines(chunks(gz, 64 * 1024), { gzip: true }))) {
      if (entry.kind === 'row') {
        count += 1;
        sum += entry.row.settlementTotalFen;
      } else summary = entry.summary;
    }
    expect(Date.now() - started).toBeLessThan(5000);
    expect(count).toBe(100_000);
    expect(summary).toEqual(billSummaryOf(rows));
    expect(summary?.settlementTotalFen).toBe(sum);
    expect(summary?.fee).toBe('6.00000');
  }, 20_000);
});

describe('checkBillHash', () => {
  it('accepts the SHA1 of the bytes as served, in either case, and nothing else', () => {
    const bytes = Buffer.from(formatBill([], { type: 'ALL' }));
    const hash = billSha1(bytes);
    expect(hash).toMatch(/^[0-9a-f]{40}$/);
    expect(checkBillHash(bytes, hash)).toBe(true);
    expect(checkBillHash(bytes, hash.toUpperCase())).toBe(true);
    expect(checkBillHash(Buffer.concat([bytes, Buffer.from(' ')]), hash)).toBe(false);
    expect(checkBillHash(bytes, hash.slice(1))).toBe(false);
    expect(checkBillHash(bytes, 'zz' + hash.slice(2))).toBe(false);
    expect(billSha1(Buffer.from('abc'))).toBe('a9993e364706816aba3e25717850c26c9cd0d89d');
  });
});

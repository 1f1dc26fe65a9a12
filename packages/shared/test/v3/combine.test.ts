import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  combineCloseBody,
  combineFromNotificationV3,
  combineFullyPaid,
  combinePrepayBody,
  parseAuthorizationV3,
  parseV3CombineTransaction,
  requestMessageV3,
  V3KeySet,
  verifySignatureV3,
  WechatPayV3BadMessageError,
  WechatPayV3Client,
  WechatPayV3OrderNotExistError,
  WechatPayV3OrderPaidError,
  type CombinePrepayRequest,
  type V3Notification,
} from '../../src/v3/index.ts';
import { SANDBOX_DEMO_V3 as D } from '../../src/wechatpay/demo-v3.ts';
import { SANDBOX_DEMO_COMBINE_SUB_MERCHANTS } from '../../src/wechatpay/demo-combine.ts';
import { startFakeWechat, type Received } from '../fake-wechat.ts';
import { replyV3 } from './fake-v3.ts';

const MCHID = '1900000109';
const SUB = SANDBOX_DEMO_COMBINE_SUB_MERCHANTS[0]?.mchId ?? '';
const COMBINE_NO = 'C20261201abcdef';

// The documented shape of the combine query reply and of the TRANSACTION.SUCCESS resource (docs/protocol.md §7).
const PAID = {
  combine_appid: 'wx5ad0b0c0de5a4db0',
  combine_mchid: MCHID,
  combine_out_trade_no: COMBINE_NO,
  scene_info: { device_id: 'POS1:123' },
  sub_orders: [
    {
      mchid: MCHID,
      trade_type: 'JSAPI',
      trade_state: 'SUCCESS',
      bank_type: 'OTHERS',
      attach: 'shop A',
      success_time: '2026-12-01T10:00:00+08:00',
      transaction_id: '4200000001202612010000000001',
      out_trade_no: 'SUBA000001',
      amount: { total_amount: 100, payer_amount: 100, currency: 'CNY', payer_currency: 'CNY' },
    },
    {
      mchid: SUB,
      trade_type: 'JSAPI',
      trade_state: 'SUCCESS',
      bank_type: 'OTHERS',
      attach: 'shop B',
      success_time: '2026-12-01T10:00:00+08:00',
      transaction_id: '4200000001202612010000000002',
      out_trade_no: 'SUBB000001',
      amount: { total_amount: 250, payer_amount: 200, currency: 'CNY', payer_currency: 'CNY' },
    },
  ],
  combine_payer_info: { openid: 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o' },
};

const request: CombinePrepayRequest = {
  combineAppid: 'wx5ad0b0c0de5a4db0',
  combineOutTradeNo: COMBINE_NO,
  notifyUrl: 'https://shop.test/wechatpay/notify',
  payerOpenid: 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o',
  subOrders: [
    { mchid: MCHID, outTradeNo: 'SUBA000001', description: '商品A', amountFen: 100, attach: 'shop A' },
    { mchid: SUB, outTradeNo: 'SUBB000001', description: '商品B', amountFen: 250, attach: 'shop B' },
  ],
};

describe('combinePrepayBody', () => {
  it('names the amount total_amount, the payer combine_payer_info, and keeps the channel fields', () => {
    const body = combinePrepayBody('jsapi', MCHID, {
      ...request,
      timeExpire: new Date('2026-12-01T03:00:00Z'),
    });
    expect(body).toEqual({
      combine_appid: 'wx5ad0b0c0de5a4db0',
      combine_mchid: MCHID,
      combine_out_trade_no: COMBINE_NO,
      sub_orders: [
        {
          mchid: MCHID,
          attach: 'shop A',
          amount: { total_amount: 100, currency: 'CNY' },
          out_trade_no: 'SUBA000001',
          description: '商品A',
        },
        {
          mchid: SUB,
          attach: 'shop B',
          amount: { total_amount: 250, currency: 'CNY' },
          out_trade_no: 'SUBB000001',
          description: '商品B',
        },
      ],
      combine_payer_info: { openid: 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o' },
      time_expire: '2026-12-01T11:00:00+08:00',
      notify_url: 'https://shop.test/wechatpay/notify',
    });
    const { payerOpenid: _openid, ...noPayer } = request;
    expect(
      combinePrepayBody('h5', MCHID, { ...noPayer, payerClientIp: '203.0.113.9', h5Info: { type: 'Wap' } }),
    ).toMatchObject({ scene_info: { payer_client_ip: '203.0.113.9', h5_info: { type: 'Wap' } } });
    expect(
      combinePrepayBody('native', MCHID, { ...noPayer, payerClientIp: '203.0.113.9' }),
    ).not.toHaveProperty('combine_payer_info');
  });

  const sub = request.subOrders[0] as CombinePrepayRequest['subOrders'][number];
  it.each<[string, CombinePrepayRequest, 'jsapi' | 'h5' | 'native']>([
    ['one sub-order', { ...request, subOrders: [sub] }, 'jsapi'],
    [
      'eleven sub-orders',
      {
        ...request,
        subOrders: Array.from({ length: 11 }, (_, i) => ({ ...sub, outTradeNo: `SUBX00000${i}` })),
      },
      'jsapi',
    ],
    ['a repeated out_trade_no', { ...request, subOrders: [sub, sub] }, 'jsapi'],
    [
      'a zero amount',
      { ...request, subOrders: [sub, { ...sub, outTradeNo: 'SUBZ000001', amountFen: 0 }] },
      'jsapi',
    ],
    [
      'a 128-byte description',
      { ...request, subOrders: [sub, { ...sub, outTradeNo: 'SUBZ000001', description: '商'.repeat(43) }] },
      'jsapi',
    ],
    [
      'an empty attach',
      { ...request, subOrders: [sub, { ...sub, outTradeNo: 'SUBZ000001', attach: '' }] },
      'jsapi',
    ],
    ['jsapi without a payer', { ...request, payerOpenid: undefined }, 'jsapi'],
    ['native without the buyer IP', { ...request, payerOpenid: undefined }, 'native'],
    ['h5 without h5Info', { ...request, payerOpenid: undefined, payerClientIp: '203.0.113.9' }, 'h5'],
    ['a malformed combine number', { ...request, combineOutTradeNo: 'has space' }, 'jsapi'],
  ])('refuses %s', (_what, req, channel) => {
    expect(() => combinePrepayBody(channel, MCHID, req)).toThrow(TypeError);
  });
});

describe('combineCloseBody', () => {
  it('lists every sub-order as {mchid, out_trade_no}', () => {
    expect(combineCloseBody('wxa', [{ mchid: MCHID, outTradeNo: 'SUBA000001' }])).toEqual({
      combine_appid: 'wxa',
      sub_orders: [{ mchid: MCHID, out_trade_no: 'SUBA000001' }],
    });
    expect(() => combineCloseBody('wxa', [])).toThrow(TypeError);
    expect(() => combineCloseBody('', [{ mchid: MCHID, outTradeNo: 'SUBA000001' }])).toThrow(TypeError);
  });
});

describe('parseV3CombineTransaction', () => {
  it('types the documented reply, sub-order by sub-order', () => {
    const combine = parseV3CombineTransaction(PAID);
    expect(combine).toMatchObject({
      combineAppid: 'wx5ad0b0c0de5a4db0',
      combineMchid: MCHID,
      combineOutTradeNo: COMBINE_NO,
      payerOpenid: 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o',
      deviceId: 'POS1:123',
    });
    expect(combine.subOrders[1]).toMatchObject({
      mchid: SUB,
      outTradeNo: 'SUBB000001',
      tradeState: 'SUCCESS',
      tradeType: 'JSAPI',
      transactionId: '4200000001202612010000000002',
      attach: 'shop B',
      amount: { totalAmount: 250, payerAmount: 200, currency: 'CNY', payerCurrency: 'CNY' },
    });
    expect(combineFullyPaid(combine)).toBe(true);
  });

  it('reads an unpaid and a partly failed combine: no overall state, so combineFullyPaid says no', () => {
    const [first, second] = PAID.sub_orders;
    const partial = parseV3CombineTransaction({
      ...PAID,
      sub_orders: [
        first,
        {
          mchid: SUB,
          trade_state: 'PAYERROR',
          out_trade_no: 'SUBB000001',
          attach: 'b',
          amount: { total_amount: 250, currency: 'CNY' },
        },
      ],
    });
    expect(partial.subOrders[1]).toMatchObject({
      tradeState: 'PAYERROR',
      transactionId: '',
      successTime: undefined,
    });
    expect(combineFullyPaid(partial)).toBe(false);
    expect(second).toBeDefined();
  });

  const withSub = (patch: Record<string, unknown>) => ({
    ...PAID,
    sub_orders: [PAID.sub_orders[0], { ...PAID.sub_orders[1], ...patch }],
  });
  it.each([
    ['not an object', 'x'],
    ['no combine_out_trade_no', { ...PAID, combine_out_trade_no: undefined }],
    ['no sub_orders', { ...PAID, sub_orders: [] }],
    ['a sub-order that is not an object', { ...PAID, sub_orders: ['x'] }],
    ['an unknown trade_state', withSub({ trade_state: 'DONE' })],
    ['the single-order amount.total', withSub({ amount: { total: 250, currency: 'CNY' } })],
    ['an amount in yuan text', withSub({ amount: { total_amount: '2.50' } })],
    ['a fractional payer_amount', withSub({ amount: { total_amount: 250, payer_amount: 1.5 } })],
    ['a paid sub-order without transaction_id', withSub({ transaction_id: undefined })],
    ['a paid sub-order with a non-RFC 3339 success_time', withSub({ success_time: '20261201100000' })],
    ['a sub-order without mchid', withSub({ mchid: undefined })],
    ['a numeric attach', withSub({ attach: 5 })],
    ['a non-object combine_payer_info', { ...PAID, combine_payer_info: 'o1' }],
  ])('refuses %s', (_what, value) => {
    expect(() => parseV3CombineTransaction(value)).toThrow(WechatPayV3BadMessageError);
  });
});

describe('combineFromNotificationV3', () => {
  const notification = (eventType: string, resource: Record<string, unknown>): V3Notification => ({
    id: 'n1',
    createTime: '2026-12-01T10:00:01+08:00',
    eventType,
    resourceType: 'encrypt-resource',
    summary: '支付成功',
    originalType: 'transaction',
    resource,
  });
  it('takes TRANSACTION.SUCCESS with at least one paid sub-order, nothing else', () => {
    expect(combineFromNotificationV3(notification('TRANSACTION.SUCCESS', PAID)).subOrders).toHaveLength(2);
    expect(() => combineFromNotificationV3(notification('REFUND.SUCCESS', PAID))).toThrow(
      WechatPayV3BadMessageError,
    );
    const unpaid = {
      ...PAID,
      sub_orders: PAID.sub_orders.map((s) => ({ ...s, trade_state: 'NOTPAY', transaction_id: undefined })),
    };
    expect(() => combineFromNotificationV3(notification('TRANSACTION.SUCCESS', unpaid))).toThrow(
      WechatPayV3BadMessageError,
    );
  });
});

describe('WechatPayV3Client combine calls', () => {
  let fake: Awaited<ReturnType<typeof startFakeWechat>>;
  beforeAll(async () => {
    fake = await startFakeWechat();
  });
  afterAll(() => fake.close());
  beforeEach(() => {
    fake.received.length = 0;
  });

  const client = () =>
    new WechatPayV3Client({
      mchId: MCHID,
      serialNo: D.mchCertSerial,
      privateKey: D.mchPrivateKey,
      keys: new V3KeySet().addPublicKey(D.platformPublicKeyId, D.platformPublicKey),
      baseUrl: fake.url,
      timeoutMs: 2000,
    });

  function expectSigned(req: Received) {
    const auth = parseAuthorizationV3(req.headers.authorization as string);
    expect(auth.mchId).toBe(MCHID);
    const message = requestMessageV3({
      method: req.method,
      url: req.url,
      timestamp: auth.timestamp,
      nonce: auth.nonce,
      body: req.body,
    });
    expect(verifySignatureV3(message, auth.signature, D.mchPublicKey)).toBe(true);
  }

  it('combinePrepay posts the body to the channel path and reads its one field', async () => {
    fake.setHandler((req, res) => {
      const field = req.url.endsWith('/h5')
        ? 'h5_url'
        : req.url.endsWith('/native')
          ? 'code_url'
          : 'prepay_id';
      replyV3(res, 200, { [field]: `${field}-value` });
    });
    await expect(client().combinePrepay('jsapi', request)).resolves.toEqual({ prepayId: 'prepay_id-value' });
    const sent = fake.received[0] as Received;
    expect(sent.method).toBe('POST');
    expect(sent.url).toBe('/v3/combine-transactions/jsapi');
    expect(JSON.parse(sent.body)).toEqual(combinePrepayBody('jsapi', MCHID, request));
    expectSigned(sent);
    const { payerOpenid: _openid, ...noPayer } = request;
    await expect(client().combinePrepay('app', noPayer)).resolves.toEqual({ prepayId: 'prepay_id-value' });
    await expect(
      client().combinePrepay('h5', { ...noPayer, payerClientIp: '203.0.113.9', h5Info: { type: 'Wap' } }),
    ).resolves.toEqual({ h5Url: 'h5_url-value' });
    await expect(
      client().combinePrepay('native', { ...noPayer, payerClientIp: '203.0.113.9' }),
    ).resolves.toEqual({
      codeUrl: 'code_url-value',
    });
    expect(fake.received.map((r) => r.url)).toEqual([
      '/v3/combine-transactions/jsapi',
      '/v3/combine-transactions/app',
      '/v3/combine-transactions/h5',
      '/v3/combine-transactions/native',
    ]);
  });

  it('combinePrepay refuses a reply without its field', async () => {
    fake.setHandler((_req, res) => replyV3(res, 200, {}));
    await expect(client().combinePrepay('jsapi', request)).rejects.toBeInstanceOf(WechatPayV3BadMessageError);
  });

  it('queryCombine GETs by combine_out_trade_no and checks whose combine it is', async () => {
    fake.setHandler((_req, res) => replyV3(res, 200, PAID));
    const combine = await client().queryCombine(COMBINE_NO);
    expect(combine.subOrders.map((s) => s.outTradeNo)).toEqual(['SUBA000001', 'SUBB000001']);
    expect(fake.received[0]?.url).toBe(`/v3/combine-transactions/out-trade-no/${COMBINE_NO}`);
    expect(fake.received[0]?.body).toBe('');
    expectSigned(fake.received[0] as Received);

    fake.setHandler((_req, res) => replyV3(res, 200, { ...PAID, combine_mchid: SUB }));
    await expect(client().queryCombine(COMBINE_NO)).rejects.toBeInstanceOf(WechatPayV3BadMessageError);
    fake.setHandler((_req, res) => replyV3(res, 200, { ...PAID, combine_out_trade_no: 'OTHER' }));
    await expect(client().queryCombine(COMBINE_NO)).rejects.toBeInstanceOf(WechatPayV3BadMessageError);
    fake.setHandler((_req, res) =>
      replyV3(res, 200, { ...PAID, sub_orders: [{ ...PAID.sub_orders[0], amount: { total: 1 } }] }),
    );
    await expect(client().queryCombine(COMBINE_NO)).rejects.toBeInstanceOf(WechatPayV3BadMessageError);
    fake.setHandler((_req, res) => replyV3(res, 404, { code: 'ORDER_NOT_EXIST', message: '订单不存在' }));
    await expect(client().queryCombine(COMBINE_NO)).rejects.toBeInstanceOf(WechatPayV3OrderNotExistError);
  });

  it('closeCombine posts combine_appid and the sub-orders, 204 is success, ORDER_PAID is typed', async () => {
    fake.setHandler((_req, res) => replyV3(res, 204, undefined));
    const subs = [
      { mchid: MCHID, outTradeNo: 'SUBA000001' },
      { mchid: SUB, outTradeNo: 'SUBB000001' },
    ];
    await expect(client().closeCombine(COMBINE_NO, 'wx5ad0b0c0de5a4db0', subs)).resolves.toBeUndefined();
    const sent = fake.received[0] as Received;
    expect(sent.url).toBe(`/v3/combine-transactions/out-trade-no/${COMBINE_NO}/close`);
    expect(JSON.parse(sent.body)).toEqual({
      combine_appid: 'wx5ad0b0c0de5a4db0',
      sub_orders: [
        { mchid: MCHID, out_trade_no: 'SUBA000001' },
        { mchid: SUB, out_trade_no: 'SUBB000001' },
      ],
    });
    expectSigned(sent);
    fake.setHandler((_req, res) => replyV3(res, 403, { code: 'ORDER_PAID', message: '订单已支付' }));
    await expect(client().closeCombine(COMBINE_NO, 'wx5ad0b0c0de5a4db0', subs)).rejects.toBeInstanceOf(
      WechatPayV3OrderPaidError,
    );
  });
});

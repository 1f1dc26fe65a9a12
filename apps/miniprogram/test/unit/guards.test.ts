import { describe, expect, test } from 'vitest';
import {
  isCreateOrderResponse,
  isOrder,
  isOrderResponse,
  isPaidMessageView,
  isPaymentLaunch,
  isProductResponse,
  isRefundRequestView,
  isRefundSummary,
  paidMessageTemplate,
} from '../../miniprogram/services/guards.ts';
import { makeOrder, orderId, ORDER_ID_RE, OUT_TRADE_NO_RE, outTradeNoOf } from '../support/fake-backend.ts';

const FIVE = {
  timeStamp: '1764052200',
  nonceStr: 'n0nce',
  package: 'prepay_id=wx123',
  signType: 'HMAC-SHA256',
  paySign: 'ABCDEF',
};
const JSAPI = { kind: 'jsapi', appId: 'wxapp', ...FIVE };
const APP = {
  kind: 'app',
  appId: 'wxmobileapp',
  partnerId: '1900000109',
  prepayId: 'wx123',
  package: 'Sign=WXPay',
  nonceStr: 'n0nce',
  timeStamp: '1764052200',
  sign: 'ABCDEF',
};
const NATIVE = { kind: 'native', codeUrl: 'weixin://wxpay/bizpayurl?pr=abc123' };
const H5 = { kind: 'h5', redirectUrl: 'https://wx.tenpay.com/cgi-bin/mmpayweb-bin/checkmweb?prepay_id=wx1' };

function without(obj: Record<string, unknown>, key: string): Record<string, unknown> {
  const copy = { ...obj };
  delete copy[key];
  return copy;
}

describe('isPaymentLaunch', () => {
  test.each([
    ['jsapi', JSAPI],
    ['jsapi (APIv3, RSA)', { ...JSAPI, signType: 'RSA', paySign: 'c2lnbmVkIHdpdGggUlNB' }],
    ['app', APP],
    ['native', NATIVE],
    ['h5', H5],
  ])('a well-formed %s launch passes', (_kind, launch) => {
    expect(isPaymentLaunch(launch)).toBe(true);
  });

  test.each(Object.keys(JSAPI))('a jsapi launch without %s is refused', (key) => {
    expect(isPaymentLaunch(without(JSAPI, key))).toBe(false);
  });

  test.each([
    ['a wrong signType', { ...JSAPI, signType: 'SHA1' }],
    ['a package that is not a prepay_id', { ...JSAPI, package: 'Sign=WXPay' }],
    ['an empty appId', { ...JSAPI, appId: '' }],
    ['a numeric timeStamp', { ...JSAPI, timeStamp: 1764052200 }],
  ])('a jsapi launch with %s is refused', (_what, launch) => {
    expect(isPaymentLaunch(launch)).toBe(false);
  });

  test.each([
    ['the five fields without a kind (the old contract)', FIVE],
    ['an unknown kind', { ...JSAPI, kind: 'wallet' }],
    ['a kind from the object prototype', { ...JSAPI, kind: 'toString' }],
    ['an app launch without its sign', without(APP, 'sign')],
    ['a native launch without its codeUrl', { kind: 'native', codeUrl: '' }],
    ['an h5 launch without its redirectUrl', { kind: 'h5' }],
    ['null', null],
    ['an array', [JSAPI]],
  ])('%s is refused', (_what, launch) => {
    expect(isPaymentLaunch(launch)).toBe(false);
  });
});

describe('isCreateOrderResponse', () => {
  const order = makeOrder({ id: orderId(1) });

  test('an order with any well-formed launch passes (whether it can be paid here is decided later)', () => {
    for (const payment of [JSAPI, APP, NATIVE, H5])
      expect(isCreateOrderResponse({ order, payment })).toBe(true);
  });

  test('an order with the old bare five fields, or no payment, is refused', () => {
    expect(isCreateOrderResponse({ order, payment: FIVE })).toBe(false);
    expect(isCreateOrderResponse({ order })).toBe(false);
  });
});

describe('order ids', () => {
  test('the 30-character order id and its 32-character out_trade_no are accepted', () => {
    const id = orderId(7);
    expect(id).toMatch(ORDER_ID_RE);
    expect(outTradeNoOf(id, 12)).toMatch(OUT_TRADE_NO_RE);
    expect(outTradeNoOf(id, 12)).toHaveLength(32);
    const order = makeOrder({
      id: '20261125143000aZ09bY18cX27dW36',
      outTradeNo: '20261125143000aZ09bY18cX27dW3602',
    });
    expect(isOrder(order)).toBe(true);
  });

  test.each(['PENDING', 'PAID', 'CLOSED', 'PARTIALLY_REFUNDED', 'REFUNDED'])(
    'status %s is accepted',
    (status) => {
      expect(isOrder({ ...makeOrder({ id: orderId(3) }), status })).toBe(true);
    },
  );

  test('an unknown status is refused', () => {
    expect(isOrder({ ...makeOrder({ id: orderId(3) }), status: 'REVERSED' })).toBe(false);
  });
});

describe('refunds on an order', () => {
  const order = makeOrder({
    id: orderId(5),
    status: 'PARTIALLY_REFUNDED',
    paidAt: '2026-11-25T06:31:00.000Z',
  });
  const REQUEST = { state: 'APPROVED', reason: '不想要了', requestedAt: '2026-11-26T01:00:00.000Z' };
  const REFUND = {
    outRefundNo: `${outTradeNoOf(orderId(5))}R01`,
    refundFen: 1990,
    state: 'SUCCESS',
    createdAt: '2026-11-26T02:00:00.000Z',
    settledAt: '2026-11-26T02:05:00.000Z',
  };

  test('both are optional: an order without them passes, as the order list sends it', () => {
    expect(isOrder(order)).toBe(true);
  });

  test('a request in each state and refunds in each state pass', () => {
    for (const state of ['REQUESTED', 'APPROVED', 'REJECTED'])
      expect(isRefundRequestView({ ...REQUEST, state, decidedAt: '2026-11-26T02:00:00.000Z' })).toBe(true);
    for (const state of ['PENDING', 'PROCESSING', 'SUCCESS', 'CLOSED', 'ABNORMAL'])
      expect(isRefundSummary({ ...REFUND, state })).toBe(true);
    expect(isRefundSummary(without(REFUND, 'settledAt'))).toBe(true);
    expect(
      isOrder({ ...order, refundRequest: REQUEST, refunds: [REFUND, { ...REFUND, state: 'PENDING' }] }),
    ).toBe(true);
    expect(isOrderResponse({ order: { ...order, refundRequest: REQUEST, refunds: [] } })).toBe(true);
  });

  test.each([
    ['an unknown state', { ...REQUEST, state: 'CANCELLED' }],
    ['no reason', without(REQUEST, 'reason')],
    ['no requestedAt', without(REQUEST, 'requestedAt')],
    ['a numeric decidedAt', { ...REQUEST, decidedAt: 1764122400000 }],
    ['an array', [REQUEST]],
  ])('a request with %s is refused, and so is the order carrying it', (_what, request) => {
    expect(isRefundRequestView(request)).toBe(false);
    expect(isOrder({ ...order, refundRequest: request })).toBe(false);
  });

  test.each([
    ['an unknown state', { ...REFUND, state: 'REFUNDED' }],
    ['yuan instead of fen', { ...REFUND, refundFen: 19.9 }],
    ['an amount as a string', { ...REFUND, refundFen: '1990' }],
    ['a zero amount', { ...REFUND, refundFen: 0 }],
    ['an empty outRefundNo', { ...REFUND, outRefundNo: '' }],
    ['no createdAt', without(REFUND, 'createdAt')],
  ])('a refund with %s is refused, and so is the order carrying it', (_what, refund) => {
    expect(isRefundSummary(refund)).toBe(false);
    expect(isOrder({ ...order, refunds: [REFUND, refund] })).toBe(false);
  });

  test('refunds that are not a list are refused', () => {
    expect(isOrder({ ...order, refunds: REFUND })).toBe(false);
    expect(isOrder({ ...order, refunds: 'none' })).toBe(false);
  });
});

describe('the "payment succeeded" subscribe message', () => {
  const order = makeOrder({ id: orderId(6), status: 'PAID', paidAt: '2026-11-25T06:31:00.000Z' });
  const SENT = {
    state: 'SENT',
    templateId: 'tmpl-1',
    answeredAt: '2026-11-25T06:32:00.000Z',
    sentAt: '2026-11-25T06:32:01.000Z',
  };

  test.each(['ACCEPTED', 'SENT', 'DECLINED', 'FAILED'])('%s passes, on its own and on an order', (state) => {
    const view = { ...SENT, state, reason: state === 'FAILED' ? '43101' : undefined };
    expect(isPaidMessageView(view)).toBe(true);
    expect(isOrder({ ...order, paidMessage: view })).toBe(true);
  });

  test.each([
    ['an unknown state', { ...SENT, state: 'QUEUED' }],
    ['no template', without(SENT, 'templateId')],
    ['no answer time', without(SENT, 'answeredAt')],
    ['a numeric reason', { ...SENT, reason: 43101 }],
  ])('%s is refused, and so is the order carrying it', (_, view) => {
    expect(isPaidMessageView(view)).toBe(false);
    expect(isOrder({ ...order, paidMessage: view })).toBe(false);
  });

  test('the template id comes from the config when it is a non-empty string; otherwise nothing is asked', () => {
    expect(paidMessageTemplate({ mode: 'live', subscribeTemplates: { paymentSucceeded: 'tmpl-1' } })).toBe(
      'tmpl-1',
    );
    expect(paidMessageTemplate({ mode: 'live' })).toBeNull();
    expect(paidMessageTemplate({ mode: 'live', subscribeTemplates: {} })).toBeNull();
    expect(paidMessageTemplate({ mode: 'live', subscribeTemplates: { paymentSucceeded: '' } })).toBeNull();
    expect(paidMessageTemplate({ mode: 'live', subscribeTemplates: 'tmpl-1' } as never)).toBeNull();
    expect(
      paidMessageTemplate({ mode: 'live', subscribeTemplates: { paymentSucceeded: 7 } } as never),
    ).toBeNull();
  });
});

describe('one product', () => {
  test('a product reply passes; a bare product or a broken price does not', () => {
    const product = { id: 'tea', name: '龙井茶', description: '明前', priceFen: 1990 };
    expect(isProductResponse({ product })).toBe(true);
    expect(isProductResponse(product)).toBe(false);
    expect(isProductResponse({ product: { ...product, priceFen: 19.9 } })).toBe(false);
  });
});

describe('combine payments', () => {
  const TEA = { id: 'tea', name: '龙井茶', description: '明前龙井 50g', priceFen: 1990 };
  const SUB = {
    outTradeNo: `${orderId(1)}1a`,
    mchid: '1900000209',
    merchantName: '龙泉青瓷坊',
    totalFen: 12800,
    state: 'PAID',
    transactionId: '4200000001',
  };

  test('a product with or without its seller passes; a broken seller does not', () => {
    expect(isProductResponse({ product: TEA })).toBe(true);
    expect(
      isProductResponse({ product: { ...TEA, merchant: { mchid: '1900000109', name: '茶语小店' } } }),
    ).toBe(true);
    expect(isProductResponse({ product: { ...TEA, merchant: { name: '茶语小店' } } })).toBe(false);
    expect(isProductResponse({ product: { ...TEA, merchant: { mchid: '', name: '茶语小店' } } })).toBe(false);
    expect(isProductResponse({ product: { ...TEA, merchant: '茶语小店' } })).toBe(false);
  });

  test('an order with sub-orders and a partially paid amount passes', () => {
    const order = makeOrder({ id: orderId(1), subOrders: [SUB as never], partiallyPaidFen: 12800 });
    expect(isOrder(order)).toBe(true);
    expect(isOrder({ ...order, subOrders: [{ ...SUB, state: 'PENDING', transactionId: undefined }] })).toBe(
      true,
    );
  });

  test.each([
    ['an unknown sub-order state', { subOrders: [{ ...SUB, state: 'PAYERROR' }] }],
    ['a sub-order amount in yuan', { subOrders: [{ ...SUB, totalFen: 128.5 }] }],
    ['a sub-order without its merchant', { subOrders: [without(SUB, 'mchid')] }],
    ['a sub-order without its name', { subOrders: [without(SUB, 'merchantName')] }],
    ['sub-orders that are not a list', { subOrders: SUB }],
    ['a partially paid amount that is not fen', { partiallyPaidFen: '128.00' }],
  ])('%s is refused', (_what, overrides) => {
    expect(isOrder({ ...makeOrder({ id: orderId(1) }), ...overrides })).toBe(false);
  });
});

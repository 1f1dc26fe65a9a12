import { afterEach, describe, expect, test, vi } from 'vitest';
import type { JsapiPayment, PaymentLaunch, PaymentParams } from '@mp-pay/shared/api';
import { makeOrder, orderId, outTradeNoOf } from '../support/fake-backend.ts';
import { cashier, uninstallWx, type WxStubs } from '../support/fake-wx.ts';
import { FakeBackend, freshServices } from './setup.ts';

afterEach(() => {
  vi.useRealTimers();
  uninstallWx();
});

/** The five wx.requestPayment fields, as the server signed them. */
const PARAMS: PaymentParams = {
  timeStamp: '1764052200',
  nonceStr: 'n0nce',
  package: 'prepay_id=wx123',
  signType: 'HMAC-SHA256',
  paySign: 'ABCDEF',
};
/** What the server sends for the mini-program channel: the five fields plus kind and appId. */
const LAUNCH: JsapiPayment = { kind: 'jsapi', appId: 'wxlaunchapp', ...PARAMS };
const FIVE = ['nonceStr', 'package', 'paySign', 'signType', 'timeStamp'];
/** Well-formed launches for other clients, which a mini-program cannot open. */
const OTHER_LAUNCHES: PaymentLaunch[] = [
  {
    kind: 'app',
    appId: 'wxmobileapp',
    partnerId: '1900000109',
    prepayId: 'wx123',
    package: 'Sign=WXPay',
    nonceStr: 'n0nce',
    timeStamp: '1764052200',
    sign: 'ABCDEF',
  },
  { kind: 'native', codeUrl: 'weixin://wxpay/bizpayurl?pr=abc123' },
  { kind: 'h5', redirectUrl: 'https://wx.tenpay.com/cgi-bin/mmpayweb-bin/checkmweb?prepay_id=wx123' },
];
const REFUSED = '暂时无法在小程序内完成这笔支付，请稍后重试或联系客服';

const O1 = orderId(1);

/** A backend holding one pending order O1, with a live session already stored. */
function withOrder() {
  const backend = new FakeBackend();
  backend.orders = [makeOrder({ id: O1 })];
  backend.tokens.add('t');
  const storage = new Map<string, unknown>([['mp-pay:token', 't']]);
  return { backend, storage };
}

function orderPolls(backend: FakeBackend) {
  return backend.requests.filter((r) => r.method === 'GET' && r.path === `/api/orders/${O1}`);
}

describe('live mode', () => {
  test('a jsapi launch calls wx.requestPayment with exactly the five signed fields (no kind, no appId)', async () => {
    const { backend, storage } = withOrder();
    const seen: Record<string, unknown>[] = [];
    const s = await freshServices(backend, cashier('requestPayment:ok', seen), storage);
    const result = await s.payment.requestPayment(LAUNCH);
    expect(result).toEqual({ kind: 'ok' });
    expect(seen).toHaveLength(1);
    const passed = seen[0] ?? {};
    const dataKeys = Object.keys(passed).filter((k) => typeof passed[k] !== 'function');
    expect(dataKeys.sort()).toEqual(FIVE);
    expect(passed).toMatchObject(PARAMS);
    expect(passed).not.toHaveProperty('kind');
    expect(passed).not.toHaveProperty('appId');
    expect(s.fake.calls).not.toContain('showActionSheet');
  });

  test('an APIv3 launch passes signType RSA and its base64 paySign through unchanged', async () => {
    const { backend, storage } = withOrder();
    const seen: Record<string, unknown>[] = [];
    const s = await freshServices(backend, cashier('requestPayment:ok', seen), storage);
    const v3: JsapiPayment = {
      ...LAUNCH,
      signType: 'RSA',
      paySign: 'c2lnbmVkIHdpdGggdGhlIG1lcmNoYW50IGtleQ==',
    };
    expect(await s.payment.requestPayment(v3)).toEqual({ kind: 'ok' });
    expect(seen[0]).toMatchObject({ signType: 'RSA', paySign: v3.paySign, package: v3.package });
  });

  test('fields beyond the contract never reach the cashier either', async () => {
    const { backend, storage } = withOrder();
    const seen: Record<string, unknown>[] = [];
    const s = await freshServices(backend, cashier('requestPayment:ok', seen), storage);
    await s.payment.requestPayment({ ...LAUNCH, extra: 'x', success: 'not a callback' } as JsapiPayment);
    const passed = seen[0] ?? {};
    expect(
      Object.keys(passed)
        .filter((k) => typeof passed[k] !== 'function')
        .sort(),
    ).toEqual(FIVE);
    expect(passed.success).toEqual(expect.any(Function));
  });

  test.each(OTHER_LAUNCHES.map((l) => [l.kind, l] as const))(
    'a %s launch is refused: no wx.requestPayment, a message for the buyer, an error for the developer',
    async (kind, launch) => {
      const { backend, storage } = withOrder();
      const seen: Record<string, unknown>[] = [];
      const logged = vi.spyOn(console, 'error').mockImplementation(() => undefined);
      const s = await freshServices(backend, cashier('requestPayment:ok', seen), storage);
      const refusal = s.payment.requestPayment(launch);
      await expect(refusal).rejects.toBeInstanceOf(s.errors.ApiError);
      const err = await refusal.catch((e: unknown) => e);
      expect(err).toMatchObject({ id: 'payment_unsupported', status: 0 });
      expect(s.errors.describeError(err)).toBe(REFUSED);
      expect(seen).toEqual([]);
      expect(s.fake.calls).not.toContain('requestPayment');
      expect(s.fake.calls).not.toContain('showActionSheet');
      // Refused before asking anything, the server mode included.
      expect(backend.requests).toEqual([]);
      expect(logged).toHaveBeenCalledTimes(1);
      expect(String(logged.mock.calls[0]?.[0])).toContain(`'${kind}' payment launch`);
      logged.mockRestore();
    },
  );

  test('pay again with a launch the mini-program cannot open is refused the same way', async () => {
    const { backend, storage } = withOrder();
    backend.paymentFor = () => ({ kind: 'native', codeUrl: 'weixin://wxpay/bizpayurl?pr=abc123' });
    const logged = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const s = await freshServices(backend, cashier('requestPayment:ok', []), storage);
    await expect(s.payment.payAgain(O1)).rejects.toMatchObject({ id: 'payment_unsupported' });
    expect(s.fake.calls).not.toContain('requestPayment');
    expect(logged).toHaveBeenCalledTimes(1);
    logged.mockRestore();
  });

  test('client success is not "paid": it polls until the server says PAID', async () => {
    const { backend, storage } = withOrder();
    backend.intercept(() => {
      // The third look at the order finds it paid (the notification arrived meanwhile).
      if (orderPolls(backend).length === 3) backend.setStatus(O1, 'PAID');
      return undefined;
    });
    const s = await freshServices(backend, cashier('requestPayment:ok', []), storage);
    s.config.paymentConfirm.timeoutMs = 10_000;
    const outcome = await s.payment.settle(O1, await s.payment.requestPayment(LAUNCH));
    expect(outcome.kind).toBe('paid');
    expect(outcome.order.status).toBe('PAID');
    expect(orderPolls(backend)).toHaveLength(3);
  });

  test('client success the server never confirms ends as "unconfirmed", never as paid', async () => {
    const { backend, storage } = withOrder();
    const s = await freshServices(backend, cashier('requestPayment:ok', []), storage);
    const outcome = await s.payment.settle(O1, { kind: 'ok' });
    expect(outcome).toMatchObject({ kind: 'unconfirmed', order: { status: 'PENDING' } });
    expect(orderPolls(backend).length).toBeGreaterThan(1);
  });

  test('a server-side close while confirming ends as "closed"', async () => {
    const { backend, storage } = withOrder();
    backend.setStatus(O1, 'CLOSED');
    const s = await freshServices(backend, {}, storage);
    expect((await s.payment.settle(O1, { kind: 'ok' })).kind).toBe('closed');
  });

  test('polling backs off: 1.5x longer waits up to the cap, and stops at the deadline', async () => {
    vi.useFakeTimers({ now: 0 });
    const { backend, storage } = withOrder();
    const times: number[] = [];
    backend.intercept((req) => {
      if (req.path === `/api/orders/${O1}`) times.push(Date.now());
      return undefined;
    });
    const s = await freshServices(backend, {}, storage);
    s.config.paymentConfirm = { firstDelayMs: 100, maxDelayMs: 400, timeoutMs: 2_000 };
    const done = s.payment.confirmPayment(O1);
    await vi.advanceTimersByTimeAsync(5_000);
    await expect(done).resolves.toMatchObject({ settled: false });
    expect(times).toEqual([0, 100, 250, 475, 813, 1213, 1613]);
  });

  test('polling stops as soon as the caller says so (the page was closed)', async () => {
    const { backend, storage } = withOrder();
    const s = await freshServices(backend, {}, storage);
    s.config.paymentConfirm.timeoutMs = 10_000;
    const result = await s.payment.confirmPayment(O1, () => orderPolls(backend).length >= 2);
    expect(result).toMatchObject({ settled: false, order: { status: 'PENDING' } });
    expect(orderPolls(backend)).toHaveLength(2);
  });

  test('a network error while polling is retried; a 404 stops at once', async () => {
    const { backend, storage } = withOrder();
    let n = 0;
    backend.intercept((req) => {
      if (req.path !== `/api/orders/${O1}`) return undefined;
      n += 1;
      if (n === 1) return { networkError: 'timeout' };
      if (n === 2) backend.setStatus(O1, 'PAID');
      return undefined;
    });
    const s = await freshServices(backend, {}, storage);
    s.config.paymentConfirm.timeoutMs = 10_000;
    expect((await s.payment.settle(O1, { kind: 'ok' })).kind).toBe('paid');
    await expect(s.payment.confirmPayment(orderId(99))).rejects.toMatchObject({ id: 'order_not_found' });
  });

  test('a cancel leaves the order pending and says so, without polling', async () => {
    const { backend, storage } = withOrder();
    const s = await freshServices(backend, cashier('requestPayment:fail cancel', []), storage);
    const client = await s.payment.requestPayment(LAUNCH);
    expect(client).toEqual({ kind: 'cancel' });
    const outcome = await s.payment.settle(O1, client);
    expect(outcome).toMatchObject({ kind: 'cancelled', order: { status: 'PENDING' } });
    expect(orderPolls(backend)).toHaveLength(1);
  });

  test('a failure keeps its detail and the order stays pending', async () => {
    const { backend, storage } = withOrder();
    const s = await freshServices(backend, cashier('requestPayment:fail 支付验证签名失败', []), storage);
    const outcome = await s.payment.settle(O1, await s.payment.requestPayment(LAUNCH));
    expect(outcome).toMatchObject({
      kind: 'failed',
      detail: '支付验证签名失败',
      order: { status: 'PENDING' },
    });
  });

  test('after a cancel the server still has the last word (paid elsewhere)', async () => {
    const { backend, storage } = withOrder();
    backend.setStatus(O1, 'PAID');
    const s = await freshServices(backend, {}, storage);
    expect((await s.payment.settle(O1, { kind: 'cancel' })).kind).toBe('paid');
  });

  test('pay again asks the server for fresh parameters, then opens the cashier with them', async () => {
    const { backend, storage } = withOrder();
    const seen: Record<string, unknown>[] = [];
    const s = await freshServices(backend, cashier('requestPayment:ok', seen), storage);
    expect(await s.payment.payAgain(O1)).toEqual({ kind: 'ok' });
    expect(backend.requests.some((r) => r.method === 'POST' && r.path === `/api/orders/${O1}/payment`)).toBe(
      true,
    );
    expect(seen[0]).toMatchObject({ package: `prepay_id=wx${outTradeNoOf(O1)}1`, nonceStr: 'nonce1' });
    expect(seen[0]).not.toHaveProperty('appId');
    backend.setStatus(O1, 'PAID');
    await expect(s.payment.payAgain(O1)).rejects.toMatchObject({ id: 'order_already_paid' });
  });

  test('errMsg classification', async () => {
    const s = await freshServices(new FakeBackend());
    expect(s.payment.classifyErrMsg('requestPayment:ok')).toEqual({ kind: 'ok' });
    expect(s.payment.classifyErrMsg('requestPayment:fail cancel')).toEqual({ kind: 'cancel' });
    expect(s.payment.classifyErrMsg('requestPayment:fail (detail message)')).toEqual({
      kind: 'fail',
      detail: '(detail message)',
    });
    expect(s.payment.classifyErrMsg('requestPayment:fail')).toEqual({
      kind: 'fail',
      detail: 'requestPayment:fail',
    });
  });
});

describe('sandbox mode', () => {
  function sandbox(reply: (data: Record<string, unknown>) => { status: number; body: unknown }) {
    const { backend, storage } = withOrder();
    backend.mode = { mode: 'sandbox', sandboxUrl: 'http://sandbox.test', appId: 'wxsandbox' };
    const payerCalls: Record<string, unknown>[] = [];
    backend.intercept((req) => {
      if (req.url !== 'http://sandbox.test/sandbox/pay') return undefined;
      payerCalls.push(req.data as Record<string, unknown>);
      return reply(req.data as Record<string, unknown>);
    });
    return { backend, storage, payerCalls };
  }
  function sheet(choice: number | 'dismiss', shown: string[][]): WxStubs {
    return {
      showActionSheet: ((opts: WechatMiniprogram.ShowActionSheetOption) => {
        shown.push(opts.itemList);
        setTimeout(() => {
          if (choice === 'dismiss') opts.fail?.({ errMsg: 'showActionSheet:fail cancel' });
          else opts.success?.({ tapIndex: choice, errMsg: 'showActionSheet:ok' });
        }, 0);
      }) as never,
    };
  }
  const ERRMSG = {
    success: 'requestPayment:ok',
    cancel: 'requestPayment:fail cancel',
    fail: 'requestPayment:fail 余额不足',
  } as Record<string, string>;

  test.each([
    [0, 'success', { kind: 'ok' }],
    [1, 'cancel', { kind: 'cancel' }],
    [2, 'fail', { kind: 'fail', detail: '余额不足' }],
    ['dismiss', 'cancel', { kind: 'cancel' }],
  ] as const)(
    "sheet choice %s posts the five fields, the app's appId and outcome %s to the sandbox payer",
    async (choice, outcome, expected) => {
      const { backend, storage, payerCalls } = sandbox((d) => ({
        status: 200,
        body: { errMsg: ERRMSG[String(d.outcome)] },
      }));
      const shown: string[][] = [];
      // No wx.requestPayment stub: in sandbox mode the real cashier must not be called.
      const s = await freshServices(backend, sheet(choice, shown), storage);
      expect(await s.payment.requestPayment({ ...LAUNCH, extra: 'x' } as JsapiPayment)).toEqual(expected);
      expect(shown).toEqual([['模拟支付成功', '模拟取消支付', '模拟支付失败']]);
      // The appId is the app's (from /api/config), as WeChat would use, not the launch's; no kind.
      expect(payerCalls).toEqual([{ ...PARAMS, appId: 'wxsandbox', outcome }]);
    },
  );

  test('a payer rejection (bad paySign) is a failure with the payer message', async () => {
    const { backend, storage } = sandbox(() => ({
      status: 400,
      body: { errMsg: 'requestPayment:fail invalid paySign' },
    }));
    const s = await freshServices(backend, sheet(0, []), storage);
    expect(await s.payment.requestPayment(LAUNCH)).toEqual({ kind: 'fail', detail: 'invalid paySign' });
  });

  test('a non-jsapi launch opens neither the sheet nor the sandbox payer', async () => {
    const { backend, storage, payerCalls } = sandbox(() => ({
      status: 200,
      body: { errMsg: 'requestPayment:ok' },
    }));
    const shown: string[][] = [];
    const logged = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const s = await freshServices(backend, sheet(0, shown), storage);
    for (const launch of OTHER_LAUNCHES) {
      await expect(s.payment.requestPayment(launch)).rejects.toMatchObject({ id: 'payment_unsupported' });
    }
    expect(shown).toEqual([]);
    expect(payerCalls).toEqual([]);
    expect(logged).toHaveBeenCalledTimes(OTHER_LAUNCHES.length);
    logged.mockRestore();
  });

  test('an unreachable payer is a failure, not an exception', async () => {
    const { backend, storage } = withOrder();
    backend.mode = { mode: 'sandbox', sandboxUrl: 'http://sandbox.test', appId: 'wxsandbox' };
    backend.intercept((req) =>
      req.url.startsWith('http://sandbox.test') ? { networkError: 'refused' } : undefined,
    );
    const s = await freshServices(backend, sheet(0, []), storage);
    const result = await s.payment.requestPayment(LAUNCH);
    expect(result.kind).toBe('fail');
  });
});

import { afterEach, describe, expect, test, vi } from 'vitest';
import type { PaymentParams } from '@mp-pay/shared/api';
import { makeOrder } from '../support/fake-backend.ts';
import { cashier, uninstallWx, type WxStubs } from '../support/fake-wx.ts';
import { FakeBackend, freshServices } from './setup.ts';

afterEach(() => {
  vi.useRealTimers();
  uninstallWx();
});

const PARAMS: PaymentParams = {
  timeStamp: '1764052200',
  nonceStr: 'n0nce',
  package: 'prepay_id=wx123',
  signType: 'HMAC-SHA256',
  paySign: 'ABCDEF',
};
const FIVE = ['nonceStr', 'package', 'paySign', 'signType', 'timeStamp'];

/** A backend holding one pending order "o1", with a live session already stored. */
function withOrder() {
  const backend = new FakeBackend();
  backend.orders = [makeOrder({ id: 'o1' })];
  backend.tokens.add('t');
  const storage = new Map<string, unknown>([['mp-pay:token', 't']]);
  return { backend, storage };
}

function orderPolls(backend: FakeBackend) {
  return backend.requests.filter((r) => r.method === 'GET' && r.path === '/api/orders/o1');
}

describe('live mode', () => {
  test('wx.requestPayment gets exactly the five signed fields, nothing else', async () => {
    const { backend, storage } = withOrder();
    const seen: Record<string, unknown>[] = [];
    const s = await freshServices(backend, cashier('requestPayment:ok', seen), storage);
    // The server's reply may carry more (appId, say): only the five may reach the cashier.
    const result = await s.payment.requestPayment({ ...PARAMS, appId: 'wxapp' } as PaymentParams);
    expect(result).toEqual({ kind: 'ok' });
    const passed = seen[0] ?? {};
    const dataKeys = Object.keys(passed).filter((k) => typeof passed[k] !== 'function');
    expect(dataKeys.sort()).toEqual(FIVE);
    expect(passed).toMatchObject(PARAMS);
    expect(s.fake.calls).not.toContain('showActionSheet');
  });

  test('client success is not "paid": it polls until the server says PAID', async () => {
    const { backend, storage } = withOrder();
    backend.intercept(() => {
      // The third look at the order finds it paid (the notification arrived meanwhile).
      if (orderPolls(backend).length === 3) backend.setStatus('o1', 'PAID');
      return undefined;
    });
    const s = await freshServices(backend, cashier('requestPayment:ok', []), storage);
    s.config.paymentConfirm.timeoutMs = 10_000;
    const outcome = await s.payment.settle('o1', await s.payment.requestPayment(PARAMS));
    expect(outcome.kind).toBe('paid');
    expect(outcome.order.status).toBe('PAID');
    expect(orderPolls(backend)).toHaveLength(3);
  });

  test('client success the server never confirms ends as "unconfirmed", never as paid', async () => {
    const { backend, storage } = withOrder();
    const s = await freshServices(backend, cashier('requestPayment:ok', []), storage);
    const outcome = await s.payment.settle('o1', { kind: 'ok' });
    expect(outcome).toMatchObject({ kind: 'unconfirmed', order: { status: 'PENDING' } });
    expect(orderPolls(backend).length).toBeGreaterThan(1);
  });

  test('a server-side close while confirming ends as "closed"', async () => {
    const { backend, storage } = withOrder();
    backend.setStatus('o1', 'CLOSED');
    const s = await freshServices(backend, {}, storage);
    expect((await s.payment.settle('o1', { kind: 'ok' })).kind).toBe('closed');
  });

  test('polling backs off: 1.5x longer waits up to the cap, and stops at the deadline', async () => {
    vi.useFakeTimers({ now: 0 });
    const { backend, storage } = withOrder();
    const times: number[] = [];
    backend.intercept((req) => {
      if (req.path === '/api/orders/o1') times.push(Date.now());
      return undefined;
    });
    const s = await freshServices(backend, {}, storage);
    s.config.paymentConfirm = { firstDelayMs: 100, maxDelayMs: 400, timeoutMs: 2_000 };
    const done = s.payment.confirmPayment('o1');
    await vi.advanceTimersByTimeAsync(5_000);
    await expect(done).resolves.toMatchObject({ settled: false });
    expect(times).toEqual([0, 100, 250, 475, 813, 1213, 1613]);
  });

  test('polling stops as soon as the caller says so (the page was closed)', async () => {
    const { backend, storage } = withOrder();
    const s = await freshServices(backend, {}, storage);
    s.config.paymentConfirm.timeoutMs = 10_000;
    const result = await s.payment.confirmPayment('o1', () => orderPolls(backend).length >= 2);
    expect(result).toMatchObject({ settled: false, order: { status: 'PENDING' } });
    expect(orderPolls(backend)).toHaveLength(2);
  });

  test('a network error while polling is retried; a 404 stops at once', async () => {
    const { backend, storage } = withOrder();
    let n = 0;
    backend.intercept((req) => {
      if (req.path !== '/api/orders/o1') return undefined;
      n += 1;
      if (n === 1) return { networkError: 'timeout' };
      if (n === 2) backend.setStatus('o1', 'PAID');
      return undefined;
    });
    const s = await freshServices(backend, {}, storage);
    s.config.paymentConfirm.timeoutMs = 10_000;
    expect((await s.payment.settle('o1', { kind: 'ok' })).kind).toBe('paid');
    await expect(s.payment.confirmPayment('missing')).rejects.toMatchObject({ id: 'order_not_found' });
  });

  test('a cancel leaves the order pending and says so, without polling', async () => {
    const { backend, storage } = withOrder();
    const s = await freshServices(backend, cashier('requestPayment:fail cancel', []), storage);
    const client = await s.payment.requestPayment(PARAMS);
    expect(client).toEqual({ kind: 'cancel' });
    const outcome = await s.payment.settle('o1', client);
    expect(outcome).toMatchObject({ kind: 'cancelled', order: { status: 'PENDING' } });
    expect(orderPolls(backend)).toHaveLength(1);
  });

  test('a failure keeps its detail and the order stays pending', async () => {
    const { backend, storage } = withOrder();
    const s = await freshServices(backend, cashier('requestPayment:fail 支付验证签名失败', []), storage);
    const outcome = await s.payment.settle('o1', await s.payment.requestPayment(PARAMS));
    expect(outcome).toMatchObject({
      kind: 'failed',
      detail: '支付验证签名失败',
      order: { status: 'PENDING' },
    });
  });

  test('after a cancel the server still has the last word (paid elsewhere)', async () => {
    const { backend, storage } = withOrder();
    backend.setStatus('o1', 'PAID');
    const s = await freshServices(backend, {}, storage);
    expect((await s.payment.settle('o1', { kind: 'cancel' })).kind).toBe('paid');
  });

  test('pay again asks the server for fresh parameters, then opens the cashier with them', async () => {
    const { backend, storage } = withOrder();
    const seen: Record<string, unknown>[] = [];
    const s = await freshServices(backend, cashier('requestPayment:ok', seen), storage);
    expect(await s.payment.payAgain('o1')).toEqual({ kind: 'ok' });
    expect(backend.requests.some((r) => r.method === 'POST' && r.path === '/api/orders/o1/payment')).toBe(
      true,
    );
    expect(seen[0]).toMatchObject({ package: 'prepay_id=wxo11', nonceStr: 'nonce1' });
    backend.setStatus('o1', 'PAID');
    await expect(s.payment.payAgain('o1')).rejects.toMatchObject({ id: 'order_already_paid' });
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
    'sheet choice %s posts the five fields, appId and outcome %s to the sandbox payer',
    async (choice, outcome, expected) => {
      const { backend, storage, payerCalls } = sandbox((d) => ({
        status: 200,
        body: { errMsg: ERRMSG[String(d.outcome)] },
      }));
      const shown: string[][] = [];
      // No wx.requestPayment stub: in sandbox mode the real cashier must not be called.
      const s = await freshServices(backend, sheet(choice, shown), storage);
      expect(await s.payment.requestPayment({ ...PARAMS, extra: 'x' } as PaymentParams)).toEqual(expected);
      expect(shown).toEqual([['模拟支付成功', '模拟取消支付', '模拟支付失败']]);
      expect(payerCalls).toEqual([{ ...PARAMS, appId: 'wxsandbox', outcome }]);
    },
  );

  test('a payer rejection (bad paySign) is a failure with the payer message', async () => {
    const { backend, storage } = sandbox(() => ({
      status: 400,
      body: { errMsg: 'requestPayment:fail invalid paySign' },
    }));
    const s = await freshServices(backend, sheet(0, []), storage);
    expect(await s.payment.requestPayment(PARAMS)).toEqual({ kind: 'fail', detail: 'invalid paySign' });
  });

  test('an unreachable payer is a failure, not an exception', async () => {
    const { backend, storage } = withOrder();
    backend.mode = { mode: 'sandbox', sandboxUrl: 'http://sandbox.test', appId: 'wxsandbox' };
    backend.intercept((req) =>
      req.url.startsWith('http://sandbox.test') ? { networkError: 'refused' } : undefined,
    );
    const s = await freshServices(backend, sheet(0, []), storage);
    const result = await s.payment.requestPayment(PARAMS);
    expect(result.kind).toBe('fail');
  });
});

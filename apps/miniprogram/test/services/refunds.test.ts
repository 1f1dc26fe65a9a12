import { afterEach, expect, test } from 'vitest';
import { makeOrder, orderId } from '../support/fake-backend.ts';
import { uninstallWx } from '../support/fake-wx.ts';
import { FakeBackend, freshServices, wxLoginStub } from './setup.ts';

afterEach(() => uninstallWx());

const O1 = orderId(1);
const PATH = `/api/orders/${O1}/refund-requests`;

function withPaidOrder() {
  const backend = new FakeBackend();
  backend.orders = [makeOrder({ id: O1, status: 'PAID', paidAt: '2026-11-25T06:31:00.000Z' })];
  backend.tokens.add('t');
  const storage = new Map<string, unknown>([['mp-pay:token', 't']]);
  return { backend, storage };
}

test('askRefund posts the reason with the session and returns the order with its request and refunds', async () => {
  const { backend, storage } = withPaidOrder();
  const s = await freshServices(backend, {}, storage);
  const order = await s.orders.askRefund(O1, '不想要了');
  expect(order.refundRequest).toEqual({
    state: 'REQUESTED',
    reason: '不想要了',
    requestedAt: '2026-11-26T01:00:00.000Z',
  });
  expect(order.refunds).toEqual([]);
  const sent = backend.requests.filter((r) => r.path === PATH);
  expect(sent.map((r) => [r.method, r.data, r.header.Authorization])).toEqual([
    ['POST', { reason: '不想要了' }, 'Bearer t'],
  ]);
});

test('asking again while a request is open returns the same request', async () => {
  const { backend, storage } = withPaidOrder();
  const s = await freshServices(backend, {}, storage);
  const first = await s.orders.askRefund(O1, '不想要了');
  const again = await s.orders.askRefund(O1, '换个理由');
  expect(again.refundRequest).toEqual(first.refundRequest);
});

test('an order that is not paid is refund_not_allowed, through the usual error path', async () => {
  const { backend, storage } = withPaidOrder();
  backend.orders = [makeOrder({ id: O1 })];
  const s = await freshServices(backend, {}, storage);
  const err = await s.orders.askRefund(O1, '不想要了').catch((e: unknown) => e);
  expect(err).toBeInstanceOf(s.errors.ApiError);
  expect(err).toMatchObject({ id: 'refund_not_allowed', status: 409, requestId: 'req-refund_not_allowed' });
  expect(s.errors.describeError(err)).toBe('这笔订单目前无法退款（请求号 req-refund_not_allowed）');
  expect(s.errors.isRefundStateError(err)).toBe(true);
});

test('an expired session logs in again once and the request goes through', async () => {
  const { backend } = withPaidOrder();
  const s = await freshServices(
    backend,
    wxLoginStub(),
    new Map<string, unknown>([['mp-pay:token', 'stale']]),
  );
  const order = await s.orders.askRefund(O1, '不想要了');
  expect(order.refundRequest?.state).toBe('REQUESTED');
  expect(backend.requests.filter((r) => r.path === PATH).map((r) => r.header.Authorization)).toEqual([
    'Bearer stale',
    'Bearer token-1',
  ]);
});

test('a reply whose refunds break the contract is a bad_response, not a half-drawn page', async () => {
  const { backend, storage } = withPaidOrder();
  backend.intercept((req) =>
    req.path === PATH
      ? {
          status: 201,
          body: {
            order: {
              ...makeOrder({ id: O1, status: 'PAID' }),
              refundRequest: { state: 'REQUESTED', reason: 'x', requestedAt: '2026-11-26T01:00:00.000Z' },
              refunds: [{ outRefundNo: 'R1', refundFen: '19.90', state: 'SUCCESS', createdAt: 'x' }],
            },
          },
        }
      : undefined,
  );
  const s = await freshServices(backend, {}, storage);
  await expect(s.orders.askRefund(O1, '不想要了')).rejects.toMatchObject({ id: 'bad_response' });
});

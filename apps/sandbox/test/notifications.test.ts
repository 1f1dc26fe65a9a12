import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseXml, verifyPaymentNotification } from '@mp-pay/shared/wechatpay';
import { RETRY_DELAYS_MS, type RunningSandbox } from '../src/index.ts';
import {
  DEMO,
  eventually,
  inspect,
  NotifyReceiver,
  pay,
  placeOrder,
  sandbox,
  SUCCESS_XML,
} from './helpers.ts';

let sb: RunningSandbox;
beforeAll(async () => {
  // 24h4m of retries in under a second
  sb = await sandbox({ timeScale: 200_000 });
});
afterAll(() => sb.close());

async function withReceiver(run: (receiver: NotifyReceiver) => Promise<void>): Promise<void> {
  const receiver = await NotifyReceiver.start();
  try {
    await run(receiver);
  } finally {
    await receiver.close();
  }
}

async function attemptsOf(outTradeNo: string, count: number) {
  return eventually(async () => {
    const seen = await inspect(sb, outTradeNo);
    return seen.notifications.length >= count ? seen : undefined;
  });
}

describe('notification retries', () => {
  it('uses the documented schedule: 15 waits, 24h4m in all', () => {
    expect(RETRY_DELAYS_MS.map((ms) => ms / 1000)).toEqual([
      15, 15, 30, 180, 600, 1200, 1800, 1800, 1800, 3600, 10800, 10800, 10800, 21600, 21600,
    ]);
    expect(RETRY_DELAYS_MS.reduce((a, b) => a + b, 0)).toBe((24 * 60 + 4) * 60_000);
  });

  it('retries every reply but the SUCCESS XML, then stops', async () => {
    await withReceiver(async (receiver) => {
      const replies = [
        { status: 200, body: 'success' },
        { status: 200, body: '{"code":"SUCCESS"}' },
        { status: 200, body: '<xml><return_code>FAIL</return_code><return_msg>busy</return_msg></xml>' },
        { status: 500, body: SUCCESS_XML },
        { status: 200, body: '' },
        { status: 200, body: '<xml><return_code>SUCCESS</return_code></xml>' },
      ];
      receiver.reply = (n) => replies[n - 1] ?? { body: SUCCESS_XML };
      const order = await placeOrder(sb, receiver.url);
      await pay(sb, order);
      const seen = await attemptsOf(order.outTradeNo, 6);
      expect(seen.notifications.map((n) => [n.attempt, n.outcome])).toEqual([
        [1, 'rejected'],
        [2, 'rejected'],
        [3, 'rejected'],
        [4, 'rejected'],
        [5, 'rejected'],
        [6, 'acknowledged'],
      ]);
      expect(seen.notifications[3]).toMatchObject({ httpStatus: 500 });
      expect(seen.next_notification_at).toBeUndefined();
      // the same notification every time: same transaction, fresh nonce, valid signature
      const bodies = receiver.parsed();
      expect(new Set(bodies.map((b) => b.transaction_id)).size).toBe(1);
      expect(new Set(bodies.map((b) => b.nonce_str)).size).toBe(6);
      for (const r of receiver.received)
        expect(verifyPaymentNotification(r.body, DEMO).outTradeNo).toBe(order.outTradeNo);
      await new Promise((r) => setTimeout(r, 50));
      expect(receiver.received).toHaveLength(6);
    });
  });

  it('gives up after 16 attempts (the first and 15 retries)', async () => {
    await withReceiver(async (receiver) => {
      receiver.reply = () => ({ status: 503, body: 'down' });
      const order = await placeOrder(sb, receiver.url);
      await pay(sb, order);
      const seen = await eventually(async () => {
        const o = await inspect(sb, order.outTradeNo);
        return o.notifications.length === 16 && !o.next_notification_at ? o : undefined;
      }, 10_000);
      expect(seen.notifications.map((n) => n.attempt)).toEqual(Array.from({ length: 16 }, (_, i) => i + 1));
      expect(seen.notifications.every((n) => n.outcome === 'rejected' && n.httpStatus === 503)).toBe(true);
    });
  });

  it('records timeouts and unreachable receivers as errors and keeps retrying', async () => {
    const impatient = await sandbox({ timeScale: 200_000, notifyTimeoutMs: 300 });
    try {
      await withReceiver(async (receiver) => {
        receiver.reply = (n) => (n === 1 ? { body: SUCCESS_XML, delayMs: 3000 } : { body: SUCCESS_XML });
        const order = await placeOrder(impatient, receiver.url);
        await pay(impatient, order);
        const seen = await eventually(async () => {
          const o = await inspect(impatient, order.outTradeNo);
          return o.notifications.some((n) => n.outcome === 'acknowledged') ? o : undefined;
        });
        expect(seen.notifications[0]).toMatchObject({
          attempt: 1,
          outcome: 'error',
          error: expect.stringMatching(/Timeout|abort/i),
        });
      });
    } finally {
      await impatient.close();
    }
    const order = await placeOrder(sb, 'http://127.0.0.1:9/unreachable');
    await pay(sb, order);
    const seen = await attemptsOf(order.outTradeNo, 3);
    expect(seen.notifications.slice(0, 3).every((n) => n.outcome === 'error' && !n.httpStatus)).toBe(true);
  });

  it('signs HMAC-SHA256 notifications without a sign_type field, like WeChat', async () => {
    await withReceiver(async (receiver) => {
      const order = await placeOrder(sb, receiver.url, {}, 'HMAC-SHA256');
      await pay(sb, order);
      const body = await eventually(() => receiver.received[0]?.body);
      const raw = parseXml(body);
      expect(raw.sign_type).toBeUndefined();
      expect(raw.sign).toMatch(/^[0-9A-F]{64}$/);
      expect(verifyPaymentNotification(body, DEMO).totalFee).toBe(Number(order.fields.total_fee));
    });
  });

  it('stops retrying when the sandbox closes', async () => {
    const own = await sandbox({ timeScale: 1 });
    const receiver = await NotifyReceiver.start();
    try {
      receiver.reply = () => ({ status: 500, body: 'no' });
      const order = await placeOrder(own, receiver.url);
      await pay(own, order);
      await eventually(() => (receiver.received.length > 0 ? true : undefined));
      const next = (await inspect(own, order.outTradeNo)).next_notification_at as string;
      expect(Date.parse(next) - Date.now()).toBeGreaterThan(10_000); // real time: the 15 s retry is pending
      await own.close();
      expect(receiver.received).toHaveLength(1);
    } finally {
      await own.close();
      await receiver.close();
    }
  });
});

/**
 * GET /metrics after real traffic: a sign-in, orders placed at the sandbox, a payment the sandbox notifies, and
 * the notifications WeChat can send besides (a duplicate, a forged one, a wrong amount, an unknown order, an
 * oversized body). Every counter must move by exactly what happened; the latency histogram carries route
 * patterns. Then the METRICS_PORT listener, the queue gauges over real Redis sorted sets, and Redis errors.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Metrics } from '../src/metrics/registry.ts';
import { redisQueueStats, watchQueues } from '../src/metrics/queue-stats.ts';
import { countRedisErrors } from '../src/metrics/redis-errors.ts';
import { createLogger } from '../src/logger.ts';
import { loadConfig } from '../src/config.ts';
import { freePort } from './helpers/free-port.ts';
import { FAIL_REPLY, notificationXml, postNotification, SUCCESS_REPLY } from './helpers/notification.ts';
import { dropPrefix, TEST_REDIS_URL, uniquePrefix, waitFor } from './helpers/redis.ts';
import {
  createdOrder,
  payInSandbox,
  signIn,
  startStack,
  waitForStatus,
  type Stack,
} from './helpers/stack.ts';

/** The value of one series in Prometheus text (0 when absent): `name` plus exactly these labels. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  const wanted = Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .sort()
    .join(',');
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const got = (match[2] ?? '')
      .split(/,(?=[a-zA-Z_]\w*=")/)
      .filter(Boolean)
      .sort()
      .join(',');
    if (got === wanted) return Number(match[3]);
  }
  return 0;
}

async function scrape(url: string): Promise<string> {
  const res = await fetch(url);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return res.text();
}

describe('GET /metrics after a payment flow', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ label: 'metrics' });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('counts every call, notification and event exactly once', async () => {
    const server = stack.server;
    const key = server.config.wechatpay.key;
    expect(server.metricsUrl).toBe(`${server.url}/metrics`);
    const before = await scrape(server.metricsUrl);

    const token = await signIn(stack, 'metrics-buyer');
    const { order, payment } = await createdOrder(server, token);
    expect(await payInSandbox(stack, payment)).toBe('requestPayment:ok');
    await waitForStatus(server, order.id, 'PAID');
    const notified = { kind: 'payment', api: 'v2', outcome: 'acked' };
    // The counter moves when the request ends, a moment after the order is PAID.
    await waitFor(
      async () => sample(await scrape(server.metricsUrl), 'mppay_notifications_total', notified) === 1,
      'the sandbox notification to be counted',
    );

    const fields = { outTradeNo: order.outTradeNo, totalFee: order.totalFen };
    const duplicate = await postNotification(server, notificationXml(server, fields, key));
    expect(duplicate.body).toMatch(SUCCESS_REPLY);
    const forged = await postNotification(server, notificationXml(server, fields, 'f'.repeat(32)));
    expect(forged).toMatchObject({ status: 400, body: expect.stringMatching(FAIL_REPLY) });
    const other = await createdOrder(server, token);
    const wrongAmount = notificationXml(server, { outTradeNo: other.order.outTradeNo, totalFee: 1 }, key);
    expect(other.order.totalFen).not.toBe(1);
    expect((await postNotification(server, wrongAmount)).status).toBe(400);
    const unknownNo = `${order.outTradeNo.slice(0, 20)}${'Q'.repeat(10)}${order.outTradeNo.slice(30)}`;
    const unknown = notificationXml(server, { outTradeNo: unknownNo, totalFee: 1 }, key);
    expect((await postNotification(server, unknown)).status).toBe(404);
    const tooLarge = await postNotification(
      server,
      `<xml>${'x'.repeat(server.config.http.notifyLimitBytes)}</xml>`,
    );
    expect(tooLarge.status).toBe(413);

    const after = await scrape(server.metricsUrl);
    const delta = (name: string, labels: Record<string, string> = {}) =>
      sample(after, name, labels) - sample(before, name, labels);
    const outcomes = {
      acked: 1,
      duplicate: 1,
      rejected_signature: 1,
      amount_mismatch: 1,
      unknown_order: 1,
      too_large: 1,
    };
    for (const [outcome, n] of Object.entries(outcomes)) {
      expect(delta('mppay_notifications_total', { kind: 'payment', api: 'v2', outcome }), outcome).toBe(n);
    }
    expect(delta('mppay_events_appended_total', { type: 'order.paid' })).toBe(1);
    expect(delta('mppay_events_appended_total', { type: 'payment.duplicate' })).toBe(0);
    expect(
      delta('mppay_wechat_api_calls_total', { endpoint: 'code2session', api: 'sns', outcome: 'ok' }),
    ).toBe(1);
    expect(delta('mppay_wechat_api_calls_total', { endpoint: 'prepare', api: 'v2', outcome: 'ok' })).toBe(2);
    expect(
      delta('mppay_wechat_api_duration_seconds_count', { endpoint: 'prepare', api: 'v2', outcome: 'ok' }),
    ).toBe(2);

    // Latency by route pattern: the notify path (2 answered SUCCESS, 4 refused), order creation, and a
    // parameterised route under its pattern, never its raw path.
    const notify = { method: 'POST', route: '/wechatpay/notify' };
    const count = 'mppay_http_request_duration_seconds_count';
    expect(delta(count, { ...notify, status_class: '2xx' })).toBe(2);
    expect(delta(count, { ...notify, status_class: '4xx' })).toBe(4);
    expect(delta(count, { method: 'POST', route: '/api/orders', status_class: '2xx' })).toBe(2);
    const view = await fetch(`${server.url}/api/orders/${order.id}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(view.status).toBe(200);
    const latest = await scrape(server.metricsUrl);
    expect(
      sample(latest, count, { method: 'GET', route: '/api/orders/:id', status_class: '2xx' }),
    ).toBeGreaterThanOrEqual(1);
    expect(latest).not.toContain(order.id);
    // The second order is still PENDING: it waits in the query queue (first orderquery a minute away, no lag).
    expect(sample(latest, 'mppay_queue_depth', { queue: 'query' })).toBe(1);
    expect(sample(latest, 'mppay_queue_lag_seconds', { queue: 'query' })).toBe(0);
    expect(latest).toMatch(/^mppay_process_cpu_seconds_total /m);
  });
});

describe('METRICS_PORT', () => {
  let stack: Stack;
  let port: number;
  beforeAll(async () => {
    port = await freePort();
    stack = await startStack({ label: 'metrics-port', redis: false, env: { METRICS_PORT: String(port) } });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('serves /metrics only on its own listener, and closes it on shutdown', async () => {
    const server = stack.server;
    expect(server.metricsUrl).toBe(`http://127.0.0.1:${port}/metrics`);
    const text = await scrape(server.metricsUrl);
    expect(text).toContain('# TYPE mppay_notifications_total counter');
    const main = await fetch(`${server.url}/metrics`);
    expect(main.status).toBe(404);
    expect(await main.json()).toMatchObject({ error: 'not_found' });
    const post = await fetch(server.metricsUrl, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
    expect((await fetch(`http://127.0.0.1:${port}/other`)).status).toBe(404);
    // The memory store answers the queue gauges too: one PENDING order, due for its first orderquery later.
    const token = await signIn(stack, 'metrics-port-buyer');
    await createdOrder(server, token);
    const queued = await scrape(server.metricsUrl);
    expect(sample(queued, 'mppay_queue_depth', { queue: 'query' })).toBe(1);
    expect(sample(queued, 'mppay_queue_lag_seconds', { queue: 'query' })).toBe(0);

    await server.close();
    await expect(fetch(server.metricsUrl)).rejects.toThrow();
  });
});

describe('queue gauges and Redis errors', () => {
  const prefix = uniquePrefix('metrics-queues');
  let redis: Redis;
  beforeAll(async () => {
    redis = new Redis(TEST_REDIS_URL);
  });
  afterAll(async () => {
    redis.disconnect();
    await dropPrefix(prefix);
  });

  it('reads depth and lag from the due sets at scrape, over every shard of a queue', async () => {
    const now = 1_800_000_000_000;
    // Two shards of the query queue (one entry overdue by 30 s, one due later) and one of the close queue.
    await redis.zadd(`${prefix}{s0}:due:query`, now - 30_000, 'a', now + 60_000, 'b');
    await redis.zadd(`${prefix}{s1}:due:query`, now - 5_000, 'c');
    await redis.zadd(`${prefix}{s0}:due:close`, now + 1_000, 'd');
    const metrics = new Metrics();
    const stats = redisQueueStats(redis, {
      query: [`${prefix}{s0}:due:query`, `${prefix}{s1}:due:query`],
      close: [`${prefix}{s0}:due:close`],
      refund: [`${prefix}{s0}:due:refund`],
    });
    watchQueues(metrics, stats, () => now, createLogger(loadConfig({ LOG_LEVEL: 'silent' })));
    const text = (await metrics.render()).body;
    expect(sample(text, 'mppay_queue_depth', { queue: 'query' })).toBe(3);
    expect(sample(text, 'mppay_queue_lag_seconds', { queue: 'query' })).toBe(30);
    expect(sample(text, 'mppay_queue_depth', { queue: 'close' })).toBe(1);
    expect(sample(text, 'mppay_queue_lag_seconds', { queue: 'close' })).toBe(0);
    expect(text).toMatch(/^mppay_queue_depth\{queue="refund"\} 0$/m);

    // Work done: the next scrape sees it.
    await redis.zrem(`${prefix}{s0}:due:query`, 'a');
    const later = (await metrics.render()).body;
    expect(sample(later, 'mppay_queue_depth', { queue: 'query' })).toBe(2);
    expect(sample(later, 'mppay_queue_lag_seconds', { queue: 'query' })).toBe(5);
  });

  it("counts a Redis client's error events", async () => {
    const metrics = new Metrics();
    const down = new Redis(`redis://127.0.0.1:${await freePort()}`, {
      lazyConnect: true,
      retryStrategy: () => null,
      maxRetriesPerRequest: 0,
    });
    countRedisErrors(down, metrics);
    await expect(down.connect()).rejects.toThrow();
    down.disconnect();
    const text = (await metrics.render()).body;
    expect(sample(text, 'mppay_redis_errors_total')).toBeGreaterThanOrEqual(1);
  });
});

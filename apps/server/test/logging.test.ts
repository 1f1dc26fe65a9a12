/**
 * Secrets never reach the logs: a full flow at debug level (sign-in, order, payment, notification, a failing
 * sign-in, a forged notification) is captured, and neither the API key, the app secret, a session_key nor a
 * bearer token appears in any line. The logs are not empty: the check can fail.
 */
import { createHash } from 'node:crypto';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.ts';
import { ERRORS } from '../src/errors.ts';
import { createLogger } from '../src/logger.ts';
import { notificationXml, postNotification } from './helpers/notification.ts';
import {
  bearer,
  createdOrder,
  payInSandbox,
  post,
  signIn,
  startStack,
  waitForStatus,
  type Stack,
} from './helpers/stack.ts';

describe('logs', () => {
  const lines: string[] = [];
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ label: 'logs', logs: lines });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('never contain the API key, app secret, session_key or tokens', async () => {
    const token = await signIn(stack, 'log-buyer');
    const session = await stack.server.store.sessions.touchSession(
      createHash('sha256').update(token).digest('hex'),
      60,
    );
    const sessionKey = session?.sessionKey;
    expect(sessionKey).toBeTruthy();
    const { order, payment } = await createdOrder(stack.server, token);
    expect(await payInSandbox(stack, payment)).toBe('requestPayment:ok');
    await waitForStatus(stack.server, order.id, 'PAID');
    await fetch(`${stack.server.url}/api/session`, post({ code: 'bogus-code' }));
    await fetch(`${stack.server.url}/api/orders`, { headers: { authorization: `Bearer ${token}x` } });
    const forgedKey = 'y'.repeat(32);
    await postNotification(
      stack.server,
      notificationXml(stack.server, { outTradeNo: order.id, totalFee: 1 }, forgedKey),
    );

    const output = lines.join('\n');
    expect(output).toContain('using the Redis store');
    expect(output).toContain('order paid');
    expect(output).toContain('notification rejected: bad signature');
    expect(lines.length).toBeGreaterThan(10);
    const secrets = {
      key: stack.server.config.wechatpay.key,
      secret: stack.server.config.wechat.secret,
      sessionKey: sessionKey as string,
      token,
    };
    for (const [name, value] of Object.entries(secrets)) {
      expect(output.includes(value), `${name} leaked into the logs`).toBe(false);
    }
  });

  it('redacts secret-bearing fields wherever a careless call puts them', () => {
    const out: string[] = [];
    const stream = new Writable({
      write(chunk: Buffer, _e, done) {
        out.push(chunk.toString());
        done();
      },
    });
    const config = loadConfig({ LOG_LEVEL: 'info', LOG_FORMAT: 'json' });
    const log = createLogger(config, stream);
    log.info(
      {
        session: { sessionKey: 'SK-123', openid: 'o1' },
        token: 'T-456',
        headers: { authorization: 'Bearer T-789' },
      },
      'oops',
    );
    log.info(`message quoting the key ${config.wechatpay.key} and secret ${config.wechat.secret}`);
    const text = out.join('');
    for (const leaked of ['SK-123', 'T-456', 'T-789', config.wechatpay.key, config.wechat.secret]) {
      expect(text).not.toContain(leaked);
    }
    expect(text).toContain('"openid":"o1"');
    expect(text).toContain('[redacted]');
  });
});

describe('unexpected errors', () => {
  const lines: string[] = [];
  let stack: Stack;
  beforeAll(async () => {
    // A merchant key the sandbox does not know: WeChat Pay refuses every signed request (return_code=FAIL),
    // an error of ours that the buyer must not see the details of.
    stack = await startStack({
      label: 'masked',
      redis: false,
      logs: lines,
      env: { WECHATPAY_KEY: 'k'.repeat(32) },
    });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('are answered internal_error without detail, and logged with the request id', async () => {
    expect(lines.join('\n')).toContain('using the in-memory store');
    const token = await signIn(stack, 'masked-buyer');
    const res = await fetch(
      `${stack.server.url}/api/orders`,
      post({ items: [{ productId: 'sample', quantity: 1 }] }, bearer(token)),
    );
    expect(res.status).toBe(500);
    const text = await res.text();
    const requestId = res.headers.get('x-request-id');
    expect(JSON.parse(text)).toEqual({
      error: 'internal_error',
      message: ERRORS.internal_error.message,
      requestId,
    });
    expect(text).not.toMatch(/WeChat|FAIL|return_msg|签名/);
    const logged = lines
      .map(
        (line) =>
          JSON.parse(line) as { requestId?: string; level: number; msg: string; err?: { message?: string } },
      )
      .filter((entry) => entry.requestId === requestId && entry.level >= 50);
    expect(logged.map((entry) => entry.msg)).toContain('request failed');
    expect(logged.find((entry) => entry.msg === 'request failed')?.err?.message).toMatch(
      /WeChat Pay refused/,
    );
  });
});

/**
 * APIv3 end to end (WECHATPAY_API_VERSION=v3) against the real sandbox over HTTP and real Redis, with the
 * sandbox's published demo keys: RSA-signed prepay, an RSA `paySign` the sandbox payer checks, an encrypted
 * notification answered 204 once the payment is durable, and forged, stale, tampered and duplicate
 * notifications changing nothing.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encryptV3Resource, SANDBOX_DEMO, SANDBOX_DEMO_V3, signV3 } from '@mp-pay/shared/wechatpay';
import {
  createdOrder,
  paidEvents,
  payInSandbox,
  sandboxOrder,
  signIn,
  startStack,
  storedStatus,
  waitForStatus,
  type Stack,
} from './helpers/stack.ts';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ label: 'v3', env: { WECHATPAY_API_VERSION: 'v3' } });
});
afterAll(async () => {
  await stack?.close();
});

/** A TRANSACTION.SUCCESS notification as WeChat Pay v3 sends one (docs/protocol.md §7), signed with `key`. */
function v3Notification(
  transaction: Record<string, unknown>,
  options: { key?: string; serial?: string; timestamp?: number; tamper?: boolean } = {},
) {
  const resource = encryptV3Resource(JSON.stringify(transaction), SANDBOX_DEMO_V3.apiV3Key, {
    associatedData: 'transaction',
  });
  if (options.tamper) {
    const bytes = Buffer.from(resource.ciphertext, 'base64');
    bytes[0] = (bytes[0] ?? 0) ^ 1;
    resource.ciphertext = bytes.toString('base64');
  }
  const body = JSON.stringify({
    id: randomBytes(8).toString('hex'),
    create_time: new Date().toISOString(),
    resource_type: 'encrypt-resource',
    event_type: 'TRANSACTION.SUCCESS',
    summary: '支付成功',
    resource,
  });
  const timestamp = String(options.timestamp ?? Math.floor(Date.now() / 1000));
  const nonce = randomBytes(16).toString('hex');
  const signature = signV3(
    `${timestamp}\n${nonce}\n${body}\n`,
    options.key ?? SANDBOX_DEMO_V3.platformPrivateKey,
  );
  return {
    body,
    headers: {
      'content-type': 'application/json',
      'wechatpay-timestamp': timestamp,
      'wechatpay-nonce': nonce,
      'wechatpay-signature': signature,
      'wechatpay-serial': options.serial ?? SANDBOX_DEMO_V3.platformPublicKeyId,
    },
  };
}

function transactionOf(
  order: { outTradeNo: string; totalFen: number },
  transactionId = '4200000000000000000000000001',
) {
  return {
    appid: SANDBOX_DEMO.appId,
    mchid: SANDBOX_DEMO.mchId,
    out_trade_no: order.outTradeNo,
    transaction_id: transactionId,
    trade_type: 'JSAPI',
    trade_state: 'SUCCESS',
    trade_state_desc: '支付成功',
    bank_type: 'OTHERS',
    success_time: new Date().toISOString().replace('Z', '+00:00'),
    payer: { openid: 'oV3Buyer' },
    amount: { total: order.totalFen, payer_total: order.totalFen, currency: 'CNY', payer_currency: 'CNY' },
  };
}

async function post(notification: { body: string; headers: Record<string, string> }) {
  const res = await fetch(`${stack.server.url}/wechatpay/v3/notify`, {
    method: 'POST',
    headers: notification.headers,
    body: notification.body,
  });
  return { status: res.status, body: await res.text() };
}

describe('APIv3', () => {
  it('login → order → RSA paySign → pay → encrypted notification → PAID, answered 204', async () => {
    const token = await signIn(stack, 'v3-buyer');
    const { order, payment } = await createdOrder(stack.server, token);
    expect(payment).toMatchObject({
      kind: 'jsapi',
      signType: 'RSA',
      package: expect.stringMatching(/^prepay_id=/),
    });
    expect(payment.paySign).toMatch(/^[A-Za-z0-9+/]+=*$/);
    expect(await payInSandbox(stack, payment)).toBe('requestPayment:ok');
    await waitForStatus(stack.server, order.id, 'PAID');
    expect(await paidEvents(stack.server, order.id)).toHaveLength(1);
    const attempt = await stack.server.store.attempts.getAttempt(order.outTradeNo);
    expect(attempt).toMatchObject({ apiVersion: 'v3', signType: 'RSA', state: 'PAID' });
    const seen = (await sandboxOrder(stack, order.outTradeNo)).notifications;
    expect(seen.some((n) => n.outcome === 'acknowledged' && n.httpStatus === 204)).toBe(true);
  });

  it('refuses forged, stale, unknown-serial and tampered notifications, and takes duplicates once', async () => {
    const token = await signIn(stack, 'v3-forgeries');
    const { order } = await createdOrder(stack.server, token);
    const tx = transactionOf(order);
    const refused = [
      v3Notification(tx, { key: SANDBOX_DEMO_V3.mchPrivateKey }), // signed with a key that is not WeChat's
      v3Notification(tx, { timestamp: Math.floor(Date.now() / 1000) - 600 }), // replayed 10 minutes late
      v3Notification(tx, { serial: 'PUB_KEY_ID_0000000000000000000000000000000001' }), // an unknown key
      v3Notification(tx, { tamper: true }), // the GCM tag must catch it
      v3Notification({ ...tx, amount: { total: 1, payer_total: 1, currency: 'CNY' } }), // wrong amount
    ];
    for (const n of refused) {
      const reply = await post(n);
      expect(reply.status, reply.body).toBeGreaterThanOrEqual(400);
      expect(JSON.parse(reply.body)).toMatchObject({ code: 'FAIL' });
    }
    expect(await storedStatus(stack.server, order.id)).toBe('PENDING');
    // A re-serialised body breaks the signature over the raw bytes.
    const genuine = v3Notification(tx);
    const reserialised = { ...genuine, body: JSON.stringify(JSON.parse(genuine.body), null, 2) };
    expect((await post(reserialised)).status).toBeGreaterThanOrEqual(400);

    const replies = await Promise.all(Array.from({ length: 5 }, () => post(genuine)));
    expect(replies.map((r) => r.status)).toEqual([204, 204, 204, 204, 204]);
    expect(await storedStatus(stack.server, order.id)).toBe('PAID');
    expect(await paidEvents(stack.server, order.id)).toHaveLength(1);
  });
});

describe('APIv3 certificate mode and the migration to the public key', () => {
  const stacks: Stack[] = [];
  afterAll(async () => {
    await Promise.all(stacks.map((s) => s.close()));
  });

  async function payOnce(s: Stack, buyer: string) {
    const token = await signIn(s, buyer);
    const { order, payment } = await createdOrder(s.server, token);
    expect(await payInSandbox(s, payment)).toBe('requestPayment:ok');
    await waitForStatus(s.server, order.id, 'PAID');
    return order;
  }

  it('WECHATPAY_PLATFORM_CERTS=auto: the server downloads and verifies the platform certificates, then pays', async () => {
    const s = await startStack({
      label: 'v3-certs',
      sandbox: { v3KeyMode: 'certificate' },
      env: { WECHATPAY_API_VERSION: 'v3', WECHATPAY_PLATFORM_CERTS: 'auto' },
    });
    stacks.push(s);
    const order = await payOnce(s, 'v3-cert-buyer');
    expect(await paidEvents(s.server, order.id)).toHaveLength(1);
    // The notification was signed under the certificate's serial, not a public key id.
    const seen = (await sandboxOrder(s, order.outTradeNo)).notifications;
    expect(seen.some((n) => n.outcome === 'acknowledged')).toBe(true);
  });

  it('during a migration the server holds both and verifies whichever WeChat uses', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mp-pay-v3-'));
    const publicKeyFile = join(dir, 'pub_key.pem');
    writeFileSync(publicKeyFile, SANDBOX_DEMO_V3.platformPublicKey);
    try {
      const s = await startStack({
        label: 'v3-migration',
        sandbox: { v3KeyMode: 'migration' },
        env: {
          WECHATPAY_API_VERSION: 'v3',
          WECHATPAY_PLATFORM_CERTS: 'auto',
          WECHATPAY_PUBLIC_KEY: publicKeyFile,
          WECHATPAY_PUBLIC_KEY_ID: SANDBOX_DEMO_V3.platformPublicKeyId,
        },
      });
      stacks.push(s);
      for (let i = 0; i < 3; i++) await payOnce(s, `v3-migrating-${i}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

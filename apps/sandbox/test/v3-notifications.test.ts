import { verify } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOutTradeNo, decryptV3Resource } from '@mp-pay/shared/wechatpay';
import type { RunningSandbox } from '../src/index.ts';
import {
  DEMO,
  eventually,
  inspect,
  loginCode,
  NotifyReceiver,
  pay,
  placeOrder,
  postJson,
  sandbox,
} from './helpers.ts';
import type { ReceivedNotification } from './helpers.ts';
import { callV3, decrypt, jsapiBody, payV3, placeV3, queryPath, replySignatureOk, V3 } from './v3-helpers.ts';

let sb: RunningSandbox;
let receiver: NotifyReceiver;
beforeAll(async () => {
  // 24h4m of retries in under a second
  sb = await sandbox({ timeScale: 200_000 });
  receiver = await NotifyReceiver.start();
  receiver.reply = () => ({ status: 204, body: '' });
});
afterAll(async () => {
  await sb.close();
  await receiver.close();
});

interface Envelope {
  id: string;
  create_time: string;
  resource_type: string;
  event_type: string;
  summary: string;
  resource: {
    algorithm: string;
    ciphertext: string;
    nonce: string;
    associated_data: string;
    original_type: string;
  };
}

const header = (r: ReceivedNotification, name: string) => String(r.headers[name] ?? '');

/** The notification's signature, checked as a merchant must: raw body, platform public key. */
function signatureOk(r: ReceivedNotification): boolean {
  const message = `${header(r, 'wechatpay-timestamp')}\n${header(r, 'wechatpay-nonce')}\n${r.body}\n`;
  const signature = header(r, 'wechatpay-signature');
  return verify('sha256', Buffer.from(message), V3.platformPublicKey, Buffer.from(signature, 'base64'));
}

function open(r: ReceivedNotification): { envelope: Envelope; tx?: Record<string, unknown> } {
  const envelope = JSON.parse(r.body) as Envelope;
  try {
    return { envelope, tx: JSON.parse(decrypt(envelope.resource)) as Record<string, unknown> };
  } catch {
    return { envelope };
  }
}

/** Every notification received for an order (tampered ones cannot be decrypted, so they match by position). */
function receivedFor(outTradeNo: string, from = 0): ReceivedNotification[] {
  return receiver.received.slice(from).filter((r) => open(r).tx?.out_trade_no === outTradeNo);
}

async function attemptsOf(outTradeNo: string, count: number) {
  return eventually(async () => {
    const seen = await inspect(sb, outTradeNo);
    return seen.notifications.length >= count ? seen : undefined;
  });
}

/** Sets faults on an order before it exists, places it with APIv3 and pays it. */
async function paidWith(faults: Record<string, unknown>, overrides: Record<string, unknown> = {}) {
  const outTradeNo = createOutTradeNo();
  if (Object.keys(faults).length > 0) {
    expect((await postJson(`${sb.url}/sandbox/faults`, { out_trade_no: outTradeNo, faults })).status).toBe(
      200,
    );
  }
  const from = receiver.received.length;
  const order = await placeV3(sb, receiver.url, { out_trade_no: outTradeNo, ...overrides });
  expect((await payV3(sb, order.prepayId)).json.errMsg).toBe('requestPayment:ok');
  return { ...order, from };
}

describe('v3 payment notifications', () => {
  it('POSTs the signed encrypt-resource envelope; the resource is the transaction the query shows', async () => {
    const order = await paidWith({}, { attach: 'notify me' });
    const [first] = await eventually(() => {
      const got = receivedFor(order.outTradeNo, order.from);
      return got.length > 0 ? got : undefined;
    });
    if (!first) throw new Error('no notification');
    expect(first.headers['content-type']).toBe('application/json');
    expect(header(first, 'wechatpay-serial')).toBe(V3.platformPublicKeyId);
    expect(header(first, 'wechatpay-signature-type')).toBe('WECHATPAY2-SHA256-RSA2048');
    expect(Math.abs(Number(header(first, 'wechatpay-timestamp')) - Date.now() / 1000)).toBeLessThan(60);
    expect(signatureOk(first)).toBe(true);

    const { envelope, tx } = open(first);
    expect(envelope).toMatchObject({
      resource_type: 'encrypt-resource',
      event_type: 'TRANSACTION.SUCCESS',
      summary: '支付成功',
      resource: {
        algorithm: 'AEAD_AES_256_GCM',
        associated_data: 'transaction',
        original_type: 'transaction',
      },
    });
    expect(envelope.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(envelope.create_time).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+08:00$/);
    expect(envelope.resource.nonce).toHaveLength(12);
    // The shared decryptor agrees with the hand-written one.
    expect(JSON.parse(decryptV3Resource(envelope.resource, V3.apiV3Key))).toEqual(tx);
    const query = await callV3(sb, 'GET', queryPath(order.outTradeNo));
    expect(tx).toEqual(query.json);
    expect(tx).toMatchObject({
      trade_state: 'SUCCESS',
      attach: 'notify me',
      payer: { openid: order.openid },
    });

    const seen = await attemptsOf(order.outTradeNo, 1);
    expect(seen.notifications[0]).toMatchObject({
      attempt: 1,
      kind: 'genuine',
      outcome: 'acknowledged',
      httpStatus: 204,
      serial: V3.platformPublicKeyId,
    });
  });

  it('retries on anything but 200/204 (and on a 200 saying code FAIL), on the v2 schedule', async () => {
    const own = await NotifyReceiver.start();
    try {
      const replies = [
        { status: 500, body: '{"code":"FAIL","message":"busy"}' },
        { status: 200, body: '{"code":"FAIL","message":"失败"}' },
        { status: 400, body: '' },
        { status: 202, body: '' },
        { status: 200, body: '{"code":"SUCCESS","message":"成功"}' },
      ];
      own.reply = (n) => replies[n - 1] ?? { status: 204, body: '' };
      const order = await placeV3(sb, own.url);
      await payV3(sb, order.prepayId);
      const seen = await attemptsOf(order.outTradeNo, 5);
      await new Promise((r) => setTimeout(r, 50)); // nothing after the acknowledgement
      const after = await inspect(sb, order.outTradeNo);
      expect(after.notifications.map((n) => [n.attempt, n.outcome, n.httpStatus])).toEqual([
        [1, 'rejected', 500],
        [2, 'rejected', 200],
        [3, 'rejected', 400],
        [4, 'rejected', 202],
        [5, 'acknowledged', 200],
      ]);
      expect(seen.next_notification_at).toBeUndefined();
      const ids = new Set(own.received.map((r) => open(r).envelope.id));
      expect(ids.size).toBe(1); // every retry is the same notification
    } finally {
      await own.close();
    }
  });

  it('keeps retrying a receiver that never accepts, 16 attempts in all', async () => {
    const own = await NotifyReceiver.start();
    try {
      own.reply = () => ({ status: 500, body: '' });
      const order = await placeV3(sb, own.url);
      await payV3(sb, order.prepayId);
      const seen = await eventually(async () => {
        const s = await inspect(sb, order.outTradeNo);
        return s.notifications.length >= 16 && s.next_notification_at === undefined ? s : undefined;
      }, 10_000);
      expect(seen.notifications.map((n) => n.attempt)).toEqual(Array.from({ length: 16 }, (_, i) => i + 1));
    } finally {
      await own.close();
    }
  });

  it('signs under the merchant key mode: certificate serial, and a share of public-key ones in migration', async () => {
    const mode = (body: unknown) => postJson(`${sb.url}/sandbox/v3/key-mode`, body);
    try {
      await mode({ mode: 'certificate' });
      const cert = await paidWith({});
      const [viaCert] = await eventually(() => {
        const got = receivedFor(cert.outTradeNo, cert.from);
        return got.length ? got : undefined;
      });
      expect(viaCert && header(viaCert, 'wechatpay-serial')).toBe(V3.platformCertSerial);
      expect(viaCert && signatureOk(viaCert)).toBe(true);

      await mode({ mode: 'migration', public_key_share: 1 });
      const moved = await paidWith({});
      const [viaKey] = await eventually(() => {
        const got = receivedFor(moved.outTradeNo, moved.from);
        return got.length ? got : undefined;
      });
      expect(viaKey && header(viaKey, 'wechatpay-serial')).toBe(V3.platformPublicKeyId);

      await mode({ mode: 'migration', public_key_share: 0 });
      const stay = await paidWith({});
      const seen = await attemptsOf(stay.outTradeNo, 1);
      expect(seen.notifications[0]?.serial).toBe(V3.platformCertSerial);
    } finally {
      await mode({ mode: 'public-key' });
    }
  });
});

describe('v3 notification faults', () => {
  /** The forged delivery and the genuine one, as received (the forged one first). */
  async function forgedAndGenuine(forgery: string) {
    const order = await paidWith({ forgeNotification: forgery });
    const seen = await attemptsOf(order.outTradeNo, 2);
    expect(seen.notifications.map((n) => [n.kind, n.outcome])).toEqual([
      [`forged-${forgery}`, 'acknowledged'],
      ['genuine', 'acknowledged'],
    ]);
    // The forged one arrived first; tampered resources do not decrypt, so take it by position.
    const all = receiver.received.slice(order.from);
    const genuineIndex = all.findIndex((r) => open(r).tx?.out_trade_no === order.outTradeNo && r !== all[0]);
    const genuine = all[genuineIndex] as ReceivedNotification;
    const forged = all[genuineIndex - 1] as ReceivedNotification;
    expect(signatureOk(genuine)).toBe(true);
    return { order, forged, genuine };
  }

  it('signtest: a WECHATPAY/SIGNTEST/ probe whose verification must fail', async () => {
    const { forged } = await forgedAndGenuine('signtest');
    expect(header(forged, 'wechatpay-signature')).toMatch(/^WECHATPAY\/SIGNTEST\//);
    expect(signatureOk(forged)).toBe(false);
  });

  it('stale-timestamp: validly signed, 10 minutes old', async () => {
    const { forged } = await forgedAndGenuine('stale-timestamp');
    expect(signatureOk(forged)).toBe(true);
    expect(Date.now() / 1000 - Number(header(forged, 'wechatpay-timestamp'))).toBeGreaterThan(590);
  });

  it('unknown-serial: signed, under a serial no key set holds', async () => {
    const { forged } = await forgedAndGenuine('unknown-serial');
    const serial = header(forged, 'wechatpay-serial');
    expect(serial).toMatch(/^PUB_KEY_ID_/);
    expect([V3.platformPublicKeyId, V3.platformCertSerial]).not.toContain(serial);
  });

  it('tampered-ciphertext: the signature holds, the GCM tag does not', async () => {
    const { forged } = await forgedAndGenuine('tampered-ciphertext');
    expect(signatureOk(forged)).toBe(true);
    const { resource } = JSON.parse(forged.body) as Envelope;
    expect(() => decrypt(resource)).toThrow();
    expect(() => decryptV3Resource(resource, V3.apiV3Key)).toThrow(/tag/i);
  });

  it('bad-sign and wrong-amount, as in v2', async () => {
    const bad = await forgedAndGenuine('bad-sign');
    expect(signatureOk(bad.forged)).toBe(false);
    const wrong = await forgedAndGenuine('wrong-amount');
    expect(signatureOk(wrong.forged)).toBe(true);
    expect(open(wrong.forged).tx?.amount).toMatchObject({ total: 1, payer_total: 1 });
    expect(open(wrong.genuine).tx?.amount).toMatchObject({ total: 1999 });
  });

  it('duplicates repeat the same notification id after the acknowledgement', async () => {
    const order = await paidWith({ duplicateNotifications: 2 });
    const seen = await attemptsOf(order.outTradeNo, 3);
    expect(seen.notifications.map((n) => n.kind)).toEqual(['genuine', 'duplicate', 'duplicate']);
    const got = receivedFor(order.outTradeNo, order.from);
    expect(new Set(got.map((r) => open(r).envelope.id)).size).toBe(1);
    expect(got.every(signatureOk)).toBe(true);
  });

  it('ignores the v3-only forgeries for v2 orders', async () => {
    const own = await NotifyReceiver.start();
    try {
      const order = await placeOrder(sb, own.url);
      await postJson(`${sb.url}/sandbox/faults`, {
        out_trade_no: order.outTradeNo,
        faults: { forgeNotification: 'signtest' },
      });
      await pay(sb, order);
      const seen = await attemptsOf(order.outTradeNo, 1);
      await new Promise((r) => setTimeout(r, 30));
      expect((await inspect(sb, order.outTradeNo)).notifications.map((n) => n.kind)).toEqual(['genuine']);
      expect(seen.notifications[0]?.outcome).toBe('acknowledged');
      expect(own.received[0]?.body).toMatch(/^<xml>/);
    } finally {
      await own.close();
    }
  });
});

describe('v3 API faults', () => {
  it('429 FREQUENCY_LIMITED and 500 SYSTEM_ERROR, signed, doing nothing', async () => {
    const limited = createOutTradeNo();
    await postJson(`${sb.url}/sandbox/faults`, {
      out_trade_no: limited,
      faults: { frequencyLimitedRate: 1 },
    });
    const { openid } = await loginCode(sb);
    const res = await callV3(
      sb,
      'POST',
      '/v3/pay/transactions/jsapi',
      jsapiBody(openid, receiver.url, { out_trade_no: limited }),
    );
    expect(res.status).toBe(429);
    expect(res.json).toMatchObject({ code: 'FREQUENCY_LIMITED' });
    expect(replySignatureOk(res)).toBe(true);
    await postJson(`${sb.url}/sandbox/faults`, { out_trade_no: limited, faults: { systemErrorRate: 1 } });
    const failed = await callV3(sb, 'GET', queryPath(limited));
    expect(failed.status).toBe(500);
    expect(failed.json).toMatchObject({ code: 'SYSTEM_ERROR', message: '系统错误' });
    await fetch(`${sb.url}/sandbox/faults?out_trade_no=${limited}`, { method: 'DELETE' });
    expect((await callV3(sb, 'GET', queryPath(limited))).json.code).toBe('ORDER_NOT_EXIST');
  });

  it('refuses an unknown fault value', async () => {
    const res = await postJson(`${sb.url}/sandbox/faults`, {
      mch_id: DEMO.mchId,
      faults: { frequencyLimitedRate: 2 },
    });
    expect(res.status).toBe(400);
  });
});

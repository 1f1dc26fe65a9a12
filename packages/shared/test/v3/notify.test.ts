import { describe, expect, it } from 'vitest';
import {
  encryptV3Resource,
  signResponseV3,
  transactionFromNotificationV3,
  V3KeySet,
  verifyV3Notification,
  WechatPayV3BadMessageError,
  WechatPayV3DecryptError,
  WechatPayV3SignatureError,
} from '../../src/v3/index.ts';
import { SANDBOX_DEMO_V3 as D } from '../../src/wechatpay/demo-v3.ts';

const NOW = 1_764_547_200_000;
const TRANSACTION = {
  appid: 'wx5ad0b0c0de5a4db0',
  mchid: '1900000109',
  out_trade_no: '20261125140000abcdefghijklmnopqr',
  transaction_id: '4200000001202611250000000001',
  trade_type: 'JSAPI',
  trade_state: 'SUCCESS',
  trade_state_desc: '支付成功',
  bank_type: 'OTHERS',
  attach: '',
  success_time: '2025-12-01T08:00:00+08:00',
  payer: { openid: 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o' },
  amount: { total: 2990, payer_total: 2990, currency: 'CNY', payer_currency: 'CNY' },
};

function notification(
  resource: object = TRANSACTION,
  apiV3Key: string = D.apiV3Key,
  eventType = 'TRANSACTION.SUCCESS',
) {
  return JSON.stringify({
    id: 'EV-2018022511223320873',
    create_time: '2025-12-01T08:00:01+08:00',
    resource_type: 'encrypt-resource',
    event_type: eventType,
    summary: '支付成功',
    resource: encryptV3Resource(JSON.stringify(resource), apiV3Key, {
      associatedData: 'transaction',
      originalType: 'transaction',
    }),
  });
}

function headersFor(
  body: string,
  options: { timestamp?: number; serial?: string; lowerCase?: boolean } = {},
) {
  const headers = signResponseV3(body, {
    privateKey: D.platformPrivateKey,
    serial: options.serial ?? D.platformPublicKeyId,
    timestamp: options.timestamp ?? NOW / 1000,
  });
  if (!options.lowerCase) return headers;
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
}

const keys = new V3KeySet().addPublicKey(D.platformPublicKeyId, D.platformPublicKey);
const OPTIONS = { apiV3Key: D.apiV3Key, keys, now: NOW };

function failure(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected a throw');
}

describe('verifyV3Notification', () => {
  it('verifies, decrypts and parses; header names in any case; Buffer bodies too', () => {
    const body = notification();
    for (const headers of [headersFor(body), headersFor(body, { lowerCase: true })]) {
      const n = verifyV3Notification(body, headers, OPTIONS);
      expect(n).toEqual({
        id: 'EV-2018022511223320873',
        createTime: '2025-12-01T08:00:01+08:00',
        eventType: 'TRANSACTION.SUCCESS',
        resourceType: 'encrypt-resource',
        summary: '支付成功',
        originalType: 'transaction',
        resource: TRANSACTION,
      });
    }
    expect(verifyV3Notification(Buffer.from(body), headersFor(body), OPTIONS).resource).toEqual(TRANSACTION);
    // Node's IncomingHttpHeaders may hold arrays; a single-element one is fine.
    const asArrays = Object.fromEntries(Object.entries(headersFor(body)).map(([k, v]) => [k, [v]]));
    expect(verifyV3Notification(body, asArrays, OPTIONS).id).toBe('EV-2018022511223320873');
  });

  it('refuses a parsed object: the raw body is required', () => {
    const body = notification();
    expect(() => verifyV3Notification(JSON.parse(body) as string, headersFor(body), OPTIONS)).toThrow(
      /raw request body/,
    );
  });

  it('refuses a re-serialised body (same JSON, other bytes) as BAD_SIGNATURE', () => {
    const body = notification();
    const err = failure(() =>
      verifyV3Notification(JSON.stringify(JSON.parse(body), null, 2), headersFor(body), OPTIONS),
    );
    expect(err).toBeInstanceOf(WechatPayV3SignatureError);
    expect(err).toMatchObject({ reason: 'BAD_SIGNATURE' });
  });

  it.each([
    ['no signature headers', (_b: string) => ({ 'content-type': 'application/json' }), 'MISSING_HEADERS'],
    [
      'no Wechatpay-Serial',
      (b: string) => ({ ...headersFor(b), 'Wechatpay-Serial': undefined }),
      'MISSING_HEADERS',
    ],
    [
      'Wechatpay-Nonce twice',
      (b: string) => ({ ...headersFor(b), 'wechatpay-nonce': 'again' }),
      'MALFORMED_HEADERS',
    ],
    ['a stale timestamp', (b: string) => headersFor(b, { timestamp: NOW / 1000 - 600 }), 'STALE_TIMESTAMP'],
    ['a future timestamp', (b: string) => headersFor(b, { timestamp: NOW / 1000 + 600 }), 'STALE_TIMESTAMP'],
    ['an unknown serial', (b: string) => headersFor(b, { serial: D.platformCertSerial }), 'UNKNOWN_SERIAL'],
    [
      'the SIGNTEST probe',
      (b: string) => ({ ...headersFor(b), 'Wechatpay-Signature': 'WECHATPAY/SIGNTEST/' + 'A'.repeat(340) }),
      'SIGNTEST_PROBE',
    ],
  ])('%s → WechatPayV3SignatureError %s', (_label, headers, reason) => {
    const body = notification();
    const err = failure(() => verifyV3Notification(body, headers(body), OPTIONS));
    expect(err).toBeInstanceOf(WechatPayV3SignatureError);
    expect(err).toMatchObject({ reason, code: 'SIGNATURE' });
  });

  it('a resource encrypted with another APIv3 key → WechatPayV3DecryptError naming the setting', () => {
    const body = notification(TRANSACTION, 'Y'.repeat(32));
    const err = failure(() => verifyV3Notification(body, headersFor(body), OPTIONS));
    expect(err).toBeInstanceOf(WechatPayV3DecryptError);
    expect((err as Error).message).toContain('tag mismatch: check WECHATPAY_APIV3_KEY');
  });

  it('signed but not a notification → WechatPayV3BadMessageError', () => {
    for (const body of ['not json', '[]', JSON.stringify({ id: 'x' })]) {
      expect(failure(() => verifyV3Notification(body, headersFor(body), OPTIONS))).toBeInstanceOf(
        WechatPayV3BadMessageError,
      );
    }
  });
});

describe('transactionFromNotificationV3', () => {
  it('types a TRANSACTION.SUCCESS resource', () => {
    const body = notification();
    const trade = transactionFromNotificationV3(verifyV3Notification(body, headersFor(body), OPTIONS));
    expect(trade).toMatchObject({
      appid: 'wx5ad0b0c0de5a4db0',
      mchid: '1900000109',
      outTradeNo: '20261125140000abcdefghijklmnopqr',
      transactionId: '4200000001202611250000000001',
      tradeState: 'SUCCESS',
      successTime: '2025-12-01T08:00:00+08:00',
      payer: { openid: 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o' },
      amount: { total: 2990, payerTotal: 2990, currency: 'CNY', payerCurrency: 'CNY' },
    });
  });

  it.each([
    ['another event', TRANSACTION, 'REFUND.SUCCESS'],
    ['a NOTPAY state', { ...TRANSACTION, trade_state: 'NOTPAY' }, 'TRANSACTION.SUCCESS'],
    ['an unknown state', { ...TRANSACTION, trade_state: 'PAID' }, 'TRANSACTION.SUCCESS'],
    ['no transaction_id', { ...TRANSACTION, transaction_id: undefined }, 'TRANSACTION.SUCCESS'],
    [
      'a fractional amount',
      { ...TRANSACTION, amount: { total: 29.9, currency: 'CNY' } },
      'TRANSACTION.SUCCESS',
    ],
    [
      'an amount as text',
      { ...TRANSACTION, amount: { total: '2990', currency: 'CNY' } },
      'TRANSACTION.SUCCESS',
    ],
    ['no payer', { ...TRANSACTION, payer: undefined }, 'TRANSACTION.SUCCESS'],
    ['a bad success_time', { ...TRANSACTION, success_time: '20251201080000' }, 'TRANSACTION.SUCCESS'],
    ['no out_trade_no', { ...TRANSACTION, out_trade_no: undefined }, 'TRANSACTION.SUCCESS'],
  ])('refuses %s', (_label, resource, eventType) => {
    const body = notification(resource, D.apiV3Key, eventType);
    const n = verifyV3Notification(body, headersFor(body), OPTIONS);
    expect(() => transactionFromNotificationV3(n)).toThrow(WechatPayV3BadMessageError);
  });
});

import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import {
  buildAuthorizationV3,
  decryptV3Resource,
  encryptV3Resource,
  miniProgramPayParamsV3,
  parseAuthorizationV3,
  requestMessageV3,
  signResponseV3,
  signV3,
  V3KeySet,
  verifySignatureV3,
  verifyV3,
} from '../../src/v3/index.ts';
import { SANDBOX_DEMO_V3 } from '../../src/wechatpay/demo-v3.ts';

/**
 * An independent implementation to agree with: wechatpay-axios-plugin (TheNorthMemory, 0.9.x), installed as a
 * dev dependency of the sandbox. Where the official vectors (vectors.test.ts) cover a primitive, this is a
 * second opinion; for the full Authorization header and the response signature it is the only one, since no
 * published vector pairs them with a known key. Skipped if the sandbox's dependencies are not installed.
 */
interface Plugin {
  Rsa: {
    sign(message: string, key: string): string;
    verify(message: string, signature: string, key: string): boolean;
  };
  Aes: {
    AesGcm: {
      encrypt(plaintext: string, key: string, iv: string, aad?: string): string;
      decrypt(ciphertext: string, key: string, iv: string, aad?: string): string;
    };
  };
  Formatter: {
    request(method: string, uri: string, timestamp: string | number, nonce: string, body?: string): string;
    response(timestamp: string | number, nonce: string, body?: string): string;
    authorization(
      mchid: string,
      nonce: string,
      signature: string,
      timestamp: string | number,
      serial: string,
    ): string;
    joinedByLineFeed(...pieces: string[]): string;
  };
}

function loadPlugin(): Plugin | undefined {
  try {
    return createRequire(new URL('../../../../apps/sandbox/package.json', import.meta.url))(
      'wechatpay-axios-plugin',
    ) as Plugin;
  } catch {
    return undefined;
  }
}

const plugin = loadPlugin();
const D = SANDBOX_DEMO_V3;

describe.skipIf(!plugin)('cross-check with wechatpay-axios-plugin', () => {
  const P = plugin as Plugin;
  const messages = ['', 'source', '中文 and emoji 💳', '{"a":1}\n', 'x'.repeat(10_000)];

  it.each(messages.map((m) => [m.slice(0, 20), m]))('signatures agree both ways (%j)', (_label, message) => {
    const ours = signV3(message, D.mchPrivateKey);
    expect(P.Rsa.sign(message, D.mchPrivateKey)).toBe(ours);
    expect(P.Rsa.verify(message, ours, D.mchPublicKey)).toBe(true);
    expect(verifySignatureV3(message, P.Rsa.sign(message, D.mchPrivateKey), D.mchPublicKey)).toBe(true);
  });

  it('the Authorization header: same message, same signature, and each parses the other', () => {
    const args = {
      method: 'POST',
      url: '/v3/pay/transactions/jsapi',
      body: '{"appid":"wx5ad0b0c0de5a4db0","amount":{"total":1}}',
      timestamp: 1_764_547_200,
      nonce: 'mppayNonce0000000000000000000001',
    };
    const message = P.Formatter.request(args.method, args.url, args.timestamp, args.nonce, args.body);
    expect(requestMessageV3(args)).toBe(message);
    const ours = buildAuthorizationV3({
      ...args,
      mchId: '1900000109',
      serialNo: D.mchCertSerial,
      privateKey: D.mchPrivateKey,
    });
    const theirs = P.Formatter.authorization(
      '1900000109',
      args.nonce,
      P.Rsa.sign(message, D.mchPrivateKey),
      args.timestamp,
      D.mchCertSerial,
    );
    // Their items come in another order (mchid, serial_no, timestamp, nonce_str, signature): same content.
    expect(parseAuthorizationV3(theirs)).toEqual(parseAuthorizationV3(ours));
    expect(P.Rsa.verify(message, parseAuthorizationV3(ours).signature, D.mchPublicKey)).toBe(true);
  });

  it('a reply signed by us verifies with theirs, and theirs with ours', () => {
    const body = '{"prepay_id":"wx201410272009395522657a690389285100"}';
    const headers = signResponseV3(body, {
      privateKey: D.platformPrivateKey,
      serial: D.platformPublicKeyId,
      timestamp: 1_764_547_200,
      nonce: 'n0nce',
    });
    const message = P.Formatter.response(1_764_547_200, 'n0nce', body);
    expect(P.Rsa.verify(message, headers['Wechatpay-Signature'] as string, D.platformPublicKey)).toBe(true);
    const keys = new V3KeySet().addPublicKey(D.platformPublicKeyId, D.platformPublicKey);
    const theirSignature = P.Rsa.sign(message, D.platformPrivateKey);
    expect(
      verifyV3(
        {
          timestamp: '1764547200',
          nonce: 'n0nce',
          body,
          signature: theirSignature,
          serial: D.platformPublicKeyId,
        },
        keys,
        { now: 1_764_547_200_000 },
      ),
    ).toBe(true);
  });

  it('AES-256-GCM agrees both ways', () => {
    const plaintext = JSON.stringify({ out_trade_no: 'x', trade_state: 'SUCCESS', 说明: '中文' });
    const ours = encryptV3Resource(plaintext, D.apiV3Key, {
      nonce: 'abcdefghijkl',
      associatedData: 'transaction',
    });
    expect(P.Aes.AesGcm.encrypt(plaintext, D.apiV3Key, 'abcdefghijkl', 'transaction')).toBe(ours.ciphertext);
    expect(P.Aes.AesGcm.decrypt(ours.ciphertext, D.apiV3Key, 'abcdefghijkl', 'transaction')).toBe(plaintext);
    const theirs = P.Aes.AesGcm.encrypt(plaintext, D.apiV3Key, 'mnopqrstuvwx', '');
    expect(
      decryptV3Resource(
        { algorithm: 'AEAD_AES_256_GCM', ciphertext: theirs, nonce: 'mnopqrstuvwx', associated_data: '' },
        D.apiV3Key,
      ),
    ).toBe(plaintext);
  });

  it('paySign (v3) is their signature of appId\\ntimeStamp\\nnonceStr\\npackage\\n', () => {
    const params = miniProgramPayParamsV3({
      appId: 'wx5ad0b0c0de5a4db0',
      prepayId: 'wx201410272009395522657a690389285100',
      privateKey: D.mchPrivateKey,
      timeStamp: 1_764_547_200,
      nonceStr: 'n',
    });
    const message = P.Formatter.joinedByLineFeed(
      'wx5ad0b0c0de5a4db0',
      '1764547200',
      'n',
      'prepay_id=wx201410272009395522657a690389285100',
    );
    expect(params.paySign).toBe(P.Rsa.sign(message, D.mchPrivateKey));
    expect(params).toMatchObject({ timeStamp: '1764547200', nonceStr: 'n', signType: 'RSA' });
  });
});

import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DEMO, postJson, sandbox, useSandboxAndReceiver } from './helpers.ts';
import {
  callV3,
  decrypt,
  jsapiBody,
  placeV3,
  queryPath,
  replySignatureOk,
  V3,
  type CallV3Options,
} from './v3-helpers.ts';
import { loginCode } from './helpers.ts';

const ctx = useSandboxAndReceiver();
const JSAPI = '/v3/pay/transactions/jsapi';
const otherKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({
  type: 'pkcs8',
  format: 'pem',
}) as string;

async function signError(options: CallV3Options, body?: unknown, url = JSAPI) {
  let payload = body;
  if (payload === undefined && url === JSAPI) {
    const { openid } = await loginCode(ctx.sb);
    payload = jsapiBody(openid, ctx.receiver.url);
  }
  const res = await callV3(ctx.sb, url === JSAPI ? 'POST' : 'GET', url, payload, options);
  expect(res.status).toBe(401);
  expect(res.json.code).toBe('SIGN_ERROR');
  expect(replySignatureOk(res)).toBe(true); // errors are signed too
  return {
    message: String(res.json.message),
    detail: res.json.detail as Record<string, unknown> | undefined,
  };
}

describe('the merchant Authorization header (401 SIGN_ERROR, naming the mistake)', () => {
  it('accepts the exact signature and refuses a missing or malformed header', async () => {
    expect((await placeV3(ctx.sb, ctx.receiver.url)).prepayId).toMatch(/^wx/);
    expect((await signError({ authorization: null })).message).toMatch(/^Http头Authorization值为空/);
    const bearer = await signError({ authorization: 'Bearer abc' });
    expect(bearer.message).toMatch(/^Http头Authorization值格式错误.*WECHATPAY2-SHA256-RSA2048/);
    const partial = await signError({ authorization: 'WECHATPAY2-SHA256-RSA2048 mchid="1900000109"' });
    expect(partial.message).toMatch(/lacks one of its five items/);
  });

  it('names a wrong key', async () => {
    const { message, detail } = await signError({ privateKey: otherKey });
    expect(message).toMatch(
      /^错误的签名，验签失败: .*does not verify with the public key of merchant certificate/,
    );
    expect(message).toContain(V3.mchCertSerial);
    expect(detail).toMatchObject({
      field: 'signature',
      location: 'authorization',
      sign_information: { method: 'POST', url: JSAPI },
    });
  });

  it('names a serial that is not the merchant certificate, or is WeChat Pay own', async () => {
    expect((await signError({ serial: '1'.repeat(40) })).message).toMatch(
      /serial_no 1{40} is not the serial of merchant 1900000109's API certificate/,
    );
    expect((await signError({ serial: V3.platformPublicKeyId })).message).toMatch(/is WeChat Pay's/);
    expect((await signError({ serial: V3.platformCertSerial })).message).toMatch(/is WeChat Pay's/);
  });

  it('accepts the serial in lower case', async () => {
    const { openid } = await loginCode(ctx.sb);
    const res = await callV3(ctx.sb, 'POST', JSAPI, jsapiBody(openid, ctx.receiver.url), {
      serial: V3.mchCertSerial.toLowerCase(),
    });
    expect(res.status).toBe(200);
  });

  it('names a body serialised again for signing', async () => {
    const { openid } = await loginCode(ctx.sb);
    const body = jsapiBody(openid, ctx.receiver.url);
    const sent = JSON.stringify(body, null, 1);
    const { message } = await signError({ signedBody: JSON.stringify(body) }, sent);
    expect(message).toMatch(/body re-serialised/);
  });

  it('names a missing trailing \\n', async () => {
    const { message } = await signError({ signedMessage: (m) => m.slice(0, -1) });
    expect(message).toMatch(/lacks the trailing \\n/);
  });

  it('names an unsigned query string, a full URL, a GET signed with {}', async () => {
    const order = await placeV3(ctx.sb, ctx.receiver.url);
    const url = queryPath(order.outTradeNo);
    const noQuery = await signError({ signedUrl: url.split('?')[0] }, undefined, url);
    expect(noQuery.message).toMatch(/query string was not signed/);
    // (buildAuthorizationV3 reduces a full URL to its path, so this one is signed by hand)
    const full = await signError(
      { signedMessage: (m) => m.replace(url, `https://api.mch.weixin.qq.com${url}`) },
      undefined,
      url,
    );
    expect(full.message).toMatch(/full URL was signed/);
    const braces = await signError({ signedBody: '{}' }, undefined, url);
    expect(braces.message).toMatch(/GET request signs an empty body/);
  });

  it('refuses a timestamp more than 5 minutes off, and one in milliseconds', async () => {
    const stale = await signError({ timestamp: Math.floor(Date.now() / 1000) - 301 });
    expect(stale.message).toMatch(/s away from WeChat's clock/);
    const ms = await signError({ timestamp: Date.now() });
    expect(ms.message).toMatch(/not seconds|milliseconds/);
  });

  it('recognises the demo key when the merchant configured its own', async () => {
    const own = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({
      type: 'pkcs8',
      format: 'pem',
    }) as string;
    const sb = await sandbox({ privateKey: own, certSerial: 'AB'.repeat(20) });
    try {
      const res = await callV3(sb, 'GET', queryPath('ANYORDER1'), undefined, { serial: 'AB'.repeat(20) });
      expect(res.json.message).toMatch(/sandbox demo merchant key/);
      const ok = await callV3(sb, 'GET', queryPath('ANYORDER1'), undefined, {
        serial: 'AB'.repeat(20),
        privateKey: own,
      });
      expect(ok.json.code).toBe('ORDER_NOT_EXIST');
    } finally {
      await sb.close();
    }
  });
});

describe('key modes: public key (default), certificate, migration', () => {
  it('publishes the public key (and the certificate outside public-key mode)', async () => {
    const res = await fetch(`${ctx.sb.url}/sandbox/v3/public-key`);
    expect(await res.json()).toEqual({
      mode: 'public-key',
      public_key_id: V3.platformPublicKeyId,
      public_key: V3.platformPublicKey,
    });
    const sb = await sandbox({ v3KeyMode: 'certificate' });
    try {
      expect(await (await fetch(`${sb.url}/sandbox/v3/public-key`)).json()).toMatchObject({
        mode: 'certificate',
        public_key_id: V3.platformPublicKeyId,
        platform_certificate_serial: V3.platformCertSerial,
        platform_certificate: V3.platformCertificate,
      });
    } finally {
      await sb.close();
    }
  });

  it('answers /v3/certificates with 404 in public-key mode, the encrypted certificate otherwise', async () => {
    const none = await callV3(ctx.sb, 'GET', '/v3/certificates');
    expect(none.status).toBe(404);
    expect(none.json.code).toBe('RESOURCE_NOT_EXISTS');
    expect(replySignatureOk(none)).toBe(true);

    const sb = await sandbox({ v3KeyMode: 'certificate' });
    try {
      const res = await callV3(sb, 'GET', '/v3/certificates');
      expect(res.status).toBe(200);
      expect(res.headers.get('wechatpay-serial')).toBe(V3.platformCertSerial);
      expect(replySignatureOk(res)).toBe(true);
      const [entry] = res.json.data as Array<Record<string, unknown>>;
      expect(entry).toMatchObject({
        serial_no: V3.platformCertSerial,
        effective_time: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+08:00$/),
        expire_time: expect.stringMatching(/\+08:00$/),
        encrypt_certificate: { algorithm: 'AEAD_AES_256_GCM', associated_data: 'certificate' },
      });
      const pem = decrypt(entry?.encrypt_certificate as Parameters<typeof decrypt>[0]);
      expect(pem).toBe(V3.platformCertificate);
      expect(new X509Certificate(pem).serialNumber).toBe(V3.platformCertSerial);
    } finally {
      await sb.close();
    }
  });

  it('switches at run time; in migration replies follow the Wechatpay-Serial the request named', async () => {
    const sb = await sandbox();
    try {
      const set = (body: unknown) => postJson(`${sb.url}/sandbox/v3/key-mode`, body);
      expect(await set({ mode: 'migration', public_key_share: 0.25 })).toEqual({
        status: 200,
        json: { mch_id: DEMO.mchId, mode: 'migration', public_key_share: 0.25 },
      });
      const url = queryPath('ANYORDER2');
      const plain = await callV3(sb, 'GET', url);
      expect(plain.headers.get('wechatpay-serial')).toBe(V3.platformCertSerial);
      const asked = await callV3(sb, 'GET', url, undefined, {
        headers: { 'wechatpay-serial': V3.platformPublicKeyId },
      });
      expect(asked.headers.get('wechatpay-serial')).toBe(V3.platformPublicKeyId);
      expect(replySignatureOk(asked)).toBe(true);
      expect((await callV3(sb, 'GET', '/v3/certificates')).status).toBe(200);

      expect((await set({ mode: 'public-key' })).json).toMatchObject({ mode: 'public-key' });
      expect((await callV3(sb, 'GET', url)).headers.get('wechatpay-serial')).toBe(V3.platformPublicKeyId);
      expect((await fetch(`${sb.url}/sandbox/v3/key-mode`).then((r) => r.json())) as unknown).toMatchObject({
        mode: 'public-key',
      });
      expect((await set({ mode: 'pgp' })).status).toBe(400);
      expect((await set({ mode: 'certificate', mch_id: '1234567890' })).status).toBe(404);
    } finally {
      await sb.close();
    }
  });
});

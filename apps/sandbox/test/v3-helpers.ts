/**
 * APIv3 test helpers. Requests are signed with @mp-pay/shared's buildAuthorizationV3 (the fidelity suite signs
 * with wechatpay-axios-plugin instead); replies, notifications and certificates are checked with node:crypto
 * directly, so a slip in the shared verifier cannot hide here.
 */
import { createDecipheriv, createSign, verify } from 'node:crypto';
import {
  buildAuthorizationV3,
  createOutTradeNo,
  SANDBOX_DEMO_COMBINE_SUB_MERCHANTS,
  SANDBOX_DEMO_V3,
  type V3EncryptedResource,
} from '@mp-pay/shared/wechatpay';
import type { RunningSandbox } from '../src/index.ts';
import { DEMO, loginCode, postJson } from './helpers.ts';

export const V3 = SANDBOX_DEMO_V3;

/** The demo sub-merchants of the combine suites (the main demo merchant is the combine merchant). */
export const [SUB1, SUB2] = SANDBOX_DEMO_COMBINE_SUB_MERCHANTS as [
  (typeof SANDBOX_DEMO_COMBINE_SUB_MERCHANTS)[number],
  (typeof SANDBOX_DEMO_COMBINE_SUB_MERCHANTS)[number],
];

export interface V3Response {
  status: number;
  headers: Headers;
  text: string;
  json: Record<string, unknown>;
}

export interface CallV3Options {
  privateKey?: string;
  serial?: string;
  mchId?: string;
  timestamp?: string | number;
  /** Sign this text instead of the body sent (re-serialisation bugs). */
  signedBody?: string;
  /** Sign this URL instead of the one requested. */
  signedUrl?: string;
  /** Use this exact message for the signature (trailing-\n bugs). */
  signedMessage?: (message: string) => string;
  /** Send this Authorization header as is (or none with null). */
  authorization?: string | null;
  headers?: Record<string, string>;
}

/** One APIv3 call, signed like a merchant would (unless told otherwise). Body objects are sent compact. */
export async function callV3(
  sb: RunningSandbox,
  method: 'GET' | 'POST',
  url: string,
  body?: unknown,
  options: CallV3Options = {},
): Promise<V3Response> {
  const text = body === undefined ? '' : typeof body === 'string' ? body : JSON.stringify(body);
  let authorization: string | null | undefined = options.authorization;
  if (authorization === undefined) {
    const timestamp = String(options.timestamp ?? Math.floor(Date.now() / 1000));
    if (options.signedMessage) {
      const nonce = 'N0NCE0000000000000000000000000000'.slice(0, 32);
      const message = options.signedMessage(
        `${method}\n${options.signedUrl ?? url}\n${timestamp}\n${nonce}\n${options.signedBody ?? text}\n`,
      );
      const signature = createSign('sha256')
        .update(message)
        .sign(options.privateKey ?? V3.mchPrivateKey, 'base64');
      authorization =
        `WECHATPAY2-SHA256-RSA2048 mchid="${options.mchId ?? DEMO.mchId}",nonce_str="${nonce}",` +
        `signature="${signature}",timestamp="${timestamp}",serial_no="${options.serial ?? V3.mchCertSerial}"`;
    } else {
      authorization = buildAuthorizationV3({
        method,
        url: options.signedUrl ?? url,
        body: options.signedBody ?? text,
        mchId: options.mchId ?? DEMO.mchId,
        serialNo: options.serial ?? V3.mchCertSerial,
        privateKey: options.privateKey ?? V3.mchPrivateKey,
        timestamp,
      });
    }
  }
  const res = await fetch(sb.url + url, {
    method,
    headers: {
      accept: 'application/json',
      ...(method === 'POST' ? { 'content-type': 'application/json' } : {}),
      ...(authorization === null ? {} : { authorization }),
      ...options.headers,
    },
    ...(method === 'POST' ? { body: text } : {}),
  });
  const replyText = await res.text();
  return {
    status: res.status,
    headers: res.headers,
    text: replyText,
    json: replyText ? (JSON.parse(replyText) as Record<string, unknown>) : {},
  };
}

/** True when the reply's Wechatpay-Signature verifies with the platform public key over the raw body. */
export function replySignatureOk(res: { headers: Headers; text: string }): boolean {
  const timestamp = res.headers.get('wechatpay-timestamp');
  const nonce = res.headers.get('wechatpay-nonce');
  const signature = res.headers.get('wechatpay-signature');
  if (!timestamp || !nonce || !signature) return false;
  return verify(
    'sha256',
    Buffer.from(`${timestamp}\n${nonce}\n${res.text}\n`),
    V3.platformPublicKey,
    Buffer.from(signature, 'base64'),
  );
}

/** AEAD_AES_256_GCM by hand: key = APIv3 key, IV = nonce, AAD = associated_data, tag = last 16 bytes. */
export function decrypt(resource: V3EncryptedResource, apiV3Key: string = V3.apiV3Key): string {
  const sealed = Buffer.from(resource.ciphertext, 'base64');
  const decipher = createDecipheriv('aes-256-gcm', Buffer.from(apiV3Key), Buffer.from(resource.nonce));
  decipher.setAuthTag(sealed.subarray(sealed.length - 16));
  decipher.setAAD(Buffer.from(resource.associated_data ?? ''));
  return Buffer.concat([
    decipher.update(sealed.subarray(0, sealed.length - 16)),
    decipher.final(),
  ]).toString();
}

export function jsapiBody(openid: string, notifyUrl: string, overrides: Record<string, unknown> = {}) {
  return {
    appid: DEMO.appId,
    mchid: DEMO.mchId,
    description: 'mp-pay sandbox v3 test',
    out_trade_no: createOutTradeNo(),
    notify_url: notifyUrl,
    amount: { total: 1999, currency: 'CNY' },
    payer: { openid },
    ...overrides,
  };
}

export interface PlacedV3Order {
  outTradeNo: string;
  prepayId: string;
  openid: string;
  body: ReturnType<typeof jsapiBody>;
}

export async function placeV3(
  sb: RunningSandbox,
  notifyUrl: string,
  overrides: Record<string, unknown> = {},
): Promise<PlacedV3Order> {
  const { openid } = await loginCode(sb);
  const body = jsapiBody(openid, notifyUrl, overrides);
  const res = await callV3(sb, 'POST', '/v3/pay/transactions/jsapi', body);
  if (res.status !== 200) throw new Error(`jsapi failed: ${res.status} ${res.text}`);
  return { outTradeNo: body.out_trade_no, prepayId: String(res.json.prepay_id), openid, body };
}

/** wx.requestPayment's fields for a v3 order, signed with node:crypto (the merchant key by default). */
export function rsaPayParams(
  prepayId: string,
  options: { privateKey?: string; message?: (m: string) => string } = {},
) {
  const timeStamp = String(Math.floor(Date.now() / 1000));
  const nonceStr = 'p4ySign0nce000000000000000000000';
  const pkg = `prepay_id=${prepayId}`;
  const message = `${DEMO.appId}\n${timeStamp}\n${nonceStr}\n${pkg}\n`;
  const paySign = createSign('sha256')
    .update(options.message ? options.message(message) : message)
    .sign(options.privateKey ?? V3.mchPrivateKey, 'base64');
  return { appId: DEMO.appId, timeStamp, nonceStr, package: pkg, signType: 'RSA', paySign };
}

export async function payV3(sb: RunningSandbox, prepayId: string, outcome?: string) {
  return postJson(`${sb.url}/sandbox/pay`, { ...rsaPayParams(prepayId), ...(outcome ? { outcome } : {}) });
}

export const queryPath = (outTradeNo: string, mchid: string = DEMO.mchId) =>
  `/v3/pay/transactions/out-trade-no/${outTradeNo}?mchid=${mchid}`;

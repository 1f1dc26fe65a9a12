/**
 * Helpers for the channel tests (APP, official account, H5, Native): orders of each trade type placed over
 * HTTP, signed with @mp-pay/shared; the buyer's side (cashier, scanner); the notifications that follow. The
 * *-fidelity suites sign with wechatpay-axios-plugin instead, and read v3 notifications with
 * `libraryReadsV3Notification`, which uses only that library.
 */
import {
  createOutTradeNo,
  parseXml,
  SANDBOX_DEMO_CHANNELS,
  type SignType,
  type XmlMap,
} from '@mp-pay/shared/wechatpay';
import { Aes, Formatter, Hash, Rsa, Transformer, Wechatpay } from 'wechatpay-axios-plugin';
import type { RunningSandbox } from '../src/index.ts';
import {
  callV2,
  DEMO,
  eventually,
  postJson,
  type NotifyReceiver,
  type ReceivedNotification,
} from './helpers.ts';
import { callV3, decrypt, V3 } from './v3-helpers.ts';

export const OA = SANDBOX_DEMO_CHANNELS.officialAccount;
export const APP = SANDBOX_DEMO_CHANNELS.app;
export const SCENE_INFO = JSON.stringify({
  h5_info: { type: 'Wap', wap_url: 'http://127.0.0.1:3000/shop/', wap_name: 'mp-pay shop' },
});

export type V2TradeType = 'JSAPI' | 'APP' | 'MWEB' | 'NATIVE';

/** The fields each trade type needs (openid for JSAPI must be given in overrides). */
export function channelFields(
  tradeType: V2TradeType,
  notifyUrl: string,
  overrides: Record<string, string | number | undefined> = {},
): Record<string, string | number | undefined> {
  return {
    appid: tradeType === 'APP' ? APP.appId : DEMO.appId,
    body: `mp-pay ${tradeType} test`,
    out_trade_no: createOutTradeNo(),
    total_fee: 2500,
    spbill_create_ip: '127.0.0.1',
    notify_url: notifyUrl,
    trade_type: tradeType,
    ...(tradeType === 'NATIVE' ? { product_id: 'SKU-42' } : {}),
    ...(tradeType === 'MWEB' ? { scene_info: SCENE_INFO } : {}),
    ...overrides,
  };
}

export interface PlacedChannelOrder {
  outTradeNo: string;
  reply: XmlMap;
  fields: Record<string, string | number | undefined>;
}

/** A v2 unifiedorder of the trade type; throws unless it succeeded. */
export async function placeV2Channel(
  sb: RunningSandbox,
  tradeType: V2TradeType,
  notifyUrl: string,
  overrides: Record<string, string | number | undefined> = {},
  signType: SignType = 'MD5',
): Promise<PlacedChannelOrder> {
  const fields = channelFields(tradeType, notifyUrl, overrides);
  const reply = await callV2(sb, '/pay/unifiedorder', fields, { signType });
  if (reply.result_code !== 'SUCCESS') throw new Error(`unifiedorder failed: ${JSON.stringify(reply)}`);
  return { outTradeNo: String(fields.out_trade_no), reply, fields };
}

export type V3Kind = 'app' | 'h5' | 'native';

export function v3ChannelBody(kind: V3Kind, notifyUrl: string, overrides: Record<string, unknown> = {}) {
  return {
    appid: kind === 'app' ? APP.appId : DEMO.appId,
    mchid: DEMO.mchId,
    description: `mp-pay v3 ${kind} test`,
    out_trade_no: createOutTradeNo(),
    notify_url: notifyUrl,
    amount: { total: 3100, currency: 'CNY' },
    ...(kind === 'h5'
      ? {
          scene_info: {
            payer_client_ip: '127.0.0.1',
            h5_info: { type: 'Wap', app_name: 'mp-pay shop', app_url: 'http://127.0.0.1:3000/shop/' },
          },
        }
      : {}),
    ...overrides,
  };
}

export async function placeV3Channel(
  sb: RunningSandbox,
  kind: V3Kind,
  notifyUrl: string,
  overrides: Record<string, unknown> = {},
) {
  const body = v3ChannelBody(kind, notifyUrl, overrides);
  const res = await callV3(sb, 'POST', `/v3/pay/transactions/${kind}`, body);
  if (res.status !== 200) throw new Error(`${kind} failed: ${res.status} ${res.text}`);
  return { outTradeNo: body.out_trade_no, json: res.json, body };
}

/** Splits an mweb_url / h5_url into its path and parameters. */
export function cashierLink(url: string) {
  const parsed = new URL(url);
  return {
    path: parsed.pathname,
    prepayId: parsed.searchParams.get('prepay_id') ?? '',
    pkg: parsed.searchParams.get('package') ?? '',
    url: parsed,
  };
}

/** GET the cashier page as a browser coming from `referer` would. */
export async function openCashier(
  url: string,
  options: { referer?: string | null; userAgent?: string; redirectUrl?: string } = {},
) {
  const target = new URL(url);
  if (options.redirectUrl !== undefined) target.searchParams.set('redirect_url', options.redirectUrl);
  const referer = options.referer === undefined ? 'http://127.0.0.1:3000/shop/pay.html' : options.referer;
  const res = await fetch(target, {
    headers: {
      ...(referer === null ? {} : { referer }),
      ...(options.userAgent ? { 'user-agent': options.userAgent } : {}),
    },
    redirect: 'manual',
  });
  return { status: res.status, html: await res.text(), headers: res.headers };
}

/** Submits the cashier form (what #sandbox-h5-pay does). */
export async function submitCashier(
  sb: RunningSandbox,
  fields: { prepay_id: string; package: string; redirect_url?: string; outcome?: string },
) {
  const res = await fetch(`${sb.url}/sandbox/h5/pay`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ outcome: 'success', redirect_url: '', ...fields }).toString(),
    redirect: 'manual',
  });
  return { status: res.status, html: await res.text(), location: res.headers.get('location') };
}

/** Submits the cashier form of an mweb_url / h5_url as WeChat issued it (prepay_id and package from the link). */
export function payCashier(
  sb: RunningSandbox,
  url: string,
  fields: { redirect_url?: string; outcome?: string } = {},
) {
  const link = cashierLink(url);
  return submitCashier(sb, { prepay_id: link.prepayId, package: link.pkg, ...fields });
}

/** The scanner, as a test or a demo drives it: POST /sandbox/scan {url, openid?, outcome?}. */
export function scanCode(sb: RunningSandbox, body: Record<string, unknown>) {
  return postJson(`${sb.url}/sandbox/scan`, body);
}

/** The scanner's page for a scanned link (GET /sandbox/scan?url=), as HTML. */
export async function scanPage(sb: RunningSandbox, url: unknown): Promise<string> {
  return (await fetch(`${sb.url}/sandbox/scan?url=${encodeURIComponent(String(url))}`)).text();
}

/** Waits for the v2 payment notification of `outTradeNo` (XML bodies only: v3 ones may share the receiver). */
export function v2NotificationFor(receiver: NotifyReceiver, outTradeNo: string): Promise<XmlMap> {
  return eventually(() =>
    receiver.received
      .filter((r) => r.body.startsWith('<'))
      .map((r) => parseXml(r.body))
      .find((n) => n.out_trade_no === outTradeNo),
  );
}

/** Waits for the v3 payment notification of `outTradeNo` and returns its decrypted transaction. */
export function v3NotificationFor(
  receiver: NotifyReceiver,
  outTradeNo: string,
): Promise<Record<string, unknown>> {
  return eventually(() => {
    for (const r of receiver.received) {
      if (!r.body.startsWith('{')) continue;
      const envelope = JSON.parse(r.body) as { resource: Parameters<typeof decrypt>[0] };
      const tx = JSON.parse(decrypt(envelope.resource)) as Record<string, unknown>;
      if (tx.out_trade_no === outTradeNo) return tx;
    }
    return undefined;
  });
}

/**
 * For the *-fidelity suites: whether wechatpay-axios-plugin's own Hash verifies a v2 map's `sign` with the demo
 * key (MD5 or HMAC-SHA256, told apart by its length as our readers do).
 */
export function libraryV2SignOk(data: Readonly<Record<string, string>>, key: string = DEMO.key): boolean {
  const type = data.sign?.length === 64 ? Hash.ALGO_HMAC_SHA256 : Hash.ALGO_MD5;
  return Hash.equals(Hash.sign(type, data, Hash.keyObjectFrom(key)), data.sign);
}

/**
 * For the *-fidelity suites: waits for the v2 notification naming `outTradeNo` among those received from index
 * `from` on, and reads it with the library's Transformer (not @mp-pay/shared's XML parser).
 */
export async function libraryReadsV2Notification(
  receiver: NotifyReceiver,
  outTradeNo: string,
  from = 0,
): Promise<Record<string, string>> {
  const body = await eventually(
    () => receiver.received.slice(from).find((r) => r.body.includes(outTradeNo))?.body,
  );
  return Transformer.toObject(body) as Record<string, string>;
}

/**
 * For the *-fidelity suites: a v3 notification read with wechatpay-axios-plugin's own primitives, nothing of
 * @mp-pay/shared: whether its Wechatpay-Signature verifies with the platform public key, the serial it names,
 * the envelope, and the resource decrypted with the library's AES-GCM and the APIv3 key.
 */
export function libraryReadsV3Notification(received: ReceivedNotification) {
  const h = (name: string) => String(received.headers[name]);
  const verified = Rsa.verify(
    Formatter.response(h('wechatpay-timestamp'), h('wechatpay-nonce'), received.body),
    h('wechatpay-signature'),
    Rsa.from(V3.platformPublicKey, Rsa.KEY_TYPE_PUBLIC),
  );
  const envelope = JSON.parse(received.body) as {
    event_type: string;
    resource: { ciphertext: string; nonce: string; associated_data: string };
  };
  const { ciphertext, nonce, associated_data } = envelope.resource;
  const tx = JSON.parse(Aes.AesGcm.decrypt(ciphertext, V3.apiV3Key, nonce, associated_data)) as Record<
    string,
    unknown
  >;
  return { verified, serial: h('wechatpay-serial'), envelope, tx };
}

/** A reply of wechatpay-axios-plugin's chained APIv3 client (it has verified the reply's signature already). */
export interface LibraryReply {
  status: number;
  data: Record<string, unknown>;
  headers: Record<string, string>;
}
/** One endpoint of that client, for the calls the fidelity suites make. */
export interface LibraryEndpoint {
  get(config?: Record<string, unknown>): Promise<LibraryReply>;
  post(data?: unknown, config?: Record<string, unknown>): Promise<LibraryReply>;
}
/** What the client throws: an error reply of the sandbox, or its own refusal (an unverifiable signature). */
export interface LibraryError {
  code?: string;
  message: string;
  response?: { status: number; data?: Record<string, unknown> };
}

/**
 * wechatpay-axios-plugin's chained APIv3 client as the main demo merchant, trusting the sandbox's platform
 * public key unless `certs` says otherwise; `T` is the shape of the paths a suite calls.
 */
export function libraryV3<T>(
  sb: RunningSandbox,
  options: { privateKey?: string; certs?: Record<string, string> } = {},
): T {
  const wxpay = new Wechatpay({
    mchid: DEMO.mchId,
    serial: V3.mchCertSerial,
    privateKey: options.privateKey ?? V3.mchPrivateKey,
    certs: options.certs ?? { [V3.platformPublicKeyId]: V3.platformPublicKey },
    baseURL: `${sb.url}/`,
  } as ConstructorParameters<typeof Wechatpay>[0]) as unknown as { v3: T };
  return wxpay.v3;
}

/** What a library call that must fail threw; a call that succeeds fails the test. */
export async function libraryFailure(promise: Promise<unknown>): Promise<LibraryError> {
  return (await promise.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (e: unknown) => e,
  )) as LibraryError;
}

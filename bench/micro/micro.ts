import type { KeyObject } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import Payment from 'tenpay';
import { parseXML as tenpayParseXml } from 'tenpay/lib/util.js';
import { Aes, Formatter, Hash, Rsa, Transformer } from 'wechatpay-axios-plugin';
import {
  parseXml,
  SANDBOX_DEMO,
  SANDBOX_DEMO_V3,
  signV2,
  V3KeySet,
  verifyPaymentNotification,
  verifyV3Notification,
  type SignType,
} from '@mp-pay/shared/wechatpay';
import { signedNotification, signedNotificationV3 } from '../lib/notification.ts';
import { compareOps, type LoopOptions } from '../lib/timed-loop.ts';

/**
 * Signing and XML-parse micro-benchmarks: mp-pay's shared core against tenpay 2.1 and wechatpay-axios-plugin
 * 0.9 on the same realistic notification (26 fields, coupons, a CDATA Chinese attach), and the same payment as
 * an APIv3 notification (RSA signature, AES-256-GCM resource), which tenpay does not speak. Before timing
 * anything each case checks that the implementations agree (same signature, same parsed map, same decrypted
 * transaction), so a fast wrong answer cannot win.
 */
export interface MicroRow {
  case: string;
  ours: number;
  /** Absent where tenpay has no counterpart (APIv3). */
  tenpay?: number;
  wechatpayAxios: number;
}

type Impl = () => unknown;
type Impls = Record<'ours' | 'wechatpayAxios', Impl> & { tenpay?: Impl };

const SAMPLE_OUT_TRADE_NO = '20261125143000abcdefghijklmnopqr';

const key = SANDBOX_DEMO.key;
const tenpay = new Payment({ appid: SANDBOX_DEMO.appId, mchid: SANDBOX_DEMO.mchId, partnerKey: key });
// wechatpay-axios-plugin's response verifier reads `this.url` (an axios request config) to pick signless APIs.
const axiosVerify = new Transformer(SANDBOX_DEMO.mchId, key).verifier.bind({ url: '/pay/notify' });

function sameOrThrow(label: string, values: unknown[]): void {
  const [first, ...rest] = values;
  for (const v of rest) {
    if (!isDeepStrictEqual(v, first)) {
      throw new Error(`micro-benchmark sanity check failed for ${label}: ${JSON.stringify(values)}`);
    }
  }
}

async function signCase(signType: SignType): Promise<Impls> {
  const { map } = signedNotification({ outTradeNo: SAMPLE_OUT_TRADE_NO, totalFee: 1999, signType });
  const unsigned = { ...map };
  delete unsigned.sign;
  const impls = {
    ours: () => signV2(unsigned, key, signType),
    tenpay: () => tenpay._getSign(unsigned, signType),
    wechatpayAxios: () => Hash.sign(signType, unsigned, key),
  };
  sameOrThrow(`sign ${signType}`, [map.sign, ...Object.values(impls).map((f) => f())]);
  return impls;
}

async function parseCase(): Promise<Impls> {
  const { map, xml } = signedNotification({ outTradeNo: SAMPLE_OUT_TRADE_NO, totalFee: 1999 });
  const impls = {
    ours: () => parseXml(xml),
    tenpay: () => tenpayParseXml(xml),
    wechatpayAxios: () => Transformer.toObject(xml),
  };
  const parsed = await Promise.all(Object.values(impls).map(async (f) => ({ ...((await f()) as object) })));
  sameOrThrow('parse', [map, ...parsed]);
  return impls;
}

async function verifyCase(): Promise<Impls> {
  const { xml } = signedNotification({ outTradeNo: SAMPLE_OUT_TRADE_NO, totalFee: 1999 });
  const options = { key, appId: SANDBOX_DEMO.appId, mchId: SANDBOX_DEMO.mchId };
  const impls = {
    ours: () => verifyPaymentNotification(xml, options).outTradeNo,
    tenpay: async () => (await tenpay._parse(xml, 'middleware_pay')).out_trade_no,
    wechatpayAxios: () => {
      const verified = axiosVerify(Transformer.toObject(xml)) as Record<string, unknown>;
      if (verified instanceof Error) throw verified;
      return verified.out_trade_no;
    },
  };
  const results = await Promise.all(Object.values(impls).map(async (f) => await f()));
  sameOrThrow('parse+verify', [SAMPLE_OUT_TRADE_NO, ...results]);
  return impls;
}

type V3Verifier = (body: string, headers: Record<string, string>) => Record<string, unknown>;

/**
 * APIv3: signature headers, clock window, key by serial, RSA-SHA256 over `timestamp\nnonce\nbody\n`, then the
 * resource decrypted with the GCM tag checked and parsed. mp-pay: verifyV3Notification (what the server's
 * notify route runs). wechatpay-axios-plugin has no notification helper: the checks of its own reply verifier
 * (lib/decorator.js: clock offset, serial, Rsa.verify) and then Aes.AesGcm.decrypt, as its README says. Both
 * hold their public key parsed once.
 */
function verifyV3Case(): Impls {
  const { body, headers, transaction } = signedNotificationV3({
    outTradeNo: SAMPLE_OUT_TRADE_NO,
    totalFee: 1999,
  });
  const apiV3Key = SANDBOX_DEMO_V3.apiV3Key;
  const serial = SANDBOX_DEMO_V3.platformPublicKeyId;
  const keys = new V3KeySet().addPublicKey(serial, SANDBOX_DEMO_V3.platformPublicKey);
  const certs: Record<string, KeyObject> = {
    [serial]: Rsa.from(SANDBOX_DEMO_V3.platformPublicKey, Rsa.KEY_TYPE_PUBLIC),
  };
  const ours: V3Verifier = (raw, h) => verifyV3Notification(raw, h, { apiV3Key, keys }).resource;
  const wechatpayAxios: V3Verifier = (raw, h) => {
    const timestamp = h['Wechatpay-Timestamp'] ?? '';
    const nonce = h['Wechatpay-Nonce'] ?? '';
    const signature = h['Wechatpay-Signature'] ?? '';
    const key = certs[h['Wechatpay-Serial'] ?? ''];
    if (Math.abs(Formatter.timestamp() - Number(timestamp)) > 300) throw new Error('timestamp offset');
    if (!key) throw new Error('unknown serial');
    if (!Rsa.verify(Formatter.response(timestamp, nonce, raw), signature, key)) throw new Error('signature');
    const { resource } = JSON.parse(raw) as {
      resource: { ciphertext: string; nonce: string; associated_data?: string };
    };
    return JSON.parse(
      Aes.AesGcm.decrypt(resource.ciphertext, apiV3Key, resource.nonce, resource.associated_data),
    ) as Record<string, unknown>;
  };
  const verifiers = { ours, wechatpayAxios };
  // Both decrypt the same transaction, and both refuse a body changed after signing and a forged signature.
  sameOrThrow('v3 parse+verify+decrypt', [
    transaction,
    ...Object.values(verifiers).map((f) => f(body, headers)),
  ]);
  const forged = { ...headers, 'Wechatpay-Signature': Buffer.alloc(256, 1).toString('base64') };
  const altered = body.replace('"TRANSACTION.SUCCESS"', '"TRANSACTION.SUCCESS" ');
  for (const [name, verify] of Object.entries(verifiers)) {
    for (const [what, raw, h] of [
      ['forged signature', body, forged],
      ['altered body', altered, headers],
    ] as const) {
      let accepted = true;
      try {
        verify(raw, h);
      } catch {
        accepted = false;
      }
      if (accepted) throw new Error(`micro-benchmark sanity check failed: ${name} accepted a ${what}`);
    }
  }
  return {
    ours: () => ours(body, headers).out_trade_no,
    wechatpayAxios: () => wechatpayAxios(body, headers).out_trade_no,
  };
}

export async function runMicro(loop: LoopOptions = {}): Promise<MicroRow[]> {
  const sample = signedNotification({ outTradeNo: SAMPLE_OUT_TRADE_NO, totalFee: 1999 });
  const fields = Object.keys(sample.map).length - 1;
  const bytes = Buffer.byteLength(sample.xml);
  const v3Bytes = Buffer.byteLength(
    signedNotificationV3({ outTradeNo: SAMPLE_OUT_TRADE_NO, totalFee: 1999 }).body,
  );
  const cases: [string, Impls][] = [
    [`sign MD5 (${fields}-field notify map)`, await signCase('MD5')],
    [`sign HMAC-SHA256 (${fields + 1} fields)`, await signCase('HMAC-SHA256')],
    [`parse notify XML (${bytes} B)`, await parseCase()],
    ['parse + verify notify', await verifyCase()],
    [`parse + verify + decrypt v3 notify (${v3Bytes} B)`, verifyV3Case()],
  ];
  const rows: MicroRow[] = [];
  for (const [label, impls] of cases) {
    const ops: Record<string, number> = await compareOps(impls as Record<string, Impl>, loop);
    rows.push({
      case: label,
      ours: ops.ours ?? 0,
      wechatpayAxios: ops.wechatpayAxios ?? 0,
      ...(ops.tenpay === undefined ? {} : { tenpay: ops.tenpay }),
    });
  }
  return rows;
}

import { isDeepStrictEqual } from 'node:util';
import Payment from 'tenpay';
import { parseXML as tenpayParseXml } from 'tenpay/lib/util.js';
import { Hash, Transformer } from 'wechatpay-axios-plugin';
import {
  parseXml,
  SANDBOX_DEMO,
  signV2,
  verifyPaymentNotification,
  type SignType,
} from '@mp-pay/shared/wechatpay';
import { signedNotification } from '../lib/notification.ts';
import { compareOps, type LoopOptions } from '../lib/timed-loop.ts';

/**
 * Signing and XML-parse micro-benchmarks: mp-pay's shared core against tenpay 2.1 and wechatpay-axios-plugin
 * 0.9 on the same realistic notification (26 fields, coupons, a CDATA Chinese attach). Before timing anything
 * each case checks that the three implementations agree (same signature, same parsed map), so a fast wrong
 * answer cannot win.
 */
export interface MicroRow {
  case: string;
  ours: number;
  tenpay: number;
  wechatpayAxios: number;
}

type Impl = () => unknown;

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

async function signCase(signType: SignType): Promise<Record<'ours' | 'tenpay' | 'wechatpayAxios', Impl>> {
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

async function parseCase(): Promise<Record<'ours' | 'tenpay' | 'wechatpayAxios', Impl>> {
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

async function verifyCase(): Promise<Record<'ours' | 'tenpay' | 'wechatpayAxios', Impl>> {
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

export async function runMicro(loop: LoopOptions = {}): Promise<MicroRow[]> {
  const sample = signedNotification({ outTradeNo: SAMPLE_OUT_TRADE_NO, totalFee: 1999 });
  const fields = Object.keys(sample.map).length - 1;
  const bytes = Buffer.byteLength(sample.xml);
  const cases: [string, Record<'ours' | 'tenpay' | 'wechatpayAxios', Impl>][] = [
    [`sign MD5 (${fields}-field notify map)`, await signCase('MD5')],
    [`sign HMAC-SHA256 (${fields + 1} fields)`, await signCase('HMAC-SHA256')],
    [`parse notify XML (${bytes} B)`, await parseCase()],
    ['parse + verify notify', await verifyCase()],
  ];
  const rows: MicroRow[] = [];
  for (const [label, impls] of cases) rows.push({ case: label, ...(await compareOps(impls, loop)) });
  return rows;
}

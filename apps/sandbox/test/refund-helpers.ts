/**
 * Refund test helpers: a paid order, and v2 refund calls over the sandbox's mutual-TLS listener with the demo
 * client certificate (or none, or a stranger's), through node:https directly.
 */
import { request } from 'node:https';
import {
  buildXml,
  createNonce,
  parseXml,
  SANDBOX_DEMO_TLS,
  SANDBOX_DEMO_V3,
  signV2,
  type SignType,
  type XmlMap,
} from '@mp-pay/shared/wechatpay';
import type { RunningSandbox } from '../src/index.ts';
import { DEMO, eventually, inspect, pay, placeOrder, postJson } from './helpers.ts';

export type ClientCert = 'pem' | 'p12' | 'none' | 'stranger';

/** TLS options for one of the client identities. The sandbox's server certificate is always checked. */
export function tlsIdentity(cert: ClientCert): Record<string, unknown> {
  const ca = SANDBOX_DEMO_TLS.caCert;
  switch (cert) {
    case 'pem':
      return { ca, cert: SANDBOX_DEMO_TLS.clientCertPem, key: SANDBOX_DEMO_TLS.clientKeyPem };
    case 'p12':
      return {
        ca,
        pfx: Buffer.from(SANDBOX_DEMO_TLS.clientP12Base64, 'base64'),
        passphrase: SANDBOX_DEMO_TLS.passphrase,
      };
    case 'stranger':
      // A self-signed certificate the demo CA never issued (the v3 platform certificate and its key).
      return { ca, cert: SANDBOX_DEMO_V3.platformCertificate, key: SANDBOX_DEMO_V3.platformPrivateKey };
    case 'none':
      return { ca };
  }
}

/** POSTs raw text to the TLS listener; resolves with the status and body, rejects on a TLS failure. */
export function postTls(
  sb: RunningSandbox,
  path: string,
  body: string,
  cert: ClientCert = 'pem',
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${sb.tlsUrl}${path}`,
      { method: 'POST', headers: { 'content-type': 'text/xml' }, agent: false, ...tlsIdentity(cert) },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** A signed v2 refund call over mutual TLS; the parsed reply. */
export async function refundV2(
  sb: RunningSandbox,
  fields: Record<string, string | number | undefined>,
  options: { signType?: SignType; key?: string; cert?: ClientCert } = {},
): Promise<XmlMap> {
  const signType = options.signType ?? 'MD5';
  const params: Record<string, string | number | undefined> = {
    appid: DEMO.appId,
    mch_id: DEMO.mchId,
    nonce_str: createNonce(),
    ...(signType === 'MD5' ? {} : { sign_type: signType }),
    ...fields,
  };
  params.sign = signV2(params, options.key ?? DEMO.key, signType);
  const { text } = await postTls(sb, '/secapi/pay/refund', buildXml(params), options.cert ?? 'pem');
  return parseXml(text);
}

export interface PaidOrder {
  outTradeNo: string;
  transactionId: string;
  totalFee: number;
}

/** Places a v2 order (1999 fen unless told) and pays it. */
export async function paidOrder(
  sb: RunningSandbox,
  notifyUrl: string,
  overrides: Record<string, string | number> = {},
): Promise<PaidOrder> {
  const order = await placeOrder(sb, notifyUrl, overrides);
  const paid = await pay(sb, order);
  if (paid.json.errMsg !== 'requestPayment:ok') throw new Error(`pay failed: ${JSON.stringify(paid.json)}`);
  const seen = await inspect(sb, order.outTradeNo);
  return {
    outTradeNo: order.outTradeNo,
    transactionId: String(seen.transaction_id),
    totalFee: Number(order.fields.total_fee),
  };
}

let refundSeq = 0;
export const newOutRefundNo = () => `RF${Date.now()}${(refundSeq++).toString().padStart(4, '0')}`;

/** The refund fields for a paid order, refunding `refundFee` (default 100). */
export function refundFields(
  order: PaidOrder,
  extra: Record<string, string | number | undefined> = {},
): Record<string, string | number | undefined> {
  return {
    out_trade_no: order.outTradeNo,
    out_refund_no: newOutRefundNo(),
    total_fee: order.totalFee,
    refund_fee: 100,
    ...extra,
  };
}

export interface InspectedRefund {
  out_refund_no: string;
  refund_id: string;
  status: string;
  refund_fee: number;
  notifications: Array<{ attempt: number; kind: string; outcome: string; httpStatus?: number }>;
}

/** The order's refunds as GET /sandbox/orders/:out_trade_no shows them. */
export async function inspectRefunds(sb: RunningSandbox, outTradeNo: string): Promise<InspectedRefund[]> {
  return (await inspect(sb, outTradeNo)).refunds as InspectedRefund[];
}

/** Waits until the refund left PROCESSING; its inspected record. */
export function settled(
  sb: RunningSandbox,
  outTradeNo: string,
  outRefundNo: string,
): Promise<InspectedRefund> {
  return eventually(async () => {
    const refund = (await inspectRefunds(sb, outTradeNo)).find((r) => r.out_refund_no === outRefundNo);
    return refund && refund.status !== 'PROCESSING' ? refund : undefined;
  });
}

export async function setFaults(
  sb: RunningSandbox,
  target: Record<string, string>,
  faults: Record<string, unknown>,
) {
  const res = await postJson(`${sb.url}/sandbox/faults`, { ...target, faults });
  if (res.status !== 200) throw new Error(`faults refused: ${JSON.stringify(res.json)}`);
}

export async function advanceClock(sb: RunningSandbox, ms: number) {
  await postJson(`${sb.url}/sandbox/clock`, { advance_ms: ms });
}

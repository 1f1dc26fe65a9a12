/**
 * Helpers for the channel tests (APP, official account, H5, Native): orders of each trade type placed over
 * HTTP, signed with @mp-pay/shared (the *-fidelity suites sign with wechatpay-axios-plugin instead).
 */
import {
  createOutTradeNo,
  SANDBOX_DEMO_CHANNELS,
  type SignType,
  type XmlMap,
} from '@mp-pay/shared/wechatpay';
import type { RunningSandbox } from '../src/index.ts';
import { callV2, DEMO } from './helpers.ts';
import { callV3 } from './v3-helpers.ts';

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

/**
 * Just enough of tenpay 2.1 (plain CommonJS, no bundled types) for the peer baseline and micro-benchmarks.
 * Shapes read from node_modules/tenpay/lib/{index,util}.js.
 */
declare module 'tenpay' {
  import type { Middleware } from 'koa';

  interface TenpayOptions {
    appid: string;
    mchid: string;
    partnerKey: string;
    notify_url?: string;
  }

  class Payment {
    constructor(options: TenpayOptions, debug?: boolean);
    /** Signs `params` (sign and empty values skipped) with MD5 (default) or HMAC-SHA256. */
    _getSign(params: Record<string, string>, type?: 'MD5' | 'HMAC-SHA256'): string;
    /** xml2js parse, then return_code/result_code/appid/mch_id/sign checks for notify types. */
    _parse(xml: string, type: string, signType?: string): Promise<Record<string, string>>;
    /** Koa notify middleware: expects the raw XML string in ctx.request.body, sets ctx.request.weixin. */
    middleware(type?: 'pay' | 'refund' | 'nativePay'): Middleware;
  }
  export = Payment;
}

declare module 'tenpay/lib/util.js' {
  export function parseXML(xml: string): Promise<Record<string, string>>;
}

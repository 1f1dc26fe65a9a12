/**
 * The shape of the OpenSDK's PayReq (docs/protocol.md §9 "APP"), the same in APIv2 and APIv3: six lower-case
 * fields and `sign`. Only the signature differs (v2: MD5 / HMAC-SHA256 over the six; v3: RSA over four lines),
 * so the shape checks live here, shared by v2/paysign.ts and v3/paysign.ts. Internal: not in the core barrel.
 */
export const APP_PAY_PACKAGE = 'Sign=WXPay';

/** The six names of PayReq, in the order the OpenSDK lists them. */
export const APP_PAY_FIELDS = ['appid', 'partnerid', 'prepayid', 'package', 'noncestr', 'timestamp'] as const;

export type AppPayFields = Record<(typeof APP_PAY_FIELDS)[number] | 'sign', string>;

/**
 * Exactly the six fields of the OpenSDK's PayReq and its `sign`, with the lower-case names the SDK sends; not
 * wx.requestPayment's camelCase (the two are signed over different fields). One type for both protocols: v2
 * exports it as `AppPayParams` (sign: MD5 / HMAC-SHA256 hex), v3 as `AppPayV3Params` (sign: base64 RSA).
 */
export type AppPayParams = {
  appid: string;
  partnerid: string;
  prepayid: string;
  package: typeof APP_PAY_PACKAGE;
  noncestr: string;
  /** Seconds, as a string (the iOS SDK wants a number: convert on the device). */
  timestamp: string;
  sign: string;
};

/** camelCase names a merchant might send by mistake (wx.requestPayment's spelling), with the PayReq name. */
const CAMEL_CASE_NAMES: ReadonlyArray<readonly [string, string]> = [
  ['appId', 'appid'],
  ['partnerId', 'partnerid'],
  ['prepayId', 'prepayid'],
  ['nonceStr', 'noncestr'],
  ['timeStamp', 'timestamp'],
  ['paySign', 'sign'],
];

/**
 * Everything the OpenSDK refuses before looking at the signature: not an object, a camelCase name, a missing
 * or empty field, a `package` other than `Sign=WXPay`, a timestamp that is not seconds, an over-long noncestr.
 * Returns the problem as a sentence, or the seven fields as strings.
 */
export function appPayShape(params: unknown): { problem: string } | { fields: AppPayFields } {
  if (typeof params !== 'object' || params === null || Array.isArray(params)) {
    return { problem: 'APP pay parameters must be an object' };
  }
  const map = params as Readonly<Record<string, unknown>>;
  for (const [camel, lower] of CAMEL_CASE_NAMES) {
    if (Object.hasOwn(map, camel) && !Object.hasOwn(map, lower)) {
      return {
        problem:
          `${camel} is not a PayReq field: the OpenSDK names are lower-case (${APP_PAY_FIELDS.join(', ')}, ` +
          `sign); ${camel} is wx.requestPayment's spelling, so ${lower} is missing`,
      };
    }
  }
  const fields: Partial<AppPayFields> = {};
  for (const name of [...APP_PAY_FIELDS, 'sign'] as const) {
    const value = Object.hasOwn(map, name) ? map[name] : undefined;
    // The iOS SDK's timeStamp is a number; every other field is a string on both platforms.
    if (name === 'timestamp' && typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) {
      fields[name] = String(value);
      continue;
    }
    if (typeof value !== 'string' || value === '') return { problem: `${name} is missing or empty` };
    fields[name] = value;
  }
  const complete = fields as AppPayFields;
  if (complete.package !== APP_PAY_PACKAGE) {
    return {
      problem: complete.package.startsWith('prepay_id=')
        ? `package is "prepay_id=…", the mini-program / JSAPI value: APP pay wants the constant ${APP_PAY_PACKAGE}`
        : `package must be the constant ${APP_PAY_PACKAGE}`,
    };
  }
  if (!/^\d{1,10}$/.test(complete.timestamp)) {
    return {
      problem: /^\d{13}$/.test(complete.timestamp)
        ? 'timestamp is in milliseconds: it must be seconds'
        : 'timestamp must be whole seconds',
    };
  }
  if (complete.noncestr.length > 32) return { problem: 'noncestr is longer than 32 characters' };
  return { fields: complete };
}

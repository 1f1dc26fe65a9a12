/**
 * What each WeChat credential looks like, defined once: the server and the sandbox read the same `.env`, so a
 * value one of them accepts and the other refuses would break `pnpm start` with two different stories. Plain
 * `{re, message}` objects, because this package has no schema library: an app's zod schema does
 * `z.string().regex(RULE.re, RULE.message)`. Messages complete "<VARIABLE> …" and say how to fix it.
 */
export interface CredentialRule {
  readonly re: RegExp;
  readonly message: string;
}

/** AppID of a mini-program, official account or mobile app: `wx` + 16 letters or digits (18 in all). */
export const APPID_RULE: CredentialRule = Object.freeze({
  re: /^wx[0-9A-Za-z]{16}$/,
  message: 'must look like an AppID: "wx" followed by 16 letters or digits (mp.weixin.qq.com → 开发管理)',
});

/** AppSecret: 32 letters or digits, shown once in the mini-program console. */
export const APP_SECRET_RULE: CredentialRule = Object.freeze({
  re: /^[0-9A-Za-z]{32}$/,
  message: 'must be the 32-character AppSecret (letters and digits; reset it in the console if lost)',
});

/**
 * mch_id (商户号): digits only. Real ones are 10 digits, WeChat's own documentation examples 8 (10000100);
 * 8 to 12 accepts both and still catches a pasted AppID or key.
 */
export const MCH_ID_RULE: CredentialRule = Object.freeze({
  re: /^\d{8,12}$/,
  message: 'must be the numeric merchant id (商户号, mch_id), e.g. 1900000109',
});

/** APIv2 key: exactly 32 letters or digits, set by the merchant in pay.weixin.qq.com → API安全. */
export const APIV2_KEY_RULE: CredentialRule = Object.freeze({
  re: /^[0-9A-Za-z]{32}$/,
  message: 'must be the 32-character APIv2 key (letters and digits) set in the merchant console (API安全)',
});

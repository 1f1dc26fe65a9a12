import type { Context } from 'koa';
import { buildXml, createNonce, signV2, type SignType } from '@mp-pay/shared/wechatpay';
import type { SandboxAccount } from '../config.ts';

/**
 * The three reply shapes of WeChat Pay v2:
 *  - transport failure: `return_code=FAIL` + `return_msg`, unsigned (WeChat cannot or will not sign: bad
 *    signature, missing field, unreadable XML, unknown merchant): the shared returnFailXml;
 *  - business failure: `return_code=SUCCESS`, `result_code=FAIL`, `err_code`, `err_code_des`, signed;
 *  - success: `return_code=SUCCESS`, `result_code=SUCCESS` and the API's fields, signed.
 * Signed replies use the merchant key and the sign type of the request.
 */
export function sendXml(ctx: Context, xml: string): void {
  ctx.status = 200;
  ctx.type = 'text/xml; charset=utf-8';
  ctx.body = xml;
}

type Fields = Record<string, string | number | undefined>;

/** The full signed reply map (sign included), for callers that need to remember the signature. */
export function signedFields(
  account: SandboxAccount,
  signType: SignType,
  fields: Fields,
): Fields & { sign: string } {
  const params: Fields = {
    return_code: 'SUCCESS',
    return_msg: 'OK',
    appid: fields.appid ?? account.appId,
    mch_id: account.mchId,
    nonce_str: createNonce(),
    ...fields,
  };
  return { ...params, sign: signV2(params, account.key, signType) };
}

export function signedXml(account: SandboxAccount, signType: SignType, fields: Fields): string {
  return buildXml(signedFields(account, signType, fields));
}

export function resultFailXml(
  account: SandboxAccount,
  signType: SignType,
  appid: string,
  errCode: string,
  errCodeDes: string,
): string {
  return signedXml(account, signType, {
    appid,
    result_code: 'FAIL',
    err_code: errCode,
    err_code_des: errCodeDes,
  });
}

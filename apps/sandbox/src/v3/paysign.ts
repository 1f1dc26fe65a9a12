import { createPublicKey, type KeyObject } from 'node:crypto';
import { SANDBOX_DEMO_V3, signV2, verifySignatureV3, type SignType } from '@mp-pay/shared/wechatpay';
import type { MerchantV3 } from '../accounts.ts';
import type { PaySignType, PrepayRecord } from '../state.ts';

export interface PayFields {
  appId: string;
  timeStamp: string;
  nonceStr: string;
  package: string;
  signType: PaySignType;
}

let demoMerchantKey: KeyObject | undefined;

/**
 * Checks a wx.requestPayment signature where RSA is involved (an APIv3 order, or signType RSA), as WeChat
 * does: SHA256withRSA with the merchant key over `appId\ntimeStamp\nnonceStr\npackage\n`, verified with the
 * merchant certificate's public key (docs/protocol.md §7 "Mini-program paySign (v3)"). Returns undefined when
 * the paySign is right, else the hint naming the likely mistake.
 */
export function rsaPaySignProblem(
  fields: PayFields,
  paySign: string,
  prepay: PrepayRecord,
  merchant: MerchantV3,
  v2Key: string,
): string | undefined {
  const { appId, timeStamp, nonceStr, package: pkg, signType } = fields;
  const v2Fields = { appId, timeStamp, nonceStr, package: pkg };
  if (prepay.signType !== 'RSA') {
    return (
      `signType RSA, but the order was placed with APIv2 (${prepay.signType}): sign with ${prepay.signType}, ` +
      'or place the order with POST /v3/pay/transactions/jsapi to pay with RSA'
    );
  }
  if (signType !== 'RSA') {
    const v2 = signType as SignType;
    const matchesV2 = [v2, v2 === 'MD5' ? 'HMAC-SHA256' : 'MD5'].some(
      (type) => signV2({ ...v2Fields, signType }, v2Key, type as SignType) === paySign,
    );
    return (
      `${matchesV2 ? `paySign was computed with ${v2} (APIv2)` : `signType is ${v2}`}, but the order was ` +
      'placed with APIv3: pass signType RSA and sign appId\\ntimeStamp\\nnonceStr\\npackage\\n with SHA256withRSA'
    );
  }
  const message = `${appId}\n${timeStamp}\n${nonceStr}\n${pkg}\n`;
  if (verifySignatureV3(message, paySign, merchant.publicKey)) return undefined;

  if (prepay.orderSigns.includes(paySign)) {
    return (
      'paySign is the signature of the /v3/pay/transactions/jsapi request: sign ' +
      'appId\\ntimeStamp\\nnonceStr\\npackage\\n for wx.requestPayment'
    );
  }
  if (/^[0-9A-Fa-f]{32}$|^[0-9A-Fa-f]{64}$/.test(paySign)) {
    const type = paySign.length === 32 ? 'MD5' : 'HMAC-SHA256';
    return `paySign looks like an APIv2 ${type} signature (hex), but signType RSA needs SHA256withRSA, base64`;
  }
  const prepayId = pkg.replace(/^prepay_id=/, '');
  const variants: Array<[string, string]> = [
    [
      message.slice(0, -1),
      'the signed message lacks the trailing \\n after package (every line ends with \\n, the last one too)',
    ],
    [
      `${appId}\n${timeStamp}\n${nonceStr}\n${prepayId}\n`,
      'sign package as "prepay_id=<id>", not the bare prepay_id',
    ],
    [
      `${message}RSA\n`,
      'signType is not part of the signed message: sign appId, timeStamp, nonceStr, package',
    ],
    [
      `appId=${appId}&timeStamp=${timeStamp}&nonceStr=${nonceStr}&package=${pkg}`,
      'v3 signs the four values one per line (appId\\ntimeStamp\\nnonceStr\\npackage\\n), not a key=value string',
    ],
  ];
  for (const [variant, hint] of variants) {
    if (verifySignatureV3(variant, paySign, merchant.publicKey)) return hint;
  }
  demoMerchantKey ??= createPublicKey(SANDBOX_DEMO_V3.mchPrivateKey);
  if (!demoMerchantKey.equals(merchant.publicKey) && verifySignatureV3(message, paySign, demoMerchantKey)) {
    return 'paySign was made with the sandbox demo merchant key, but this merchant has its own (WECHATPAY_PRIVATE_KEY)';
  }
  return (
    `paySign does not verify with the public key of merchant certificate ${merchant.certSerial} (wrong key?): ` +
    'sign with the merchant private key (apiclient_key.pem), not the platform key, the APIv3 key or the APIv2 key'
  );
}

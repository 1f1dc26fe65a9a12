import { encryptV3Resource } from '@mp-pay/shared/wechatpay';
import type { SandboxContext } from '../context.ts';
import { v3Error, type V3Reply } from './reply.ts';
import type { V3Request } from './request.ts';
import { beijingRfc3339 } from './time.ts';

/**
 * GET /v3/certificates: the platform certificates, each encrypted with the merchant's APIv3 key (AAD
 * `certificate`). Merchants in public-key mode have none: 404, as WeChat answers them.
 */
export function certificates(req: V3Request, sandbox: SandboxContext): V3Reply {
  const { mode } = sandbox.keyModes.for(req.account.mchId);
  if (mode === 'public-key') {
    return v3Error(
      404,
      'RESOURCE_NOT_EXISTS',
      '无可用的平台证书，请在商户平台-API安全申请使用微信支付公钥: this merchant verifies with the WeChat Pay ' +
        'public key (GET /sandbox/v3/public-key), not platform certificates',
    );
  }
  const { platform } = sandbox;
  const { original_type: _none, ...encrypted } = encryptV3Resource(
    platform.certificatePem,
    req.merchant.apiV3Key,
    {
      associatedData: 'certificate',
    },
  );
  return {
    status: 200,
    body: {
      data: [
        {
          serial_no: platform.certSerial,
          effective_time: beijingRfc3339(new Date(platform.certificate.validFrom)),
          expire_time: beijingRfc3339(new Date(platform.certificate.validTo)),
          encrypt_certificate: encrypted,
        },
      ],
    },
  };
}

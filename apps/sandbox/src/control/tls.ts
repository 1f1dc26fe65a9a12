import type { Context } from 'koa';
import { SANDBOX_DEMO_TLS } from '@mp-pay/shared/wechatpay';
import type { SandboxContext } from '../context.ts';

/**
 * GET /sandbox/tls → where the mutual-TLS listener is and what a client needs to call it: the demo CA to trust
 * and the demo merchant client certificate (PEM pair, and the .p12 with its passphrase). All of it is published
 * in @mp-pay/shared (SANDBOX_DEMO_TLS) and worthless outside the sandbox, so serving it leaks nothing.
 */
export function tlsRoute(sandbox: SandboxContext) {
  return (ctx: Context): void => {
    const d = SANDBOX_DEMO_TLS;
    ctx.body = {
      url: sandbox.endpoints.tlsUrl,
      refund_url: sandbox.endpoints.tlsUrl && `${sandbox.endpoints.tlsUrl}/secapi/pay/refund`,
      note:
        'published demo material, sandbox only: trust ca_cert for this host only, never in production; ' +
        'WeChat issues your real apiclient_cert',
      ca_cert: d.caCert,
      client_cert_pem: d.clientCertPem,
      client_key_pem: d.clientKeyPem,
      client_p12_base64: d.clientP12Base64,
      passphrase: d.passphrase,
    };
  };
}

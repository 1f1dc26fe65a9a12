import { describe, expect, it } from 'vitest';
import { SANDBOX_DEMO_TLS, WechatPayV2Client } from '@mp-pay/shared/wechatpay';
import { startSandbox } from '../src/index.ts';
import { DEMO, postXml, useSandboxAndReceiver } from './helpers.ts';
import { paidOrder, postTls, refundFields, refundV2 } from './refund-helpers.ts';

const ctx = useSandboxAndReceiver();

describe('the mutual-TLS listener (/secapi/pay/refund)', () => {
  it('refuses a client without a certificate in the TLS handshake, like api.mch.weixin.qq.com', async () => {
    const order = await paidOrder(ctx.sb, ctx.receiver.url);
    await expect(postTls(ctx.sb, '/secapi/pay/refund', '<xml></xml>', 'none')).rejects.toThrow(
      /certificate|socket hang up|ECONNRESET|alert/i,
    );
    // Nothing was refunded.
    const refund = await refundV2(ctx.sb, refundFields(order));
    expect(refund.result_code).toBe('SUCCESS');
  });

  it('refuses a certificate the demo CA did not issue', async () => {
    await expect(postTls(ctx.sb, '/secapi/pay/refund', '<xml></xml>', 'stranger')).rejects.toThrow();
  });

  it('accepts the demo client certificate as PEM pair and as apiclient_cert.p12 (passphrase = mch_id)', async () => {
    for (const cert of ['pem', 'p12'] as const) {
      const order = await paidOrder(ctx.sb, ctx.receiver.url);
      const reply = await refundV2(ctx.sb, refundFields(order), { cert });
      expect(reply).toMatchObject({ return_code: 'SUCCESS', result_code: 'SUCCESS' });
    }
  });

  it('answers /secapi/pay/refund on plain HTTP with a FAIL naming the HTTPS listener', async () => {
    const reply = await postXml(ctx.sb, '/secapi/pay/refund', '<xml><appid>x</appid></xml>');
    expect(reply.return_code).toBe('FAIL');
    expect(reply.return_msg).toContain('mutual TLS');
    expect(reply.return_msg).toContain(ctx.sb.tlsUrl);
  });

  it('publishes its URL and the demo material at GET /sandbox/tls and on the running sandbox', async () => {
    expect(ctx.sb.tlsUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(ctx.sb.config.tlsPort).toBeGreaterThan(0);
    const info = (await (await fetch(`${ctx.sb.url}/sandbox/tls`)).json()) as Record<string, string>;
    expect(info).toMatchObject({
      url: ctx.sb.tlsUrl,
      refund_url: `${ctx.sb.tlsUrl}/secapi/pay/refund`,
      ca_cert: SANDBOX_DEMO_TLS.caCert,
      client_p12_base64: SANDBOX_DEMO_TLS.clientP12Base64,
      passphrase: DEMO.mchId,
    });
    expect(JSON.stringify(info)).not.toContain(DEMO.key);
  });

  it('serves the shared WechatPayV2Client: refund() with the .p12 and the demo CA, then refundQuery()', async () => {
    const order = await paidOrder(ctx.sb, ctx.receiver.url);
    const client = new WechatPayV2Client({
      appId: DEMO.appId,
      mchId: DEMO.mchId,
      key: DEMO.key,
      baseUrl: ctx.sb.tlsUrl,
      clientCertificate: { pfx: Buffer.from(SANDBOX_DEMO_TLS.clientP12Base64, 'base64') },
      ca: SANDBOX_DEMO_TLS.caCert,
    });
    const refund = await client.refund({
      outTradeNo: order.outTradeNo,
      outRefundNo: `SHARED${Date.now()}`,
      totalFee: order.totalFee,
      refundFee: 500,
    });
    expect(refund).toMatchObject({
      refundFee: 500,
      totalFee: order.totalFee,
      transactionId: order.transactionId,
    });
    expect(refund.refundId).toMatch(/^50\d{27}$/);
    const query = await client.refundQuery({ refundId: refund.refundId });
    expect(query.refunds).toHaveLength(1);
    expect(query.refunds[0]).toMatchObject({ outRefundNo: refund.outRefundNo, refundFee: 500 });
  });

  it('listens on SANDBOX_TLS_PORT-like config, and refuses the HTTP port for it', async () => {
    await expect(startSandbox({ port: 4099, tlsPort: 4099 })).rejects.toThrow(
      /must differ from SANDBOX_PORT/,
    );
    const sb = await startSandbox({ port: 0, tlsPort: 0 });
    try {
      expect(new URL(sb.tlsUrl).port).not.toBe(new URL(sb.url).port);
    } finally {
      await sb.close();
    }
  });
});

import type { ServerConfig } from '../config.ts';
import { InstrumentedGateway } from '../metrics/gateway.ts';
import type { NotifyObserver } from '../metrics/notify-observer.ts';
import type { Metrics } from '../metrics/registry.ts';
import type { PaymentGateway } from './types.ts';
import { V2Gateway } from './v2/adapter.ts';
import { V3Gateway } from './v3/adapter.ts';

export * from './errors.ts';
export * from './prepared.ts';
export type * from './types.ts';

export interface GatewayObservers {
  metrics: Metrics;
  /** Told the callback paths, and what parsing each notification gave (src/metrics/notify-observer.ts). */
  notify?: NotifyObserver;
}

/**
 * The gateway for the configured API version (WECHATPAY_API_VERSION). With `observe`, every WeChat call is counted
 * and timed by a decorator (src/metrics/gateway.ts): the services get the same interface and never see metrics.
 */
export function createGateway(
  config: ServerConfig,
  now: () => number,
  observe?: GatewayObservers,
): PaymentGateway {
  const gateway = protocolGateway(config, now);
  if (observe === undefined) return gateway;
  observe.notify?.watch(gateway);
  return new InstrumentedGateway(gateway, observe.metrics, observe.notify);
}

function protocolGateway(config: ServerConfig, now: () => number): PaymentGateway {
  const pay = config.wechatpay;
  if (pay.apiVersion === 'v3') {
    return new V3Gateway({
      mchId: pay.mchId,
      appIds: pay.appIds,
      apiV3Key: pay.v3.apiV3Key,
      privateKey: pay.v3.privateKey,
      certSerial: pay.v3.certSerial,
      publicKey: pay.v3.publicKey,
      platformCertificates: pay.v3.platformCertificates,
      subMerchants: pay.subMerchants,
      baseUrl: pay.apiBase,
      timeoutMs: pay.timeoutMs,
      now,
    });
  }
  return new V2Gateway({
    mchId: config.wechatpay.mchId,
    key: config.wechatpay.key,
    signType: config.wechatpay.signType,
    appIds: config.wechatpay.appIds,
    baseUrl: config.wechatpay.apiBase,
    timeoutMs: config.wechatpay.timeoutMs,
    refundTls: config.wechatpay.refundTls,
    notifyLimitBytes: config.http.notifyLimitBytes,
    nativeMode: config.channels.native.mode,
    now,
  });
}

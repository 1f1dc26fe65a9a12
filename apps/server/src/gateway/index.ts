import type { ServerConfig } from '../config.ts';
import type { PaymentGateway } from './types.ts';
import { V2Gateway } from './v2/adapter.ts';

export * from './errors.ts';
export type * from './types.ts';

/** The gateway for the configured API version (APIv2 today). */
export function createGateway(config: ServerConfig, now: () => number): PaymentGateway {
  return new V2Gateway({
    mchId: config.wechatpay.mchId,
    key: config.wechatpay.key,
    signType: config.wechatpay.signType,
    appIds: config.wechatpay.appIds,
    baseUrl: config.wechatpay.apiBase,
    timeoutMs: config.wechatpay.timeoutMs,
    notifyLimitBytes: config.http.notifyLimitBytes,
    now,
  });
}

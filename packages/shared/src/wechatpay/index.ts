/**
 * @mp-pay/shared/wechatpay: the WeChat Pay v2 protocol core used by the merchant server and the sandbox.
 * Node only. Facts and traps: shared/reference/wechatpay.md.
 */
export * from './errors.ts';
export * from './sign.ts';
export * from './xml.ts';
export * from './time.ts';
export * from './nonce.ts';
export * from './paysign.ts';
export * from './notify.ts';
export * from './client.ts';
export * from './code2session.ts';
export * from './demo.ts';

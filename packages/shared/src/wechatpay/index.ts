/**
 * @mp-pay/shared/wechatpay: everything at once, as before the split (core + APIv2 + APIv3 + login + bills + the sandbox
 * demo credentials). New code can import the narrower @mp-pay/shared/core, /v2, /v3, /login or /bills instead.
 * Node only. Facts and traps: docs/protocol.md.
 */
export * from '../core/index.ts';
export * from '../v2/index.ts';
export * from '../v3/index.ts';
export * from '../login/index.ts';
export * from '../bills/index.ts';
export * from './demo.ts';
export * from './demo-v3.ts';
export * from './demo-refund.ts';
export * from './demo-combine.ts';

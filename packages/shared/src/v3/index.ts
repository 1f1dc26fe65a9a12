/**
 * @mp-pay/shared/v3: the WeChat Pay APIv3 protocol core (JSON, SHA256withRSA, AEAD_AES_256_GCM): request
 * signing, reply and notification verification, resource decryption, wx.requestPayment parameters, the key set
 * (public keys and platform certificates), certificate download, the client and the v3 errors. Node only.
 * Facts and traps: docs/protocol.md §7.
 */
export * from './errors.ts';
export { errorFromV3Reply } from './reply-errors.ts';
export { requestMessageV3, responseMessageV3, signV3, verifySignatureV3 } from './sign.ts';
export * from './authorization.ts';
export * from './keys.ts';
export * from './verify.ts';
export * from './headers.ts';
export * from './aead.ts';
export * from './paysign.ts';
export * from './time.ts';
export * from './transaction.ts';
export * from './refund.ts';
export * from './combine.ts';
export * from './notify.ts';
export * from './client.ts';
export * from './certificates.ts';

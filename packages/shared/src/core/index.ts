/**
 * @mp-pay/shared/core: what every WeChat protocol family shares (APIv2 pay, login, APIv3 later): the error base,
 * the HTTP transport with client certificates, the capped body reader, nonces, WeChat times, credential rules.
 * Node only.
 */
export * from './errors.ts';
export * from './body.ts';
export type { ClientCertificate, TlsOptions } from './client-certificate.ts';
export * from './transport.ts';
export * from './nonce.ts';
export * from './time.ts';
export * from './credentials.ts';

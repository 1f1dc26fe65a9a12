/**
 * @mp-pay/shared/login: mini-program login (code2Session) and its typed errors. Node only.
 */
export * from './errors.ts';
export * from './code2session.ts';

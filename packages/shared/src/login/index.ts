/**
 * @mp-pay/shared/login: mini-program login (code2Session), subscribe messages (access token, subscribe/send),
 * official-account OAuth2 (authorize URL and code exchange) and their typed errors. Node only.
 */
export * from './errors.ts';
export * from './code2session.ts';
export * from './oauth.ts';
export * from './subscribe-message.ts';

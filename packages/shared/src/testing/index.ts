/**
 * @mp-pay/shared/testing: fixtures built exactly as WeChat builds them, for tests, benchmarks and the sandbox
 * (which sends its real notifications with them). Pure functions, no test framework needed.
 */
export * from './notification.ts';
export * from './refund-notification.ts';

/**
 * Demo credentials of the mp-pay sandbox. With no configuration, the sandbox accepts exactly these and the
 * server uses them, so `pnpm start` works on a fresh machine. They are worthless outside the sandbox; a server
 * with NODE_ENV=production refuses them.
 */
export const SANDBOX_DEMO = Object.freeze({
  appId: 'wx5ad0b0c0de5a4db0',
  secret: 'mppay0sandbox0demo0app0secret000',
  mchId: '1900000109',
  key: 'mppaySandboxDemoKey0000000000000',
});
export const SANDBOX_DEFAULT_PORT = 4010;

/**
 * The staff token the server accepts in sandbox mode when ADMIN_TOKENS is unset (as `demo`), so `pnpm demo --refund`
 * works on a fresh machine. Published, hence worthless: a server with NODE_ENV=production refuses it.
 */
export const SANDBOX_DEMO_ADMIN_TOKEN = 'mppay-sandbox-demo-admin-token-0000000000';

/**
 * The sandbox's demo official account and mobile app, bound to the demo merchant beside the mini-program, so that
 * every channel works with no configuration (docs/channels.md). `h5Domain` is the H5 payment domain registered
 * for the demo merchant: the cashier refuses visits whose Referer names another host.
 */
export const SANDBOX_DEMO_CHANNELS = Object.freeze({
  officialAccount: Object.freeze({
    appId: 'wx0fa0ac0c0de5a4d1',
    secret: 'mppay0sandbox0demo0oa0secret0001',
  }),
  app: Object.freeze({
    appId: 'wx0a990c0de5a4db02',
    secret: 'mppay0sandbox0demo0app0secret002',
  }),
  h5Domains: Object.freeze(['127.0.0.1', 'localhost']),
});

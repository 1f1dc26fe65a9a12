/**
 * The one place the mini-program's settings live.
 *
 * apiBaseUrl: the merchant server. `pnpm start` at the repo root serves it on http://127.0.0.1:3000, which
 * WeChat DevTools reaches with "Do not verify valid domain names" (不校验合法域名) turned on. For a phone
 * preview use your machine's LAN address; a released mini-program needs an https domain listed as a request
 * domain (request合法域名) in the mini-program admin console.
 *
 * Everything else (sandbox or live, which appid the sandbox expects) comes from the server's GET /api/config,
 * so switching the server to live WeChat needs no change here.
 *
 * It is an object rather than constants so the tests can point the same compiled code at their own server.
 */
export const config = {
  apiBaseUrl: 'http://127.0.0.1:3000',
  /** wx.request timeout for every call, ms. */
  requestTimeoutMs: 15000,
  /**
   * After the client reports a payment, ask the server for the real state: first after firstDelayMs, each
   * wait then 1.5x longer up to maxDelayMs, giving up (order shown as "not confirmed yet") after timeoutMs.
   */
  paymentConfirm: {
    firstDelayMs: 500,
    maxDelayMs: 4000,
    timeoutMs: 30000,
  },
  /** Page size of "my orders". */
  ordersPageSize: 10,
};

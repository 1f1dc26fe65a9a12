/**
 * The one place the mini-program's settings live.
 *
 * apiBaseUrls: the merchant server for each version of the mini-program, chosen at run time from
 * `wx.getAccountInfoSync().miniProgram.envVersion` (services/environment.ts):
 * - develop: DevTools and 预览/真机调试 of a development build. `pnpm start` at the repo root serves the server on
 *   http://127.0.0.1:3000, which DevTools reaches with "Do not verify valid domain names" (不校验合法域名) on.
 *   For a phone preview use your machine's LAN address (and turn on 开发调试 on the phone).
 * - trial (体验版) and release (正式版): an https URL whose domain is listed under request 合法域名 in the
 *   mini-program admin console. Any http URL is refused there before a request is made, and the release
 *   build refuses a server in sandbox mode whatever GET /api/config says. Replace the example.com
 *   placeholders with your own domains before uploading.
 *
 * Everything else (sandbox or live, which appid the sandbox expects) comes from the server's GET /api/config,
 * so switching the server to live WeChat needs no change here.
 *
 * It is an object rather than constants so the tests can point the same compiled code at their own server.
 */
export const config = {
  apiBaseUrls: {
    develop: 'http://127.0.0.1:3000',
    trial: 'https://pay-trial.example.com',
    release: 'https://pay.example.com',
  },
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

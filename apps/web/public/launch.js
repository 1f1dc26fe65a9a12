// @ts-check
/**
 * Hands the buyer to WeChat for an order's payment launch (the contract's `PaymentLaunch` union). Whatever
 * happens there, the buyer ends on a page that asks the server: a client-side "ok" proves nothing
 * (docs/channels.md "Official account").
 */
import { clientConfig, sandboxBase } from './config.js';
import { resultPage } from './ui.js';

/** @typedef {import('@mp-pay/shared/api').PaymentLaunch} PaymentLaunch */
/** @typedef {import('@mp-pay/shared/api').JsapiPayment} JsapiPayment */
/**
 * @typedef {object} WeixinJSBridgeApi
 * @property {(api: string, params: Record<string, string>, cb: (res: { err_msg?: string }) => void) => void} invoke
 */

const NATIVE_KEY = (/** @type {string} */ orderId) => `mp-pay:code-url:${orderId}`;

/**
 * @param {string} orderId
 * @param {PaymentLaunch} payment
 * @returns {Promise<void>}
 */
export async function launchPayment(orderId, payment) {
  switch (payment.kind) {
    case 'jsapi':
      await payInWeChatBrowser(payment);
      location.assign(resultPage(orderId));
      return;
    case 'h5':
      // WeChat's cashier; the server appended redirect_url (our result page) already.
      location.assign(payment.redirectUrl);
      return;
    case 'native':
      sessionStorage.setItem(NATIVE_KEY(orderId), payment.codeUrl);
      location.assign(`pay.html?order=${encodeURIComponent(orderId)}`);
      return;
    default:
      throw new Error(
        `这个页面无法发起 ${payment.kind} 支付 / This page cannot launch a ${payment.kind} payment`,
      );
  }
}

/**
 * The code URL remembered for the Native page, if this tab launched it.
 * @param {string} orderId
 * @returns {string | undefined}
 */
export function rememberedCodeUrl(orderId) {
  return sessionStorage.getItem(NATIVE_KEY(orderId)) ?? undefined;
}

/**
 * `getBrandWCPayRequest` through WeixinJSBridge; resolves with WeChat's err_msg, whatever it says.
 * @param {JsapiPayment} payment
 * @returns {Promise<string>}
 */
async function payInWeChatBrowser(payment) {
  const bridge = await weixinJSBridge();
  return new Promise((resolve) => {
    bridge.invoke(
      'getBrandWCPayRequest',
      {
        appId: payment.appId,
        timeStamp: payment.timeStamp,
        nonceStr: payment.nonceStr,
        package: payment.package,
        signType: payment.signType,
        paySign: payment.paySign,
      },
      (res) => resolve(res?.err_msg ?? ''),
    );
  });
}

/**
 * WeChat's browser injects WeixinJSBridge itself, sometimes after the page's scripts ran (then it fires
 * `WeixinJSBridgeReady`). In sandbox mode the sandbox's stand-in is loaded first.
 * @returns {Promise<WeixinJSBridgeApi>}
 */
async function weixinJSBridge() {
  const w = /** @type {{ WeixinJSBridge?: WeixinJSBridgeApi }} */ (/** @type {unknown} */ (window));
  if (w.WeixinJSBridge) return w.WeixinJSBridge;
  const ready = new Promise((resolve) =>
    document.addEventListener('WeixinJSBridgeReady', resolve, { once: true }),
  );
  const sandbox = sandboxBase(await clientConfig());
  if (sandbox) await loadScript(`${sandbox}/sandbox/jsbridge.js`);
  if (!w.WeixinJSBridge) {
    const timeout = new Promise((_, reject) =>
      setTimeout(
        () => reject(new Error('请在微信中打开本页面 / Open this page in WeChat to pay')),
        sandbox ? 5000 : 10000,
      ),
    );
    await Promise.race([ready, timeout]);
  }
  if (!w.WeixinJSBridge) throw new Error('WeixinJSBridge 不可用 / WeixinJSBridge is not available');
  return w.WeixinJSBridge;
}

/**
 * @param {string} src
 * @returns {Promise<void>}
 */
function loadScript(src) {
  return new Promise((resolve, reject) => {
    const script = document.createElement('script');
    script.src = src;
    script.onload = () => resolve();
    script.onerror = () => reject(new Error(`无法加载 ${src} / Cannot load the WeChat bridge`));
    document.head.append(script);
  });
}

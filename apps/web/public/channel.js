// @ts-check
/**
 * Which payment channel a browser should use, as WeChat advises (docs/channels.md "Web checkout"):
 * WeChat's own browser → the official account (JSAPI through WeixinJSBridge); any other mobile browser → H5
 * (WeChat's cashier page); a desktop → Native (a QR code scanned with the phone). Pure: no DOM access.
 */

/** @typedef {'official_account' | 'h5' | 'native'} WebChannel */

/** WeChat's in-app browser names itself `MicroMessenger/<version>` in its user agent. */
const WECHAT_RE = /MicroMessenger/i;
/** Phones and tablets: Android, iOS devices, and the generic `Mobile` token (e.g. Firefox for Android). */
const MOBILE_RE = /Android|iPhone|iPad|iPod|Mobile/i;

/**
 * @param {string} userAgent navigator.userAgent
 * @returns {WebChannel}
 */
export function chooseChannel(userAgent) {
  if (WECHAT_RE.test(userAgent)) return 'official_account';
  if (MOBILE_RE.test(userAgent)) return 'h5';
  return 'native';
}

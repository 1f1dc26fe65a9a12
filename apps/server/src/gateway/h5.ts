/**
 * The H5 launch shared by both protocols: WeChat's mweb_url (v2) / h5_url (v3) with `&redirect_url=<encoded
 * result page>` appended, so that WeChat's cashier brings the buyer back to a page that asks the server
 * (docs/channels.md "H5"). Without a result page the URL is WeChat's own.
 */
export function h5RedirectUrl(wechatUrl: string, returnUrl: string | undefined): string {
  if (returnUrl === undefined) return wechatUrl;
  const joiner = wechatUrl.includes('?') ? '&' : '?';
  return `${wechatUrl}${joiner}redirect_url=${encodeURIComponent(returnUrl)}`;
}

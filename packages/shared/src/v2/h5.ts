/**
 * H5 (MWEB) launches: WeChat's cashier URL (APIv2 mweb_url, APIv3 h5_url) with `redirect_url` appended, so that
 * after paying (or cancelling) the cashier sends the buyer back to the merchant's page. WeChat documents the
 * parameter as the URL-encoded address appended to the cashier URL; the page must still ask the merchant's
 * server, since coming back proves nothing (docs/channels.md "H5").
 */

/**
 * `mwebUrl` plus `redirect_url=<encoded returnUrl>`, joined with `&` when the URL has a query already (WeChat's
 * always has), before any fragment. Without a return page the URL is WeChat's own, unchanged.
 */
export function h5RedirectUrl(mwebUrl: string, returnUrl: string | undefined): string {
  if (returnUrl === undefined) return mwebUrl;
  if (!mwebUrl) throw new TypeError('h5RedirectUrl: mwebUrl is required');
  const hash = mwebUrl.indexOf('#');
  const base = hash === -1 ? mwebUrl : mwebUrl.slice(0, hash);
  const fragment = hash === -1 ? '' : mwebUrl.slice(hash);
  const joiner = !base.includes('?') ? '?' : base.endsWith('?') || base.endsWith('&') ? '' : '&';
  return `${base}${joiner}redirect_url=${encodeURIComponent(returnUrl)}${fragment}`;
}

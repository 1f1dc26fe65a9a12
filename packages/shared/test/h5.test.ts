/** h5RedirectUrl: the H5 cashier URL with the merchant's return page appended (docs/channels.md "H5"). */
import { describe, expect, it } from 'vitest';
import { h5RedirectUrl } from '../src/v2/index.ts';

const MWEB = 'https://wx.tenpay.com/cgi-bin/mmpayweb-bin/checkmweb?prepay_id=wx2016&package=1037687096';

describe('h5RedirectUrl', () => {
  it('appends the encoded return page to the query WeChat already put there', () => {
    const back = 'https://shop.example.com/shop/result.html?order=2026&x=a b';
    const url = h5RedirectUrl(MWEB, back);
    expect(url).toBe(`${MWEB}&redirect_url=${encodeURIComponent(back)}`);
    expect(new URL(url).searchParams.get('redirect_url')).toBe(back);
    expect(new URL(url).searchParams.get('prepay_id')).toBe('wx2016');
  });

  it('starts a query when there is none, and keeps a fragment last', () => {
    expect(h5RedirectUrl('https://wx.example/pay', 'https://s/r?a=1&b=2')).toBe(
      'https://wx.example/pay?redirect_url=https%3A%2F%2Fs%2Fr%3Fa%3D1%26b%3D2',
    );
    expect(h5RedirectUrl('https://wx.example/pay?a=1#top', 'https://s/')).toBe(
      'https://wx.example/pay?a=1&redirect_url=https%3A%2F%2Fs%2F#top',
    );
    expect(h5RedirectUrl('https://wx.example/pay?', 'https://s/')).toBe(
      'https://wx.example/pay?redirect_url=https%3A%2F%2Fs%2F',
    );
  });

  it('leaves the URL alone without a return page, and refuses an empty one', () => {
    expect(h5RedirectUrl(MWEB, undefined)).toBe(MWEB);
    expect(() => h5RedirectUrl('', 'https://s/')).toThrow(/mwebUrl/);
  });
});

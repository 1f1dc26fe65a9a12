/**
 * Page navigation with the failure reported instead of becoming an unhandled promise rejection (wx.* return
 * promises when no callback is given). A failed navigation leaves the buyer where they are, so a toast is
 * all that is needed.
 */
function reportFailure(err: WechatMiniprogram.GeneralCallbackResult): void {
  console.error('navigation failed', err.errMsg);
  wx.showToast({ title: '页面打开失败', icon: 'none' });
}

/** `onFail` lets a page that guarded the tap (double taps) take its guard down again when nothing opened. */
export function navigateTo(url: string, onFail?: () => void): void {
  wx.navigateTo({
    url,
    fail: (err) => {
      reportFailure(err);
      onFail?.();
    },
  });
}

/** Replaces the current page (the confirmation page is not something to go back to after paying). */
export function redirectTo(url: string): void {
  wx.redirectTo({ url, fail: reportFailure });
}

/** To a tab bar page (shop, orders, me): navigateTo cannot open those. */
export function switchTab(url: string): void {
  wx.switchTab({ url, fail: reportFailure });
}

/** Back to a fresh stack with only this page. */
export function reLaunch(url: string): void {
  wx.reLaunch({ url, fail: reportFailure });
}

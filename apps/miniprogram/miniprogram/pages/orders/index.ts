/**
 * My orders (second tab): newest first, pull down to refresh, more pages on reaching the bottom (or tapping
 * "load more"). Pending orders count down to their expiry and can be paid again from the list; each order
 * number can be copied. Coming back (onShow) updates the orders already shown instead of reloading the first
 * page, so the buyer stays where they were in a long list.
 */
import { describeError, isOrderStateError } from '../../services/errors';
import { listOrders, renewPayment } from '../../services/orders';
import type { ClientPayResult } from '../../services/payment';
import { requestPayment } from '../../services/payment';
import { navigateTo, reLaunch } from '../../utils/nav';
import { orderDetailUrl, PAGES, resultUrl } from '../../utils/routes';
import { formatCountdown } from '../../utils/time';
import type { OrderView } from '../../utils/view';
import { toOrderView } from '../../utils/view';

type LoadState = 'loading' | 'error' | 'ready';

/** The status tabs, in order; `all` shows every order loaded. */
export const ORDER_TABS = [
  { key: 'all', text: '全部' },
  { key: 'pending', text: '待支付' },
  { key: 'paid', text: '已支付' },
  { key: 'closed', text: '已关闭' },
  { key: 'refund', text: '退款' },
] as const;

/** The countdown's timer: the orders tab is a single page instance. */
let ticker: ReturnType<typeof setInterval> | null = null;

/** Orders with their countdown filled in for `now`. */
export function withCountdown(orders: OrderView[], now: number): OrderView[] {
  return orders.map((o) => {
    const countdown = o.pending ? formatCountdown(o.expiresAtMs - now) : '';
    return countdown === o.countdown ? o : { ...o, countdown };
  });
}

/**
 * The list after coming back: fresh versions of the orders shown, orders new since then on top, every page
 * already loaded kept (and so the scroll position).
 */
export function mergeFirstPage(shown: OrderView[], fresh: OrderView[]): OrderView[] {
  const byId = new Map(fresh.map((o) => [o.id, o]));
  const shownIds = new Set(shown.map((o) => o.id));
  return fresh.filter((o) => !shownIds.has(o.id)).concat(shown.map((o) => byId.get(o.id) ?? o));
}

Component({
  data: {
    state: 'loading' as LoadState,
    error: '',
    orders: [] as OrderView[],
    nextCursor: null as string | null,
    loadingMore: false,
    moreError: '',
    refreshing: false,
    /**
     * A refresh that starts while a page is still loading makes that page's answer stale: each load carries the
     * generation it started in and is dropped when a newer one began.
     */
    generation: 0,
    /** The order being paid again from the list ('' when none): one at a time, double taps ignored. */
    payingId: '',
    tabs: ORDER_TABS.map((t) => ({ key: t.key, text: t.text })),
    /**
     * The status tab. The server lists all of a buyer's orders (no status filter in the contract), so a tab
     * filters the pages loaded so far; "load more" still fetches the next page.
     */
    tab: 'all',
    /** Orders the current tab shows (kept by the observer below). */
    visibleCount: 0,
  },
  observers: {
    'orders, tab'(orders: OrderView[], tab: string) {
      const visibleCount = tab === 'all' ? orders.length : orders.filter((o) => o.group === tab).length;
      if (visibleCount !== this.data.visibleCount) this.setData({ visibleCount });
    },
  },
  lifetimes: {
    detached() {
      this.stopTicker();
    },
  },
  methods: {
    onLoad() {
      void this.loadFirst(false);
    },
    onShow() {
      this.startTicker();
      // Coming back from an order (paid or cancelled there): show the current states, in place.
      if (this.data.state === 'ready' && !this.data.refreshing) void this.loadFirst(true, true);
    },
    onHide() {
      this.stopTicker();
    },
    startTicker() {
      this.stopTicker();
      ticker = setInterval(() => this.tick(), 1000);
    },
    stopTicker() {
      if (ticker !== null) clearInterval(ticker);
      ticker = null;
    },
    tick() {
      const orders = withCountdown(this.data.orders, Date.now());
      if (orders.some((o, i) => o !== this.data.orders[i])) this.setData({ orders });
    },
    onPullDownRefresh() {
      void this.loadFirst(true).then(() => wx.stopPullDownRefresh());
    },
    onReachBottom() {
      void this.loadMore();
    },
    onRetry() {
      void this.loadFirst(false);
    },
    /** First page. `keepList` keeps the current list visible while refreshing instead of a full spinner. */
    async loadFirst(keepList: boolean, inPlace = false) {
      const mine = this.data.generation + 1;
      if (keepList) this.setData({ generation: mine, refreshing: true, moreError: '' });
      else this.setData({ generation: mine, state: 'loading', error: '', moreError: '' });
      try {
        const page = await listOrders(null);
        if (mine !== this.data.generation) return;
        const fresh = page.orders.map(toOrderView);
        const keepPages = inPlace && this.data.orders.length > fresh.length;
        this.setData({
          state: 'ready',
          orders: withCountdown(keepPages ? mergeFirstPage(this.data.orders, fresh) : fresh, Date.now()),
          nextCursor: keepPages ? this.data.nextCursor : page.nextCursor,
          refreshing: false,
          loadingMore: false,
        });
      } catch (err) {
        if (mine !== this.data.generation) return;
        if (keepList && this.data.state === 'ready') {
          this.setData({ refreshing: false });
          wx.showToast({ title: describeError(err), icon: 'none' });
        } else {
          this.setData({ state: 'error', error: describeError(err), refreshing: false });
        }
      }
    },
    async loadMore() {
      const cursor = this.data.nextCursor;
      if (this.data.state !== 'ready' || cursor === null || this.data.loadingMore || this.data.refreshing)
        return;
      const mine = this.data.generation;
      this.setData({ loadingMore: true, moreError: '' });
      try {
        const page = await listOrders(cursor);
        if (mine !== this.data.generation) return;
        // An order created meanwhile shifts pages: never show one order twice.
        const seen = new Set(this.data.orders.map((o) => o.id));
        const fresh = withCountdown(page.orders.filter((o) => !seen.has(o.id)).map(toOrderView), Date.now());
        this.setData({
          orders: this.data.orders.concat(fresh),
          nextCursor: page.nextCursor,
          loadingMore: false,
        });
      } catch (err) {
        if (mine !== this.data.generation) return;
        this.setData({ loadingMore: false, moreError: describeError(err) });
      }
    },
    onLoadMore() {
      void this.loadMore();
    },
    onOpenOrder(e: WechatMiniprogram.TouchEvent) {
      const id = String(e.currentTarget.dataset.id ?? '');
      if (id) navigateTo(orderDetailUrl(id));
    },
    onShop() {
      reLaunch(PAGES.products);
    },
    onTab(e: WechatMiniprogram.TouchEvent) {
      const tab = String(e.currentTarget.dataset.tab ?? '');
      if (ORDER_TABS.some((t) => t.key === tab)) this.setData({ tab });
    },
    onCopyNo(e: WechatMiniprogram.TouchEvent) {
      const no = String(e.currentTarget.dataset.no ?? '');
      if (no) wx.setClipboardData({ data: no });
    },
    /** Pay a pending order again from the list: a fresh launch, the cashier, then the result page. */
    async onPayAgain(e: WechatMiniprogram.TouchEvent) {
      const id = String(e.currentTarget.dataset.id ?? '');
      if (!id || this.data.payingId) return;
      this.setData({ payingId: id });
      try {
        const { payment } = await renewPayment(id);
        let client: ClientPayResult;
        try {
          client = await requestPayment(payment);
        } catch (err) {
          client = { kind: 'fail', detail: describeError(err) };
        }
        navigateTo(resultUrl(id, client));
      } catch (err) {
        wx.showToast({ title: describeError(err), icon: 'none' });
        // Paid or closed meanwhile: the list shows it now.
        if (isOrderStateError(err)) void this.loadFirst(true, true);
      } finally {
        this.setData({ payingId: '' });
      }
    },
  },
});

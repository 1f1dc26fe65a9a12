/** My orders: newest first, pull down to refresh, more pages on reaching the bottom (or tapping "load more"). */
import { describeError } from '../../services/errors';
import { listOrders } from '../../services/orders';
import { navigateTo, reLaunch } from '../../utils/nav';
import { orderDetailUrl, PAGES } from '../../utils/routes';
import type { OrderView } from '../../utils/view';
import { toOrderView } from '../../utils/view';

type LoadState = 'loading' | 'error' | 'ready';

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
  },
  methods: {
    onLoad() {
      void this.loadFirst(false);
    },
    onShow() {
      // Coming back from an order (paid or cancelled there): show the current states.
      if (this.data.state === 'ready' && !this.data.refreshing) void this.loadFirst(true);
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
    async loadFirst(keepList: boolean) {
      const mine = this.data.generation + 1;
      if (keepList) this.setData({ generation: mine, refreshing: true, moreError: '' });
      else this.setData({ generation: mine, state: 'loading', error: '', moreError: '' });
      try {
        const page = await listOrders(null);
        if (mine !== this.data.generation) return;
        this.setData({
          state: 'ready',
          orders: page.orders.map(toOrderView),
          nextCursor: page.nextCursor,
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
        const fresh = page.orders.filter((o) => !seen.has(o.id)).map(toOrderView);
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
  },
});

/**
 * My orders (second tab): status tabs (全部 / 待支付 / 已支付 / 已关闭 / 退款) filtered by the server
 * (GET /api/orders?status=), newest first, pull down to refresh, more pages on reaching the bottom (or tapping
 * "load more"), each tab with its own cursor. Pending orders count down to their expiry and can be paid
 * again or cancelled from the list; each order number can be copied.
 *
 * Keeping the place: coming back from an order (onShow) updates the orders already shown instead of reloading
 * the first page, so the loaded pages and the scroll position stay; each tab keeps its own list and scroll
 * position, restored (then refreshed the same way) when the buyer switches back to it.
 */
import type { OrderListFilter } from '../../generated/api';
import { describeError, isOrderStateError } from '../../services/errors';
import { closeOrder, getOrder, listOrders, renewPayment } from '../../services/orders';
import type { ClientPayResult } from '../../services/payment';
import { requestPayment } from '../../services/payment';
import { navigateTo, reLaunch } from '../../utils/nav';
import { orderDetailUrl, PAGES, resultUrl } from '../../utils/routes';
import { formatCountdown } from '../../utils/time';
import type { OrderView } from '../../utils/view';
import { toOrderView } from '../../utils/view';

type LoadState = 'loading' | 'error' | 'ready';
type TabKey = 'all' | OrderListFilter;

/** The status tabs, in order; `all` lists every order (no `status=`), the others are the server's filters. */
export const ORDER_TABS: readonly { key: TabKey; text: string; empty: string }[] = [
  { key: 'all', text: '全部', empty: '还没有订单' },
  { key: 'pending', text: '待支付', empty: '没有待支付的订单' },
  { key: 'paid', text: '已支付', empty: '没有已支付的订单' },
  { key: 'closed', text: '已关闭', empty: '没有已关闭的订单' },
  { key: 'refund', text: '退款', empty: '没有退款的订单' },
];

function filterOf(tab: TabKey): OrderListFilter | null {
  return tab === 'all' ? null : tab;
}

/** A tab's list as the buyer left it, to show again when they switch back. */
interface TabList {
  orders: OrderView[];
  nextCursor: string | null;
  scrollTop: number;
}

// Page-instance state kept out of `data` (nothing renders it): the orders tab is a single page instance.
/** The countdown's timer. */
let ticker: ReturnType<typeof setInterval> | null = null;
/** The other tabs' lists, by tab. */
const tabLists = new Map<TabKey, TabList>();
/** The page's scroll position (onPageScroll), saved with the tab's list on a tab switch. */
let scrollTop = 0;
/** The order last opened from the list: it is the one most likely changed when the buyer comes back. */
let openedId = '';

/** Orders with their countdown filled in for `now`. */
export function withCountdown(orders: OrderView[], now: number): OrderView[] {
  return orders.map((o) => {
    const countdown = o.pending ? formatCountdown(o.expiresAtMs - now) : '';
    return countdown === o.countdown ? o : { ...o, countdown };
  });
}

/**
 * The list after coming back: fresh versions of the orders shown, orders new since then on top, every page
 * already loaded kept (and so the scroll position). An order that left the tab's filter meanwhile (a pending
 * order paid elsewhere) stays where it was, with its new state, until the next full refresh: rows vanishing
 * above the buyer's eyes would move the list under them.
 */
export function mergeFirstPage(shown: OrderView[], fresh: OrderView[]): OrderView[] {
  const byId = new Map(fresh.map((o) => [o.id, o]));
  const shownIds = new Set(shown.map((o) => o.id));
  return fresh.filter((o) => !shownIds.has(o.id)).concat(shown.map((o) => byId.get(o.id) ?? o));
}

function replaceOrder(orders: OrderView[], updated: OrderView): OrderView[] {
  return orders.map((o) => (o.id === updated.id ? updated : o));
}

function confirmCancel(): Promise<boolean> {
  return new Promise((resolve) => {
    wx.showModal({
      title: '取消订单',
      content: '确定要取消这个订单吗？取消后无法再支付。',
      confirmText: '取消订单',
      cancelText: '再想想',
      success: (res) => resolve(res.confirm),
      fail: () => resolve(false),
    });
  });
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
     * A refresh or tab switch that starts while a page is still loading makes that page's answer stale: each
     * load carries the generation it started in and is dropped when a newer one began.
     */
    generation: 0,
    /** The order being paid again from the list ('' when none): one at a time, double taps ignored. */
    payingId: '',
    /** The order being cancelled from the list ('' when none), from the dialog until the server answered. */
    cancellingId: '',
    tabs: ORDER_TABS.map((t) => ({ key: t.key, text: t.text })),
    tab: 'all' as TabKey,
    /** What the current tab says when it has no orders. */
    emptyText: ORDER_TABS[0]?.empty ?? '',
  },
  lifetimes: {
    detached() {
      this.stopTicker();
    },
  },
  methods: {
    onLoad() {
      tabLists.clear();
      scrollTop = 0;
      openedId = '';
      void this.loadFirst(false);
    },
    onShow() {
      this.startTicker();
      // Coming back from an order (paid or cancelled there): show the current states, in place.
      if (this.data.state === 'ready' && !this.data.refreshing) void this.refreshInPlace();
    },
    onHide() {
      this.stopTicker();
    },
    onPageScroll(e: WechatMiniprogram.Page.IPageScrollOption) {
      scrollTop = e.scrollTop;
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
    /** The current tab's first page, replacing the list. `keepList` keeps it visible instead of a spinner. */
    async loadFirst(keepList: boolean) {
      const mine = this.data.generation + 1;
      if (keepList) this.setData({ generation: mine, refreshing: true, moreError: '' });
      else this.setData({ generation: mine, state: 'loading', error: '', moreError: '', loadingMore: false });
      try {
        const page = await listOrders(null, filterOf(this.data.tab));
        if (mine !== this.data.generation) return;
        this.setData({
          state: 'ready',
          orders: withCountdown(page.orders.map(toOrderView), Date.now()),
          nextCursor: page.nextCursor,
          refreshing: false,
          loadingMore: false,
        });
      } catch (err) {
        if (mine !== this.data.generation) return;
        this.failedRefresh(err, keepList);
      }
    },
    failedRefresh(err: unknown, keepList: boolean) {
      if (keepList && this.data.state === 'ready') {
        this.setData({ refreshing: false });
        wx.showToast({ title: describeError(err), icon: 'none' });
      } else {
        this.setData({ state: 'error', error: describeError(err), refreshing: false });
      }
    },
    /**
     * The orders shown, brought up to date without moving the list: the tab's first page merged in (new
     * orders on top), every loaded page kept, and the order the buyer last opened read again when it is
     * further down than the first page.
     */
    async refreshInPlace() {
      const mine = this.data.generation + 1;
      this.setData({ generation: mine, refreshing: true, moreError: '' });
      try {
        const page = await listOrders(null, filterOf(this.data.tab));
        if (mine !== this.data.generation) return;
        const fresh = page.orders.map(toOrderView);
        const keepPages = this.data.orders.length > fresh.length;
        let orders = keepPages ? mergeFirstPage(this.data.orders, fresh) : fresh;
        const opened = openedId;
        openedId = '';
        if (opened && !fresh.some((o) => o.id === opened) && orders.some((o) => o.id === opened)) {
          const order = toOrderView(await getOrder(opened));
          if (mine !== this.data.generation) return;
          orders = replaceOrder(orders, order);
        }
        this.setData({
          state: 'ready',
          orders: withCountdown(orders, Date.now()),
          nextCursor: keepPages ? this.data.nextCursor : page.nextCursor,
          refreshing: false,
          loadingMore: false,
        });
      } catch (err) {
        if (mine !== this.data.generation) return;
        this.failedRefresh(err, true);
      }
    },
    async loadMore() {
      const cursor = this.data.nextCursor;
      if (this.data.state !== 'ready' || cursor === null || this.data.loadingMore || this.data.refreshing)
        return;
      const mine = this.data.generation;
      this.setData({ loadingMore: true, moreError: '' });
      try {
        const page = await listOrders(cursor, filterOf(this.data.tab));
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
      if (!id) return;
      openedId = id;
      navigateTo(orderDetailUrl(id));
    },
    onShop() {
      reLaunch(PAGES.products);
    },
    /**
     * Another status tab: its own list as the buyer left it (scroll position included), refreshed in place;
     * or, the first time, its first page from the server.
     */
    onTab(e: WechatMiniprogram.TouchEvent) {
      const tab = String(e.currentTarget.dataset.tab ?? '') as TabKey;
      const def = ORDER_TABS.find((t) => t.key === tab);
      if (!def || tab === this.data.tab) return;
      if (this.data.state === 'ready')
        tabLists.set(this.data.tab, {
          orders: this.data.orders,
          nextCursor: this.data.nextCursor,
          scrollTop,
        });
      const saved = tabLists.get(tab);
      // Whatever the old tab was loading belongs to it, not to this one.
      const generation = this.data.generation + 1;
      if (saved) {
        this.setData({
          generation,
          tab,
          emptyText: def.empty,
          state: 'ready',
          orders: withCountdown(saved.orders, Date.now()),
          nextCursor: saved.nextCursor,
          loadingMore: false,
          moreError: '',
          refreshing: false,
        });
        this.scrollTo(saved.scrollTop);
        void this.refreshInPlace();
      } else {
        this.setData({
          generation,
          tab,
          emptyText: def.empty,
          orders: [],
          nextCursor: null,
          refreshing: false,
        });
        this.scrollTo(0);
        void this.loadFirst(false);
      }
    },
    scrollTo(top: number) {
      scrollTop = top;
      wx.pageScrollTo({ scrollTop: top, duration: 0 });
    },
    onCopyNo(e: WechatMiniprogram.TouchEvent) {
      const no = String(e.currentTarget.dataset.no ?? '');
      if (no) wx.setClipboardData({ data: no });
    },
    /** Pay a pending order again from the list: a fresh launch, the cashier, then the result page. */
    async onPayAgain(e: WechatMiniprogram.TouchEvent) {
      const id = String(e.currentTarget.dataset.id ?? '');
      if (!id || this.data.payingId || this.data.cancellingId) return;
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
        if (isOrderStateError(err)) void this.refreshInPlace();
      } finally {
        this.setData({ payingId: '' });
      }
    },
    /**
     * Cancel a pending order from the list, after a confirmation. The server cancels it at once (CLOSED in
     * its reply, WeChat's trade closed later if WeChat refuses so early a close), so the row turns 已关闭 in
     * place. The guard is up from the first tap, dialog included: a double tap opens one dialog.
     */
    async onCancel(e: WechatMiniprogram.TouchEvent) {
      const id = String(e.currentTarget.dataset.id ?? '');
      if (!id || this.data.cancellingId || this.data.payingId) return;
      this.setData({ cancellingId: id });
      try {
        if (!(await confirmCancel())) return;
        const order = toOrderView(await closeOrder(id));
        this.setData({ orders: withCountdown(replaceOrder(this.data.orders, order), Date.now()) });
        wx.showToast({ title: '订单已取消', icon: 'success' });
      } catch (err) {
        wx.showToast({ title: describeError(err), icon: 'none' });
        // Paid or closed meanwhile: the list shows it now.
        if (isOrderStateError(err)) void this.refreshInPlace();
      } finally {
        this.setData({ cancellingId: '' });
      }
    },
  },
});

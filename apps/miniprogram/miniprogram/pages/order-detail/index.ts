/** One order as the server has it; a pending order can be paid again or cancelled. */
import { describeError, isOrderStateError } from '../../services/errors';
import { closeOrder, getOrder } from '../../services/orders';
import { payAgain } from '../../services/payment';
import { redirectTo } from '../../utils/nav';
import { resultUrl } from '../../utils/routes';
import type { OrderView } from '../../utils/view';
import { toOrderView } from '../../utils/view';

type LoadState = 'loading' | 'error' | 'ready';
type Action = '' | 'pay' | 'close';

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
    orderId: '',
    state: 'loading' as LoadState,
    error: '',
    order: null as OrderView | null,
    /** The action in flight: both buttons are disabled while either runs. */
    acting: '' as Action,
    actionError: '',
  },
  methods: {
    onLoad(query: Record<string, string | undefined>) {
      this.setData({ orderId: query.id ?? '' });
      void this.load();
    },
    onShow() {
      // Back from the result page after paying: show the current state.
      if (this.data.state === 'ready' && !this.data.acting) void this.load(true);
    },
    async load(quiet = false) {
      if (!quiet) this.setData({ state: 'loading', error: '' });
      try {
        const order = await getOrder(this.data.orderId);
        this.setData({ state: 'ready', order: toOrderView(order) });
      } catch (err) {
        if (quiet && this.data.state === 'ready') wx.showToast({ title: describeError(err), icon: 'none' });
        else this.setData({ state: 'error', error: describeError(err) });
      }
    },
    onRetry() {
      void this.load();
    },
    async onPay() {
      if (this.data.acting) return;
      this.setData({ acting: 'pay', actionError: '' });
      try {
        const client = await payAgain(this.data.orderId);
        this.setData({ acting: '' });
        // Replace this page: the result page links back to the order, so the stack does not grow a copy.
        redirectTo(resultUrl(this.data.orderId, client));
      } catch (err) {
        this.setData({ acting: '', actionError: describeError(err) });
        if (isOrderStateError(err)) await this.load(true);
      }
    },
    async onCancel() {
      if (this.data.acting) return;
      if (!(await confirmCancel())) return;
      this.setData({ acting: 'close', actionError: '' });
      try {
        const order = await closeOrder(this.data.orderId);
        this.setData({ acting: '', order: toOrderView(order) });
        wx.showToast({ title: '订单已取消', icon: 'success' });
      } catch (err) {
        this.setData({ acting: '', actionError: describeError(err) });
        if (isOrderStateError(err)) await this.load(true);
      }
    },
  },
});

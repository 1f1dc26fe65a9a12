/**
 * One order as the server has it; a pending order can be paid again or cancelled, a paid one can be refunded
 * on request (the shop decides), and its refunds are listed. A paid order whose buyer has not answered yet
 * offers the "payment succeeded" subscribe message (when the server has a template for it). An order paid by a
 * combine (合单) lists each merchant's part; one paid only in part says so, and that its money is on its way back.
 */
import { paidMessageBehavior } from '../../behaviors/paid-message';
import { describeError, isOrderStateError, isRefundStateError } from '../../services/errors';
import { askRefund, closeOrder, getOrder } from '../../services/orders';
import { payAgain } from '../../services/payment';
import { redirectTo } from '../../utils/nav';
import { resultUrl } from '../../utils/routes';
import type { OrderView } from '../../utils/view';
import { toOrderView } from '../../utils/view';

type LoadState = 'loading' | 'error' | 'ready';
type Action = '' | 'pay' | 'close' | 'refund';

/** The server's limit on a refund reason (after trimming), in JavaScript string length as it counts it. */
const REFUND_REASON_MAX = 80;

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

/** The buyer's reason for a refund, or null when they backed out of the dialog. */
function promptRefundReason(): Promise<string | null> {
  return new Promise((resolve) => {
    wx.showModal({
      title: '申请退款',
      editable: true,
      placeholderText: `请填写退款原因（${REFUND_REASON_MAX} 字以内）`,
      confirmText: '提交申请',
      cancelText: '再想想',
      success: (res) => resolve(res.confirm ? (res.content ?? '') : null),
      fail: () => resolve(null),
    });
  });
}

/** What is wrong with a (trimmed) reason, or '' when the server will take it. */
function refundReasonProblem(reason: string): string {
  if (reason.length === 0) return '请填写退款原因';
  if (reason.length > REFUND_REASON_MAX) return `退款原因不能超过 ${REFUND_REASON_MAX} 个字`;
  return '';
}

Component({
  behaviors: [paidMessageBehavior],
  data: {
    orderId: '',
    state: 'loading' as LoadState,
    error: '',
    order: null as OrderView | null,
    /** The action in flight: every button is disabled while one runs. */
    acting: '' as Action,
    actionError: '',
  },
  methods: {
    onLoad(query: Record<string, string | undefined>) {
      this.setData({ orderId: query.id ?? '' });
      this.loadTemplate();
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
    /** The out_trade_no, for support or the buyer's WeChat payment record. */
    onCopyNo(e: WechatMiniprogram.TouchEvent) {
      const no = String(e.currentTarget.dataset.no ?? '');
      if (no) wx.setClipboardData({ data: no });
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
    /**
     * Cancels at once: the server answers CLOSED even when WeChat refuses so early a close (it closes the trade
     * there later). The guard is up from the first tap, dialog included, so a double tap opens one dialog.
     */
    async onCancel() {
      if (this.data.acting) return;
      this.setData({ acting: 'close', actionError: '' });
      if (!(await confirmCancel())) {
        this.setData({ acting: '' });
        return;
      }
      try {
        const order = await closeOrder(this.data.orderId);
        this.setData({ acting: '', order: toOrderView(order) });
        wx.showToast({ title: '订单已取消', icon: 'success' });
      } catch (err) {
        this.setData({ acting: '', actionError: describeError(err) });
        if (isOrderStateError(err)) await this.load(true);
      }
    },
    async onAskRefund() {
      if (this.data.acting) return;
      const answer = await promptRefundReason();
      if (answer === null) return;
      const reason = answer.trim();
      const problem = refundReasonProblem(reason);
      if (problem) {
        this.setData({ actionError: problem });
        return;
      }
      this.setData({ acting: 'refund', actionError: '' });
      try {
        const order = await askRefund(this.data.orderId, reason);
        this.setData({ acting: '', order: toOrderView(order) });
        wx.showToast({ title: '退款申请已提交', icon: 'success' });
      } catch (err) {
        this.setData({ acting: '', actionError: describeError(err) });
        // Not refundable (any more): the order as it stands shows why and drops the button.
        if (isRefundStateError(err)) await this.load(true);
      }
    },
  },
});

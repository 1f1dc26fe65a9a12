/**
 * The "订阅支付结果通知" button, shared by the result page and the order page: the template id fetched ahead of
 * the tap, then the consent dialog and the answer sent to the server (services/subscribe.ts). A page using it has
 * `orderId` and `order` in its data; the server's answer replaces `order` (it carries `paidMessage`).
 */
import { getPaidMessageTemplate } from '../services/server-config';
import { askPaidMessage } from '../services/subscribe';
import type { OrderView } from '../utils/view';
import { toOrderView } from '../utils/view';

export const paidMessageBehavior = Behavior({
  data: {
    orderId: '',
    order: null as OrderView | null,
    /** The "payment succeeded" template from /api/config; '' when the server sends none (nothing offered). */
    templateId: '',
    /** The consent dialog is open or its answer on its way to the server. */
    subscribing: false,
    /** Why the subscription did not happen (a failed wx.requestSubscribeMessage or request); '' when none. */
    subscribeNote: '',
    /** Asking again cannot help (subscriptions turned off or banned): the button goes away. */
    subscribeBlocked: false,
  },
  methods: {
    /**
     * The template id is needed before the buyer taps: the consent dialog must open inside the tap (see
     * services/subscribe.ts), with no request in between. Failing to get it only means not offering it.
     */
    loadTemplate() {
      getPaidMessageTemplate().then(
        (id) => this.setData({ templateId: id ?? '' }),
        () => this.setData({ templateId: '' }),
      );
    },
    /**
     * "订阅支付结果通知". wx.requestSubscribeMessage must be called from this tap handler itself, before any
     * await, or WeChat refuses to show the dialog; askPaidMessage makes that call first, synchronously.
     */
    onSubscribe() {
      const { templateId, orderId } = this.data;
      if (this.data.subscribing || !templateId) return;
      const asked = askPaidMessage(orderId, templateId);
      this.setData({ subscribing: true, subscribeNote: '' });
      void asked.then((result) => {
        if (result.kind === 'answered') {
          this.setData({ subscribing: false, order: toOrderView(result.order) });
        } else {
          this.setData({
            subscribing: false,
            subscribeNote: result.note,
            subscribeBlocked: !result.canRetry,
          });
        }
      });
    },
  },
});

/**
 * Payment result. It never believes the client: after `requestPayment:ok` it shows a spinner while the server
 * confirms, and only the server's PAID shows "paid". When the server has not seen the money in time the buyer
 * is told to check later and not to pay twice (no pay button there). A cancel or failure leaves the order
 * pending, with a way to pay again. A combine (合单) that WeChat paid only in part is not "paid" to the buyer:
 * the page says the payment was incomplete and the amount taken goes back.
 */
import { describeError, isOrderStateError } from '../../services/errors';
import type { ClientPayResult, PaymentOutcome } from '../../services/payment';
import { payAgain, settle } from '../../services/payment';
import { redirectTo, reLaunch } from '../../utils/nav';
import { orderDetailUrl, PAGES, parseClientResult } from '../../utils/routes';
import { getPaidMessageTemplate } from '../../services/server-config';
import { askPaidMessage } from '../../services/subscribe';
import type { OrderView } from '../../utils/view';
import { toOrderView } from '../../utils/view';

type ResultState = 'confirming' | 'loading' | 'error' | PaymentOutcome['kind'];

Component({
  data: {
    orderId: '',
    state: 'loading' as ResultState,
    order: null as OrderView | null,
    detail: '',
    error: '',
    /** What the client last reported, so "retry" after an error asks the same question again. */
    client: { kind: 'ok' } as ClientPayResult,
    /** A pay-again is being prepared (fresh parameters, cashier open). */
    paying: false,
    /** The buyer left the page: stop asking the server on its behalf. */
    left: false,
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
    onLoad(query: Record<string, string | undefined>) {
      this.setData({ orderId: query.id ?? '' });
      this.loadTemplate();
      void this.settleWith(parseClientResult(query));
    },
    async settleWith(client: ClientPayResult) {
      this.setData({ state: client.kind === 'ok' ? 'confirming' : 'loading', error: '', detail: '', client });
      try {
        const outcome = await settle(this.data.orderId, client, () => this.data.left);
        this.setData({
          state: outcome.kind,
          order: toOrderView(outcome.order),
          detail: outcome.kind === 'failed' ? outcome.detail : '',
        });
      } catch (err) {
        this.setData({ state: 'error', error: describeError(err) });
      }
    },
    onUnload() {
      this.setData({ left: true });
    },
    onRetry() {
      void this.settleWith(this.data.client);
    },
    onCheckAgain() {
      void this.settleWith({ kind: 'ok' });
    },
    async onPayAgain() {
      if (this.data.paying) return;
      this.setData({ paying: true });
      let client: ClientPayResult;
      try {
        client = await payAgain(this.data.orderId);
      } catch (err) {
        this.setData({ paying: false });
        wx.showToast({ title: describeError(err), icon: 'none' });
        // Refused because the order moved on (paid meanwhile, closed): show the server's state. Anything else
        // (network, payment service down) leaves the page as it was, pay-again button included.
        if (isOrderStateError(err)) await this.settleWith({ kind: 'cancel' });
        return;
      }
      this.setData({ paying: false });
      await this.settleWith(client);
    },
    onViewOrder() {
      redirectTo(orderDetailUrl(this.data.orderId));
    },
    onContinueShopping() {
      reLaunch(PAGES.products);
    },
  },
});

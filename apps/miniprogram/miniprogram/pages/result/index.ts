/**
 * Payment result. It never believes the client: after `requestPayment:ok` it shows a spinner while the server
 * confirms, and only the server's PAID shows "paid". When the server has not seen the money in time the buyer
 * is told to check later and not to pay twice (no pay button there). A cancel or failure leaves the order
 * pending, with a way to pay again. A combine (合单) that WeChat paid only in part is not "paid" to the buyer:
 * the page says the payment was incomplete and the amount taken goes back.
 */
import { paidMessageBehavior } from '../../behaviors/paid-message';
import { describeError, isOrderStateError } from '../../services/errors';
import type { ClientPayResult, PaymentOutcome } from '../../services/payment';
import { payAgain, settle } from '../../services/payment';
import { redirectTo, reLaunch } from '../../utils/nav';
import { orderDetailUrl, PAGES, parseClientResult } from '../../utils/routes';
import type { OrderView } from '../../utils/view';
import { toOrderView } from '../../utils/view';

type ResultState = 'confirming' | 'loading' | 'error' | PaymentOutcome['kind'];

Component({
  behaviors: [paidMessageBehavior],
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
  },
  methods: {
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

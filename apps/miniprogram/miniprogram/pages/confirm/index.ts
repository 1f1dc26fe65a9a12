/**
 * Order confirmation ("buy now" from the shop or the product page: one product, its quantity in the query;
 * the cart has its own checkout and is never touched here): pick a quantity, submit, and only then see the amount to pay, as the server priced it.
 * Paying hands the server's five signed fields to the cashier and moves on to the result page, which asks
 * the server what really happened. A launch the mini-program cannot open is refused here, in place: no
 * cashier, no result page, the order stays pending.
 */
import type { PaymentLaunch } from '../../generated/api';
import { describeError, isProductMissing } from '../../services/errors';
import { createOrder, getProduct, newIdempotencyKey, sellerToShow } from '../../services/orders';
import type { ClientPayResult } from '../../services/payment';
import { requestPayment } from '../../services/payment';
import { redirectTo } from '../../utils/nav';
import { resultUrl } from '../../utils/routes';
import type { OrderView, ProductView } from '../../utils/view';
import { toOrderView, toProductView } from '../../utils/view';

type LoadState = 'loading' | 'error' | 'ready';

/** The stepper's upper bound; the server validates quantities itself. */
const MAX_QUANTITY = 99;

/** The quantity a product page passed along; anything unusable is 1, anything too large the maximum. */
function queryQuantity(raw: string | undefined): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) return 1;
  return Math.min(n, MAX_QUANTITY);
}

Component({
  data: {
    state: 'loading' as LoadState,
    error: '',
    productId: '',
    product: null as ProductView | null,
    quantity: 1,
    maxQuantity: MAX_QUANTITY,
    /** One key per submission, kept across retries so a lost reply cannot create a second order. */
    idempotencyKey: '',
    submitting: false,
    submitError: '',
    order: null as OrderView | null,
    payment: null as PaymentLaunch | null,
    paying: false,
    payError: '',
  },
  methods: {
    onLoad(query: Record<string, string | undefined>) {
      this.setData({ productId: query.productId ?? '', quantity: queryQuantity(query.quantity) });
      void this.load();
    },
    async load() {
      this.setData({ state: 'loading', error: '' });
      try {
        const product = await getProduct(this.data.productId);
        const seller = await sellerToShow(product);
        this.setData({ state: 'ready', product: { ...toProductView(product), merchantName: seller } });
      } catch (err) {
        this.setData({
          state: 'error',
          error: isProductMissing(err) ? '商品不存在或已下架' : describeError(err),
        });
      }
    },
    onRetry() {
      void this.load();
    },
    setQuantity(quantity: number) {
      if (this.data.order || this.data.submitting) return;
      const clamped = Math.max(1, Math.min(MAX_QUANTITY, quantity));
      // A different quantity is a different order: it must not reuse the previous attempt's key.
      if (clamped !== this.data.quantity)
        this.setData({ quantity: clamped, idempotencyKey: '', submitError: '' });
    },
    onDecrease() {
      this.setQuantity(this.data.quantity - 1);
    },
    onIncrease() {
      this.setQuantity(this.data.quantity + 1);
    },
    async onSubmit() {
      if (this.data.submitting || this.data.order) return;
      const idempotencyKey = this.data.idempotencyKey || newIdempotencyKey();
      this.setData({ submitting: true, submitError: '', idempotencyKey });
      try {
        const { order, payment } = await createOrder(
          [{ productId: this.data.productId, quantity: this.data.quantity }],
          idempotencyKey,
        );
        this.setData({ submitting: false, order: toOrderView(order), payment });
      } catch (err) {
        this.setData({ submitting: false, submitError: describeError(err) });
      }
    },
    async onPay() {
      const { order, payment } = this.data;
      if (!order || !payment || this.data.paying) return;
      this.setData({ paying: true, payError: '' });
      let client: ClientPayResult;
      try {
        client = await requestPayment(payment);
      } catch (err) {
        // Only a launch this mini-program cannot open gets here (the cashier's own answers never reject).
        this.setData({ paying: false, payError: describeError(err) });
        return;
      }
      this.setData({ paying: false });
      redirectTo(resultUrl(order.id, client));
    },
  },
});

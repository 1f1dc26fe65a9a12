/**
 * The cart and its checkout: the products and quantities kept in storage (services/cart.ts), priced from the
 * catalogue, with the total shown before submitting. One tap on 提交订单并支付 creates the order (the server
 * prices it again) and opens the cashier straight away; the result page then asks the server what happened.
 * The ordered products leave the cart as soon as the order exists, whatever the payment does: the order itself
 * (pending, payable again from the orders tab) now holds them.
 * A cart of several merchants' goods is grouped by merchant, each with its subtotal, and said to be one
 * combined payment (合并支付): the server pays it with one combine, split between the merchants.
 */
import type { CreateOrderResponse, Product } from '../../generated/api';
import type { CartLine, PricedCart } from '../../services/cart';
import {
  clearCart,
  MAX_QUANTITY,
  orderItems,
  priceCart,
  readCart,
  setCartQuantity,
} from '../../services/cart';
import { describeError } from '../../services/errors';
import { createOrder, listProducts, newIdempotencyKey } from '../../services/orders';
import type { ClientPayResult } from '../../services/payment';
import { requestPayment } from '../../services/payment';
import { formatYuan } from '../../utils/money';
import { redirectTo, switchTab } from '../../utils/nav';
import { PAGES, resultUrl } from '../../utils/routes';

type LoadState = 'loading' | 'error' | 'ready';

interface CartLineView {
  productId: string;
  name: string;
  price: string;
  quantity: number;
  subtotal: string;
}

/** One merchant's lines; a cart of one merchant is one group whose heading is not shown. */
interface CartGroupView {
  /** The merchant's mchid ('' for products that name none: the shop's own). */
  key: string;
  merchantName: string;
  subtotal: string;
  lines: CartLineView[];
}

/** What a product without a merchant is sold by, when the cart also holds other merchants' goods. */
const OWN_SHOP = '本店';

function groupByMerchant(lines: PricedCart['lines']): CartGroupView[] {
  const groups: (CartGroupView & { subtotalFen: number })[] = [];
  for (const l of lines) {
    const key = l.product.merchant?.mchid ?? '';
    let group = groups.find((g) => g.key === key);
    if (!group) {
      group = {
        key,
        merchantName: l.product.merchant?.name ?? OWN_SHOP,
        subtotal: '',
        subtotalFen: 0,
        lines: [],
      };
      groups.push(group);
    }
    group.subtotalFen += l.subtotalFen;
    group.lines.push({
      productId: l.product.id,
      name: l.product.name,
      price: formatYuan(l.product.priceFen),
      quantity: l.quantity,
      subtotal: formatYuan(l.subtotalFen),
    });
  }
  return groups.map(({ subtotalFen, ...g }) => ({ ...g, subtotal: formatYuan(subtotalFen) }));
}

let catalogue: Product[] = [];

Component({
  data: {
    state: 'loading' as LoadState,
    error: '',
    lines: [] as CartLineView[],
    /** The lines by merchant, in cart order of each merchant's first line. */
    groups: [] as CartGroupView[],
    /** The cart spans several merchants: headings per merchant and one combined payment (合并支付). */
    combined: false,
    /** Products in the cart the shop no longer sells: shown, not ordered. */
    missing: 0,
    total: '',
    maxQuantity: MAX_QUANTITY,
    /** One key per cart content, kept across retries so a lost reply cannot create a second order. */
    idempotencyKey: '',
    checkingOut: false,
    checkoutError: '',
  },
  methods: {
    onLoad() {
      void this.load();
    },
    onShow() {
      if (this.data.state === 'ready' && !this.data.checkingOut) this.render(readCart());
    },
    async load() {
      this.setData({ state: 'loading', error: '' });
      try {
        catalogue = await listProducts();
        this.render(readCart());
        this.setData({ state: 'ready' });
      } catch (err) {
        this.setData({ state: 'error', error: describeError(err) });
      }
    },
    onRetry() {
      void this.load();
    },
    render(cart: CartLine[]) {
      const priced = priceCart(cart, catalogue);
      const groups = groupByMerchant(priced.lines);
      this.setData({
        lines: groups.flatMap((g) => g.lines),
        groups,
        combined: groups.length > 1,
        missing: priced.missing.length,
        total: formatYuan(priced.totalFen),
      });
    },
    change(e: WechatMiniprogram.TouchEvent, delta: number) {
      if (this.data.checkingOut) return;
      const id = String(e.currentTarget.dataset.id ?? '');
      const line = this.data.lines.find((l) => l.productId === id);
      if (!line) return;
      // A different cart is a different order: it must not reuse the previous attempt's key.
      this.setData({ idempotencyKey: '', checkoutError: '' });
      this.render(setCartQuantity(id, line.quantity + delta));
    },
    onIncrease(e: WechatMiniprogram.TouchEvent) {
      this.change(e, 1);
    },
    onDecrease(e: WechatMiniprogram.TouchEvent) {
      this.change(e, -1);
    },
    onRemove(e: WechatMiniprogram.TouchEvent) {
      this.change(e, -MAX_QUANTITY);
    },
    onShop() {
      switchTab(PAGES.products);
    },
    async onCheckout() {
      if (this.data.checkingOut || this.data.lines.length === 0) return;
      const priced = priceCart(readCart(), catalogue);
      const items = orderItems(priced);
      if (items.length === 0) return;
      const idempotencyKey = this.data.idempotencyKey || newIdempotencyKey();
      this.setData({ checkingOut: true, checkoutError: '', idempotencyKey });
      let created: CreateOrderResponse;
      try {
        created = await createOrder(items, idempotencyKey);
      } catch (err) {
        this.setData({ checkingOut: false, checkoutError: describeError(err) });
        return;
      }
      clearCart(items.map((i) => i.productId));
      let client: ClientPayResult;
      try {
        client = await requestPayment(created.payment);
      } catch (err) {
        // A launch this mini-program cannot open: the order stays pending, the result page says so.
        client = { kind: 'fail', detail: describeError(err) };
      }
      redirectTo(resultUrl(created.order.id, client));
    },
  },
});

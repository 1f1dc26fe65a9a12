/**
 * The shop (first tab): the catalogue (tap a product for its page; each names its seller when the shop sells
 * for several merchants), "buy now" for one product, "add to cart" for several, and a cart bar
 * with the count and the estimated total that leads to the cart page. The cart is re-read on every show, so
 * it is current when the buyer comes back from the cart or a payment.
 */
import type { Product } from '../../generated/api';
import { addToCart, cartCount, priceCart, readCart } from '../../services/cart';
import { describeError } from '../../services/errors';
import { hasSeveralMerchants, listProducts } from '../../services/orders';
import { formatYuan } from '../../utils/money';
import { navigateTo } from '../../utils/nav';
import { confirmUrl, PAGES, productDetailUrl } from '../../utils/routes';
import type { ProductView } from '../../utils/view';
import { toProductView } from '../../utils/view';

type LoadState = 'loading' | 'error' | 'ready';

let catalogue: Product[] = [];

Component({
  data: {
    state: 'loading' as LoadState,
    error: '',
    products: [] as ProductView[],
    cartCount: 0,
    cartTotal: '',
  },
  methods: {
    onLoad() {
      void this.load();
    },
    onShow() {
      this.refreshCart();
    },
    async load() {
      this.setData({ state: 'loading', error: '' });
      try {
        catalogue = await listProducts();
        const showMerchant = hasSeveralMerchants(catalogue);
        this.setData({ state: 'ready', products: catalogue.map((p) => toProductView(p, showMerchant)) });
        this.refreshCart();
      } catch (err) {
        this.setData({ state: 'error', error: describeError(err) });
      }
    },
    refreshCart() {
      const lines = readCart();
      this.setData({
        cartCount: cartCount(lines),
        cartTotal: formatYuan(priceCart(lines, catalogue).totalFen),
      });
    },
    onRetry() {
      void this.load();
    },
    onBuy(e: WechatMiniprogram.TouchEvent) {
      const id = String(e.currentTarget.dataset.id ?? '');
      if (id) navigateTo(confirmUrl(id));
    },
    onOpenProduct(e: WechatMiniprogram.TouchEvent) {
      const id = String(e.currentTarget.dataset.id ?? '');
      if (id) navigateTo(productDetailUrl(id));
    },
    onAddToCart(e: WechatMiniprogram.TouchEvent) {
      const id = String(e.currentTarget.dataset.id ?? '');
      if (!id) return;
      addToCart(id);
      this.refreshCart();
      wx.showToast({ title: '已加入购物车', icon: 'none' });
    },
    onOpenCart() {
      navigateTo(PAGES.cart);
    },
  },
});

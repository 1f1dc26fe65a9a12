/**
 * One product (from the shop, or a shared link): name, description, price, a quantity, then "加入购物车" (the
 * persisted cart) or "立即购买" (straight to the confirmation page with just this product and quantity; the
 * cart is left as it is). The seller is named when the shop sells for several merchants. Public like the catalogue, so WeChat search may index it (sitemap.json) and it
 * can be shared.
 */
import { addToCart, MAX_QUANTITY } from '../../services/cart';
import { describeError, isProductMissing } from '../../services/errors';
import { getProduct, sellerToShow } from '../../services/orders';
import { navigateTo, switchTab } from '../../utils/nav';
import { confirmUrl, PAGES, productDetailUrl } from '../../utils/routes';
import type { ProductView } from '../../utils/view';
import { toProductView } from '../../utils/view';

/** `missing`: the server has no such product (any more). */
type LoadState = 'loading' | 'error' | 'missing' | 'ready';

Component({
  data: {
    productId: '',
    state: 'loading' as LoadState,
    error: '',
    product: null as ProductView | null,
    quantity: 1,
    maxQuantity: MAX_QUANTITY,
    /** "Buy now" is opening the confirmation page: a second tap must not open a second one. */
    opening: false,
  },
  methods: {
    onLoad(query: Record<string, string | undefined>) {
      this.setData({ productId: query.id ?? '' });
      void this.load(false);
    },
    onShow() {
      // Back from the confirmation page (paid or not): "buy now" may be tapped again.
      if (this.data.opening) this.setData({ opening: false });
    },
    onPullDownRefresh() {
      void this.load(this.data.state === 'ready').then(() => wx.stopPullDownRefresh());
    },
    onRetry() {
      void this.load(false);
    },
    /** `quiet` keeps the product on screen while it is read again (pull-down), a failure then is a toast. */
    async load(quiet: boolean) {
      if (!quiet) this.setData({ state: 'loading', error: '' });
      try {
        const product = await getProduct(this.data.productId);
        const seller = await sellerToShow(product);
        this.setData({ state: 'ready', product: { ...toProductView(product), merchantName: seller } });
        wx.setNavigationBarTitle({ title: product.name });
      } catch (err) {
        if (isProductMissing(err)) this.setData({ state: 'missing', product: null });
        else if (quiet) wx.showToast({ title: describeError(err), icon: 'none' });
        else this.setData({ state: 'error', error: describeError(err) });
      }
    },
    setQuantity(quantity: number) {
      this.setData({ quantity: Math.max(1, Math.min(MAX_QUANTITY, quantity)) });
    },
    onDecrease() {
      this.setQuantity(this.data.quantity - 1);
    },
    onIncrease() {
      this.setQuantity(this.data.quantity + 1);
    },
    onAddToCart() {
      if (this.data.state !== 'ready') return;
      addToCart(this.data.productId, this.data.quantity);
      wx.showToast({ title: '已加入购物车', icon: 'none' });
    },
    onBuyNow() {
      if (this.data.state !== 'ready' || this.data.opening) return;
      this.setData({ opening: true });
      navigateTo(confirmUrl(this.data.productId, this.data.quantity), () => this.setData({ opening: false }));
    },
    onShop() {
      switchTab(PAGES.products);
    },
    onShareAppMessage() {
      const product = this.data.product;
      return {
        title: product ? `${product.name} ${product.price}` : '商品详情',
        path: productDetailUrl(this.data.productId),
      };
    },
  },
});

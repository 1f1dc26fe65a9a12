import { describeError } from '../../services/errors';
import { listProducts } from '../../services/orders';
import { navigateTo } from '../../utils/nav';
import { confirmUrl, PAGES } from '../../utils/routes';
import type { ProductView } from '../../utils/view';
import { toProductView } from '../../utils/view';

type LoadState = 'loading' | 'error' | 'ready';

Component({
  data: {
    state: 'loading' as LoadState,
    error: '',
    products: [] as ProductView[],
  },
  methods: {
    onLoad() {
      void this.load();
    },
    async load() {
      this.setData({ state: 'loading', error: '' });
      try {
        const products = await listProducts();
        this.setData({ state: 'ready', products: products.map(toProductView) });
      } catch (err) {
        this.setData({ state: 'error', error: describeError(err) });
      }
    },
    onRetry() {
      void this.load();
    },
    onBuy(e: WechatMiniprogram.TouchEvent) {
      const id = String(e.currentTarget.dataset.id ?? '');
      if (id) navigateTo(confirmUrl(id));
    },
    onMyOrders() {
      navigateTo(PAGES.orders);
    },
  },
});

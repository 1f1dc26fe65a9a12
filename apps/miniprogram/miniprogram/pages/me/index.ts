/**
 * "Me" (third tab): the way to the orders and the cart, and which version of the mini-program this is (the
 * developer's first question when a tester reports something).
 */
import { cartCount } from '../../services/cart';
import type { EnvVersion } from '../../services/env-version';
import { envVersion } from '../../services/env-version';
import { navigateTo, switchTab } from '../../utils/nav';
import { PAGES } from '../../utils/routes';

export const VERSION_TEXT: Record<EnvVersion, string> = {
  develop: '开发版',
  trial: '体验版',
  release: '正式版',
};

Component({
  data: {
    cartCount: 0,
    version: '',
  },
  methods: {
    onLoad() {
      this.setData({ version: VERSION_TEXT[envVersion()] });
    },
    onShow() {
      this.setData({ cartCount: cartCount() });
    },
    onOrders() {
      switchTab(PAGES.orders);
    },
    onCart() {
      navigateTo(PAGES.cart);
    },
  },
});

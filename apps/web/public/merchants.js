// @ts-check
/**
 * Several merchants in one shop (docs/combine.md): the catalogue names each product's merchant, a cart of several
 * merchants' goods is paid at once by a combine payment with one sub-order per merchant. This module holds what
 * the pages show of that, as plain functions of the server's data (unit-tested in test/merchants.test.ts).
 */

/** @typedef {import('@mp-pay/shared/api').Product} Product */
/** @typedef {import('@mp-pay/shared/api').Order} Order */
/** @typedef {import('@mp-pay/shared/api').SubOrderView} SubOrderView */
/** @typedef {import('./cart.js').Cart} Cart */
/**
 * One merchant's part of the cart. `mchid` is '' for products the server names no merchant for (APIv2 catalogues).
 * @typedef {{
 *   mchid: string,
 *   name: string,
 *   lines: { productId: string, quantity: number, product: Product, subtotalFen: number }[],
 *   subtotalFen: number,
 * }} MerchantGroup
 */

/**
 * Whether the catalogue sells for more than one merchant. Only then is a merchant's name worth showing: a shop
 * of one merchant's goods looks exactly as it did before combine payments.
 * @param {readonly Product[]} products
 * @returns {boolean}
 */
export function hasSeveralMerchants(products) {
  return new Set(products.map((p) => p.merchant?.mchid ?? '')).size > 1;
}

/**
 * The cart split by merchant, as the server will split the order: one group per merchant in the order its first
 * line appears in the cart, each with its lines and subtotal in fen. Lines of products no longer offered are
 * left out (as `totalFen` does), so the subtotals add up to the cart's total.
 * @param {Cart} cart
 * @param {readonly Product[]} products
 * @returns {MerchantGroup[]}
 */
export function groupCartByMerchant(cart, products) {
  const byId = new Map(products.map((p) => [p.id, p]));
  /** @type {Map<string, MerchantGroup>} */
  const groups = new Map();
  for (const line of cart.lines) {
    const product = byId.get(line.productId);
    if (!product) continue;
    const mchid = product.merchant?.mchid ?? '';
    let group = groups.get(mchid);
    if (!group) {
      group = { mchid, name: product.merchant?.name ?? '', lines: [], subtotalFen: 0 };
      groups.set(mchid, group);
    }
    const subtotalFen = product.priceFen * line.quantity;
    group.lines.push({ productId: line.productId, quantity: line.quantity, product, subtotalFen });
    group.subtotalFen += subtotalFen;
  }
  return [...groups.values()];
}

/** @type {Record<SubOrderView['state'], string>} */
export const SUB_ORDER_STATE_TEXT = {
  PENDING: '待支付 / Pending',
  PAID: '已支付 / Paid',
  CLOSED: '未支付 / Not paid',
  PARTIALLY_REFUNDED: '部分退款 / Partly refunded',
  REFUNDED: '已退款 / Refunded',
};

/** The result page's title for a combine WeChat paid only in part, whatever the order's status by then. */
export const PARTIAL_PAYMENT_TITLE = '支付未完成 / Payment incomplete';

/**
 * The notice for a combine that WeChat paid only in part (`partiallyPaidFen`): the cart cannot be delivered as
 * bought, so what was taken goes back to the buyer in full. Undefined for every other order.
 * @param {Pick<Order, 'totalFen' | 'partiallyPaidFen'>} order
 * @param {(fen: number) => string} format how amounts read (money.js's formatYuan)
 * @returns {string | undefined}
 */
export function partialPaymentNotice(order, format) {
  if (order.partiallyPaidFen === undefined) return undefined;
  const paid = format(order.partiallyPaidFen);
  const total = format(order.totalFen);
  return (
    `支付未完成：仅支付了 ${paid}（共 ${total}），已支付的金额将全额退回。` +
    ` / Payment incomplete: only ${paid} of ${total} was paid; it is being refunded in full.`
  );
}

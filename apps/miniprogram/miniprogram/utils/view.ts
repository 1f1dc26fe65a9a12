/** Server objects turned into what the templates print: amounts as yuan, times in Beijing time. */
import type { Order, OrderStatus, Product } from '../generated/api';
import { formatYuan } from './money';
import { formatBeijingTime } from './time';

export const STATUS_TEXT: Record<OrderStatus, string> = {
  PENDING: '待支付',
  PAID: '已支付',
  CLOSED: '已关闭',
  PARTIALLY_REFUNDED: '部分退款',
  REFUNDED: '已退款',
};

export interface ProductView {
  id: string;
  name: string;
  description: string;
  price: string;
  imageUrl: string;
}

export function toProductView(p: Product): ProductView {
  return {
    id: p.id,
    name: p.name,
    description: p.description,
    price: formatYuan(p.priceFen),
    imageUrl: p.imageUrl ?? '',
  };
}

export interface OrderLineView {
  productId: string;
  name: string;
  quantity: number;
  unitPrice: string;
  subtotal: string;
}

export interface OrderView {
  id: string;
  outTradeNo: string;
  status: OrderStatus;
  statusText: string;
  /** CSS modifier: status-pending / status-paid / status-closed. */
  statusClass: string;
  pending: boolean;
  description: string;
  total: string;
  createdAt: string;
  paidAt: string;
  closedAt: string;
  items: OrderLineView[];
}

export function toOrderView(o: Order): OrderView {
  return {
    id: o.id,
    outTradeNo: o.outTradeNo,
    status: o.status,
    statusText: STATUS_TEXT[o.status],
    statusClass: `status-${o.status.toLowerCase()}`,
    pending: o.status === 'PENDING',
    description: o.description,
    total: formatYuan(o.totalFen),
    createdAt: formatBeijingTime(o.createdAt),
    paidAt: o.paidAt ? formatBeijingTime(o.paidAt) : '',
    closedAt: o.closedAt ? formatBeijingTime(o.closedAt) : '',
    items: o.items.map((line) => ({
      productId: line.productId,
      name: line.name,
      quantity: line.quantity,
      unitPrice: formatYuan(line.unitPriceFen),
      subtotal: formatYuan(line.subtotalFen),
    })),
  };
}

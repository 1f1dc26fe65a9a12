/** Server objects turned into what the templates print: amounts as yuan, times in Beijing time. */
import type {
  Order,
  OrderStatus,
  PaidMessageView,
  Product,
  RefundRequestView,
  RefundState,
  RefundSummary,
  SubOrderView,
} from '../generated/api';
import { formatYuan } from './money';
import { formatBeijingTime } from './time';

export const STATUS_TEXT: Record<OrderStatus, string> = {
  PENDING: '待支付',
  PAID: '已支付',
  CLOSED: '已关闭',
  PARTIALLY_REFUNDED: '部分退款',
  REFUNDED: '已退款',
};

/** The buyer's refund request, as the order page states it. */
export const REFUND_REQUEST_TEXT: Record<RefundRequestView['state'], string> = {
  REQUESTED: '退款申请审核中',
  APPROVED: '已同意退款',
  REJECTED: '退款申请未通过',
};

/** One refund: PENDING (not yet at WeChat) and PROCESSING are the same to the buyer, money on its way. */
export const REFUND_STATE_TEXT: Record<RefundState, string> = {
  PENDING: '退款中',
  PROCESSING: '退款中',
  SUCCESS: '已退款',
  CLOSED: '退款关闭',
  ABNORMAL: '退款异常，请联系客服',
};

/** The "payment succeeded" subscribe message, as the result and order pages state it. */
export const PAID_MESSAGE_TEXT: Record<PaidMessageView['state'], string> = {
  ACCEPTED: '已订阅',
  SENT: '已发送',
  DECLINED: '未订阅',
  FAILED: '发送失败',
};

/** One merchant's part of a combine (合单) payment, as the order page states it. */
export const SUB_ORDER_STATE_TEXT: Record<SubOrderView['state'], string> = {
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
  /** Who sells it; '' when the catalogue has one merchant only (naming it would tell the buyer nothing). */
  merchantName: string;
}

/** `showMerchant`: the catalogue spans several merchants (services/orders.ts hasSeveralMerchants). */
export function toProductView(p: Product, showMerchant = false): ProductView {
  return {
    id: p.id,
    name: p.name,
    description: p.description,
    price: formatYuan(p.priceFen),
    imageUrl: p.imageUrl ?? '',
    merchantName: showMerchant && p.merchant ? p.merchant.name : '',
  };
}

export interface OrderLineView {
  productId: string;
  name: string;
  quantity: number;
  unitPrice: string;
  subtotal: string;
}

export interface RefundRequestInfo {
  state: RefundRequestView['state'];
  stateText: string;
  /** CSS modifier: refund-request-requested / -approved / -rejected. */
  stateClass: string;
  reason: string;
  requestedAt: string;
  decidedAt: string;
}

export interface RefundLineView {
  outRefundNo: string;
  amount: string;
  state: RefundState;
  stateText: string;
  /** CSS modifier: refund-pending / refund-processing / refund-success / refund-closed / refund-abnormal. */
  stateClass: string;
  createdAt: string;
  settledAt: string;
}

export interface OrderView {
  id: string;
  outTradeNo: string;
  status: OrderStatus;
  statusText: string;
  /** CSS modifier: status-pending / -paid / -closed / -partially_refunded / -refunded. */
  statusClass: string;
  pending: boolean;
  /** When a pending order stops being payable (ms since epoch; NaN when the server sent no valid time). */
  expiresAtMs: number;
  /** Time left to pay, filled in by the order list's countdown ('' when not pending or past). */
  countdown: string;
  description: string;
  total: string;
  createdAt: string;
  paidAt: string;
  closedAt: string;
  items: OrderLineView[];
  /** The buyer may ask for a refund: paid, no request waiting for the shop, no refund on its way. */
  refundable: boolean;
  refundRequest: RefundRequestInfo | null;
  /** Empty when the reply carries none (the order list never does). */
  refunds: RefundLineView[];
  /** The "payment succeeded" message, once the buyer answered (null before). */
  paidMessage: PaidMessageInfo | null;
  /**
   * A paid order whose buyer has not answered the consent dialog yet: the page may offer it (when the server
   * has a template).
   */
  canSubscribe: boolean;
  /** A combine (合单) payment: each merchant's part; empty for an order of one merchant's goods. */
  subOrders: SubOrderLineView[];
  /**
   * A combine paid only in part (one sub-order failed at WeChat): what was taken, in yuan, which the server
   * refunds at once; '' otherwise.
   */
  partiallyPaid: string;
}

export interface SubOrderLineView {
  outTradeNo: string;
  merchantName: string;
  amount: string;
  state: SubOrderView['state'];
  stateText: string;
  /** CSS modifier: sub-order-pending / -paid / -closed / -partially_refunded / -refunded. */
  stateClass: string;
}

export interface PaidMessageInfo {
  state: PaidMessageView['state'];
  stateText: string;
  /** CSS modifier: paid-message-accepted / -sent / -declined / -failed. */
  stateClass: string;
}

function toRefundRequestInfo(r: RefundRequestView): RefundRequestInfo {
  return {
    state: r.state,
    stateText: REFUND_REQUEST_TEXT[r.state],
    stateClass: `refund-request-${r.state.toLowerCase()}`,
    reason: r.reason,
    requestedAt: formatBeijingTime(r.requestedAt),
    decidedAt: r.decidedAt ? formatBeijingTime(r.decidedAt) : '',
  };
}

function toRefundLineView(r: RefundSummary): RefundLineView {
  return {
    outRefundNo: r.outRefundNo,
    amount: formatYuan(r.refundFen),
    state: r.state,
    stateText: REFUND_STATE_TEXT[r.state],
    stateClass: `refund-${r.state.toLowerCase()}`,
    createdAt: formatBeijingTime(r.createdAt),
    settledAt: r.settledAt ? formatBeijingTime(r.settledAt) : '',
  };
}

/**
 * Whether to offer "申请退款". The server takes a request for any PAID or PARTIALLY_REFUNDED order without an
 * open one; while a refund is still on its way the whole remaining amount may already be in it, so the page
 * waits for it to settle rather than invite a request the shop could not fulfil. A combine paid only in part is
 * refunded in full by the server on its own, so there is nothing to ask for.
 */
export function canAskRefund(o: Order): boolean {
  const refunds = o.refunds ?? [];
  return (
    (o.status === 'PAID' || o.status === 'PARTIALLY_REFUNDED') &&
    (o.partiallyPaidFen ?? null) === null &&
    o.refundRequest?.state !== 'REQUESTED' &&
    !refunds.some((r) => r.state === 'PENDING' || r.state === 'PROCESSING')
  );
}

export function toOrderView(o: Order): OrderView {
  const partiallyPaidFen = o.partiallyPaidFen ?? null;
  return {
    id: o.id,
    outTradeNo: o.outTradeNo,
    status: o.status,
    statusText: STATUS_TEXT[o.status],
    statusClass: `status-${o.status.toLowerCase()}`,
    pending: o.status === 'PENDING',
    expiresAtMs: Date.parse(o.expiresAt),
    countdown: '',
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
    refundable: canAskRefund(o),
    refundRequest: o.refundRequest ? toRefundRequestInfo(o.refundRequest) : null,
    refunds: (o.refunds ?? []).map(toRefundLineView),
    paidMessage: o.paidMessage
      ? {
          state: o.paidMessage.state,
          stateText: PAID_MESSAGE_TEXT[o.paidMessage.state],
          stateClass: `paid-message-${o.paidMessage.state.toLowerCase()}`,
        }
      : null,
    // A partial combine is PAID only until its refund settles: there is nothing to be told about.
    canSubscribe: o.status === 'PAID' && !o.paidMessage && partiallyPaidFen === null,
    subOrders: (o.subOrders ?? []).map((s) => ({
      outTradeNo: s.outTradeNo,
      merchantName: s.merchantName,
      amount: formatYuan(s.totalFen),
      state: s.state,
      stateText: SUB_ORDER_STATE_TEXT[s.state],
      stateClass: `sub-order-${s.state.toLowerCase()}`,
    })),
    partiallyPaid: partiallyPaidFen === null ? '' : formatYuan(partiallyPaidFen),
  };
}

import { z } from 'zod';
import { ORDER_ID_RE } from '../../domain/ids.ts';

const orderId = z.string().regex(ORDER_ID_RE, 'not an order id');

export const refundOrderSchema = z.object({
  params: z.object({ id: orderId }),
  body: z.object({
    refundFen: z.number().int().min(1).max(100_000_000).optional(),
    reason: z.string().trim().min(1, 'say why').max(80, 'WeChat takes at most 80 characters'),
    /** A combine's sub-order (its out_trade_no): the payment refunded. */
    outTradeNo: z
      .string()
      .regex(/^[0-9A-Za-z]{32}$/, 'not an out_trade_no')
      .optional(),
  }),
});

export const ordersByStatusSchema = z.object({
  query: z.object({
    status: z.enum(['PENDING', 'PAID', 'CLOSED', 'PARTIALLY_REFUNDED', 'REFUNDED']),
    limit: z.coerce.number().int().min(1).max(100).default(20),
    cursor: z.string().min(1).max(200).optional(),
  }),
});

export const orderRefundsSchema = z.object({ params: z.object({ id: orderId }) });

export const refundSchema = z.object({
  params: z.object({ outRefundNo: z.string().regex(/^[0-9A-Za-z]{32}R\d{2}$/, 'not an out_refund_no') }),
});

/**
 * `:date` is YYYY-MM-DD, or YYYY-MM-DD.csv for the CSV (GET only); `mchid` the merchant whose bill's report
 * (default: the shop's own).
 */
export const reconciliationSchema = z.object({
  params: z.object({ date: z.string().regex(/^\d{4}-\d{2}-\d{2}(\.csv)?$/, 'not a day (YYYY-MM-DD)') }),
  query: z.object({
    format: z.enum(['json', 'csv']).default('json'),
    mchid: z
      .string()
      .regex(/^\d{1,32}$/, 'not a merchant id')
      .optional(),
  }),
});

export const reconciliationRunSchema = z.object({
  params: z.object({ date: z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'not a day (YYYY-MM-DD)') }),
});

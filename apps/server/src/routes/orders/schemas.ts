import { ORDER_LIST_FILTERS, PAYMENT_CHANNELS, SUBSCRIBE_ANSWERS } from '@mp-pay/shared/api';
import { z } from 'zod';
import { ORDER_ID_RE } from '../../domain/ids.ts';

const orderId = z.string().regex(ORDER_ID_RE, 'not an order id');

export const createOrderSchema = z.object({
  body: z.object({
    items: z
      .array(
        z.object({
          productId: z.string().min(1).max(40),
          quantity: z.number().int().min(1).max(99),
        }),
      )
      .min(1)
      .max(20)
      .refine((items) => new Set(items.map((i) => i.productId)).size === items.length, {
        error: 'list each product once, with its quantity',
      }),
    channel: z.enum(PAYMENT_CHANNELS).optional(),
  }),
  headers: z.object({
    'idempotency-key': z
      .string()
      .regex(/^[\x21-\x7e]{1,128}$/, 'Idempotency-Key must be 1-128 printable ASCII characters')
      .optional(),
  }),
});

export const orderIdSchema = z.object({ params: z.object({ id: orderId }) });

/** POST /api/orders/:id/payment [{channel}]: no body (or no channel) keeps the open attempt's channel. */
export const orderPaymentSchema = z.object({
  params: z.object({ id: orderId }),
  body: z
    .object({ channel: z.enum(PAYMENT_CHANNELS).optional() })
    .strict()
    .optional(),
});

export const refundRequestSchema = z.object({
  params: z.object({ id: orderId }),
  body: z.object({ reason: z.string().trim().min(1, 'say why').max(80, 'at most 80 characters') }),
});

export const listOrdersSchema = z.object({
  query: z.object({
    limit: z.coerce.number().int().min(1).max(50).default(20),
    cursor: z.string().min(1).max(200).optional(),
    status: z.enum(ORDER_LIST_FILTERS).optional(),
  }),
});

/** POST /api/orders/:id/subscriptions {templateId, answer}: wx.requestSubscribeMessage's answer for a template. */
export const subscriptionSchema = z.object({
  params: z.object({ id: orderId }),
  body: z
    .object({
      templateId: z.string().regex(/^[A-Za-z0-9_-]{1,128}$/, 'not a template id'),
      answer: z.enum(SUBSCRIBE_ANSWERS),
    })
    .strict(),
});

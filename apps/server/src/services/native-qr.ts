/**
 * GET /api/orders/:id/payment/qr.svg: the open Native attempt's code URL (mode 2's code_url, or mode 1's signed
 * long link) drawn as a QR code for a desktop page (docs/channels.md "Native"). Owner only; an order with no
 * Native code to show is a clear error, never an image of something else.
 */
import QRCode from 'qrcode';
import type { AppContext } from '../context.ts';
import { AppError } from '../errors.ts';
import { nativeCode } from '../gateway/index.ts';
import { getOwnOrder } from './orders.ts';

export async function nativeQrSvg(ctx: AppContext, userId: string, orderId: string): Promise<string> {
  const order = await getOwnOrder(ctx, userId, orderId);
  if (order.status === 'PAID') throw new AppError('order_already_paid');
  if (order.status !== 'PENDING' || ctx.now() >= order.expiresAt) throw new AppError('order_closed');
  const attempt = await ctx.store.attempts.getAttempt(order.currentAttempt);
  const codeUrl =
    attempt?.state === 'OPEN' && attempt.channel === 'native' ? nativeCode(attempt.prepared) : undefined;
  if (codeUrl === undefined) {
    throw new AppError(
      'not_found',
      'This order has no Native QR code: ask for a payment with channel native (POST /api/orders/:id/payment).',
    );
  }
  // Error correction M and a 2-module quiet zone: what WeChat's scanner reads reliably from a screen.
  return QRCode.toString(codeUrl, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 });
}

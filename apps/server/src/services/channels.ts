/**
 * Which AppID and payer a payment channel uses. Only the mini-program channel is served today; the contract
 * already names the others (docs/architecture.md), and asking for one is a clear 400, not a surprise.
 */
import type { PaymentChannel } from '@mp-pay/shared/api';
import type { AppContext } from '../context.ts';
import { AppError } from '../errors.ts';
import type { Session } from './sessions.ts';

export interface ChannelPayer {
  appId: string;
  /** The buyer's openid under that AppID, when the channel needs one (JSAPI). */
  payerOpenid: string | undefined;
}

export function payerFor(ctx: AppContext, channel: PaymentChannel, session: Session): ChannelPayer {
  if (channel !== 'miniprogram') {
    throw new AppError('channel_not_available', `Channel ${channel} is not served by this server yet.`);
  }
  const appId = ctx.config.wechat.appId;
  // The mini-program pays with the openid WeChat gave this app; a session from another app has none here.
  if (session.appId !== appId) {
    throw new AppError('channel_not_available', 'Sign in through the mini-program to pay in it.');
  }
  return { appId, payerOpenid: session.openid };
}

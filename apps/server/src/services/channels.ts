/**
 * Which AppID and payer a payment channel uses, and which channels this configuration offers
 * (docs/channels.md, the table). JSAPI channels pay with the buyer's openid under their own AppID, so the session
 * must come from that AppID; APP, H5 and Native need no openid and serve any session, guests included.
 */
import { PAYMENT_CHANNELS, type PaymentChannel } from '@mp-pay/shared/api';
import type { AppContext } from '../context.ts';
import { AppError } from '../errors.ts';
import type { Session } from './sessions.ts';

export interface ChannelPayer {
  appId: string;
  /** The buyer's openid under that AppID, when the channel needs one (JSAPI). */
  payerOpenid: string | undefined;
}

export function payerFor(ctx: AppContext, channel: PaymentChannel, session: Session): ChannelPayer {
  const channels = ctx.config.channels;
  switch (channel) {
    case 'miniprogram': {
      const appId = channels.miniprogram.appId;
      // The mini-program pays with the openid WeChat gave this app; a session from elsewhere has none here.
      if (session.appId !== appId || session.openid === undefined) {
        throw new AppError('channel_not_available', 'Sign in through the mini-program to pay in it.');
      }
      return { appId, payerOpenid: session.openid };
    }
    case 'official_account': {
      const oa = channels.officialAccount;
      if (oa === undefined) {
        throw new AppError(
          'channel_not_available',
          'Official-account payments are not configured: set WECHAT_OA_APPID and WECHAT_OA_SECRET.',
        );
      }
      if (session.appId !== oa.appId || session.openid === undefined) {
        throw new AppError(
          'channel_not_available',
          "Sign in through the official account's page in WeChat (GET /web/oauth/start) to pay with it.",
        );
      }
      return { appId: oa.appId, payerOpenid: session.openid };
    }
    case 'app': {
      if (channels.app === undefined) {
        throw new AppError(
          'channel_not_available',
          "APP payments are not configured: set WECHAT_APP_APPID (the app's open-platform AppID).",
        );
      }
      return { appId: channels.app.appId, payerOpenid: undefined };
    }
    case 'h5':
    case 'native':
      // Any AppID bound to the merchant may place them; the mini-program's is always there.
      return { appId: channels.miniprogram.appId, payerOpenid: undefined };
  }
}

/** GET /api/config `channels`: the channels this configuration can serve (some session permitting). */
export function offeredChannels(ctx: AppContext): PaymentChannel[] {
  const channels = ctx.config.channels;
  return PAYMENT_CHANNELS.filter((channel) => {
    if (channel === 'official_account') return channels.officialAccount !== undefined;
    if (channel === 'app') return channels.app !== undefined;
    return true;
  });
}

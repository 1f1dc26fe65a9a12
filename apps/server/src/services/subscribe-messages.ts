/**
 * The "payment succeeded" subscribe message (docs/subscribe-messages.md). The mini-program asks the buyer with
 * wx.requestSubscribeMessage and reports the answer (POST /api/orders/:id/subscriptions); the answer is recorded
 * on the order once (answer-paid-message.lua). An accepted message is queued in the `message` due queue when the
 * order is paid (mark-paid.lua, or at once when it already is), and the worker sends it: the queue's lease is
 * the claim that keeps two processes from sending it together; finish-paid-message.lua records SENT or FAILED
 * and takes it out of the queue. Sending never runs in the notification's request: its ack never waits for it.
 */
import { randomUUID } from 'node:crypto';
import type { Order, PaidMessageView, SubscriptionRequest } from '@mp-pay/shared/api';
import { fenToYuan } from '@mp-pay/shared/bills';
import {
  SubscribeMessageClient,
  WechatAccessTokenError,
  WechatLoginError,
  WechatMessageError,
  WechatMessageNoConsentError,
  type SubscribeMessage,
} from '@mp-pay/shared/login';
import type { AppContext } from '../context.ts';
import { AppError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { OrderRecord, PaidMessageRecord } from '../store/index.ts';
import { getOwnOrder, toApiOrder } from './orders.ts';
import type { Session } from './sessions.ts';

/** The page a tapped message opens: the order's detail page of the mini-program (apps/miniprogram). */
export const PAID_MESSAGE_PAGE = 'pages/order-detail/index';
/** Claims of one message before it is recorded FAILED (errors that may pass: network, -1, a busy store). */
export const MAX_SEND_TRIES = 5;
/** A token is fetched again this long before it expires; WeChat keeps the old one working about as long. */
const REFRESH_AHEAD_MS = 5 * 60_000;
const BEIJING_OFFSET_MS = 8 * 3_600_000;

/** What the buyer sees of the message (the openid and appid stay on the server). */
export function toPaidMessageView(message: PaidMessageRecord): PaidMessageView {
  return {
    state: message.state,
    templateId: message.templateId,
    answeredAt: new Date(message.answeredAt).toISOString(),
    ...(message.sentAt === undefined ? {} : { sentAt: new Date(message.sentAt).toISOString() }),
    ...(message.reason === undefined ? {} : { reason: message.reason }),
  };
}

/**
 * POST /api/orders/:id/subscriptions: records the buyer's answer for the configured template. Only a
 * mini-program session can be messaged (the openid is the mini-program's). Answering again returns the order as
 * it stands: the first answer wins.
 */
export async function answerSubscription(
  ctx: AppContext,
  session: Session,
  orderId: string,
  request: SubscriptionRequest,
  log: Logger,
): Promise<Order> {
  const order = await getOwnOrder(ctx, session.userId, orderId);
  const template = ctx.config.subscribe.paymentSucceeded;
  if (template === undefined) {
    throw new AppError('subscription_not_allowed', 'This server sends no subscribe messages.');
  }
  if (request.templateId !== template) {
    throw new AppError('subscription_not_allowed', 'templateId is not the one GET /api/config offers.');
  }
  const appId = ctx.config.channels.miniprogram.appId;
  if (session.appId !== appId || session.openid === undefined) {
    throw new AppError(
      'subscription_not_allowed',
      'Only a buyer signed in with the mini-program can subscribe.',
    );
  }
  const answered = await ctx.store.orders.answerPaidMessage(order.id, {
    templateId: template,
    answer: request.answer,
    answeredAt: ctx.now(),
    appId,
    openid: session.openid,
  });
  if (answered.kind === 'not_found') throw new AppError('order_not_found');
  if (answered.kind === 'closed') {
    throw new AppError('subscription_not_allowed', 'The order is closed.');
  }
  if (answered.kind === 'answered') {
    log.info(
      { orderId: order.id, answer: request.answer, queued: answered.queued },
      'subscribe answer recorded',
    );
  }
  const fresh = await ctx.store.orders.getOrder(order.id);
  if (!fresh) throw new AppError('order_not_found');
  return toApiOrder(fresh);
}

// ---- sending (the worker's `message` queue) ---------------------------------------------------------------

const clients = new WeakMap<AppContext, SubscribeMessageClient>();

/** One client per app context (its connection pool), built on first use. */
function clientOf(ctx: AppContext): SubscribeMessageClient {
  let client = clients.get(ctx);
  if (!client) {
    client = new SubscribeMessageClient({
      appId: ctx.config.wechat.appId,
      secret: ctx.config.wechat.secret,
      baseUrl: ctx.config.wechat.apiBase,
      timeoutMs: ctx.config.wechatpay.timeoutMs,
    });
    clients.set(ctx, client);
  }
  return client;
}

/**
 * The app's access token, from the store's cache (shared by every process). A missing or stale token is fetched
 * by one process at a time, under a short lock; the others wait for it, or use the old token while it still
 * works (WeChat keeps it about 5 minutes after a new one). `rejected`: a token WeChat just refused (40001,
 * 42001): it is never returned again, and it is replaced unless another process replaced it already.
 */
export async function accessToken(ctx: AppContext, rejected?: string): Promise<string> {
  const appId = ctx.config.wechat.appId;
  const tokens = ctx.store.accessTokens;
  const timeoutMs = ctx.config.wechatpay.timeoutMs;
  const lockMs = timeoutMs + 2 * ctx.config.redis.commandTimeoutMs;
  const giveUpAt = Date.now() + lockMs + timeoutMs;
  for (;;) {
    const now = ctx.now();
    const cached = await tokens.get(appId);
    const usable = cached !== undefined && cached.token !== rejected && now < cached.expiresAt;
    if (usable && now < cached.refreshAt) return cached.token;
    const owner = randomUUID();
    if (await tokens.lock(appId, owner, lockMs, now)) {
      try {
        // Another process may have saved a token between the read above and the lock.
        const again = await tokens.get(appId);
        if (again && again.token !== rejected && ctx.now() < again.refreshAt) {
          await tokens.unlock(appId, owner);
          return again.token;
        }
        const fetched = await clientOf(ctx).fetchAccessToken();
        const at = ctx.now();
        const lifeMs = fetched.expiresIn * 1000;
        const token = {
          token: fetched.accessToken,
          expiresAt: at + lifeMs,
          refreshAt: at + Math.max(lifeMs - REFRESH_AHEAD_MS, lifeMs / 2),
        };
        await tokens.save(appId, token, owner, at);
        return token.token;
      } catch (err) {
        await tokens.unlock(appId, owner).catch(() => undefined);
        throw err;
      }
    }
    // Someone else is fetching. A token due for refresh but not expired still works meanwhile.
    if (usable) return cached.token;
    if (Date.now() > giveUpAt) throw new Error('another process is still fetching the access token');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** A `thing` keyword holds at most 20 characters (WeChat counts characters, not bytes). */
export function thing(text: string): string {
  const chars = [...text.trim()];
  return chars.length <= 20 ? chars.join('') : `${chars.slice(0, 19).join('')}…`;
}

/** `YYYY-MM-DD HH:mm`, Beijing time. */
export function beijingMinuteText(at: number): string {
  return new Date(at + BEIJING_OFFSET_MS).toISOString().slice(0, 16).replace('T', ' ');
}

/** The message for a paid order, keyword by keyword (SUBSCRIBE_TEMPLATE_PAID's keywords, README.md). */
export function paidMessageOf(
  ctx: AppContext,
  order: OrderRecord,
  message: PaidMessageRecord,
): SubscribeMessage {
  const [first] = order.items;
  const count = order.items.reduce((n, line) => n + line.quantity, 0);
  const summary =
    first === undefined
      ? order.description
      : order.items.length === 1
        ? first.quantity === 1
          ? first.name
          : `${first.name} ×${first.quantity}`
        : `${first.name} 等${count}件`;
  return {
    touser: message.openid,
    templateId: message.templateId,
    page: `${PAID_MESSAGE_PAGE}?id=${order.id}`,
    data: {
      thing1: thing(summary),
      amount2: `${fenToYuan(order.totalFen)}元`,
      character_string3: order.id,
      time4: beijingMinuteText(order.paidAt ?? message.answeredAt),
    },
    miniprogramState: ctx.config.subscribe.miniprogramState,
    lang: 'zh_CN',
  };
}

/** What the worker does next with a claimed message: nothing (recorded, or nothing to send), or retry later. */
export type DeliveryNext = 'done' | 'retry' | 'retry_slowly';

/**
 * Sends an order's accepted message once: the caller holds the order's claim in the `message` queue. WeChat's
 * refusal is final (FAILED with its errcode); a refused token is replaced once and the send retried; errors that
 * may pass are retried on the worker's backoff, FAILED after MAX_SEND_TRIES claims.
 */
export async function deliverPaidMessage(
  ctx: AppContext,
  orderId: string,
  claimAttempt: number,
  log: Logger,
): Promise<DeliveryNext> {
  const order = await ctx.store.orders.getOrder(orderId);
  const message = order?.paidMessage;
  if (!order || message?.state !== 'ACCEPTED' || order.paidAt === undefined) return 'done';
  const finish = async (state: 'SENT' | 'FAILED', detail: { reason?: string; msgid?: string }) => {
    await ctx.store.orders.finishPaidMessage(order.id, { state, at: ctx.now(), ...detail });
    log.info({ orderId: order.id, state, reason: detail.reason }, 'paid message finished');
    return 'done' as const;
  };
  if (claimAttempt > MAX_SEND_TRIES) {
    return finish('FAILED', { reason: `gave up after ${MAX_SEND_TRIES} tries` });
  }
  const content = paidMessageOf(ctx, order, message);
  const client = clientOf(ctx);
  try {
    let token = await accessToken(ctx);
    let sent: { msgid: string | undefined };
    try {
      sent = await client.send(token, content);
    } catch (err) {
      if (!(err instanceof WechatAccessTokenError)) throw err;
      // 40001 / 42001: the cached token was replaced or expired early; one fresh token, one more send.
      log.info({ orderId: order.id, errcode: err.code }, 'access token refused; fetching a new one');
      token = await accessToken(ctx, token);
      sent = await client.send(token, content);
    }
    return await finish('SENT', sent.msgid === undefined ? {} : { msgid: sent.msgid });
  } catch (err) {
    if (err instanceof WechatMessageError && !err.retryable) {
      // A claim that came back after a lease ran out may follow a send that did go through: then the consent is
      // used up and WeChat answers 43101, which is said here rather than hidden.
      const interrupted =
        claimAttempt > 1 && err instanceof WechatMessageNoConsentError
          ? ' (after an interrupted try: it may have been delivered)'
          : '';
      return finish('FAILED', { reason: `${err.message.replace(/^subscribe\/send /, '')}${interrupted}` });
    }
    if (err instanceof WechatLoginError && !err.retryable) {
      // cgi-bin/token refused the app's credentials (40013, 40125): a configuration problem, retried slowly.
      log.error(
        { orderId: order.id, errcode: err.code },
        'cannot get an access token: check WECHAT_APPID / WECHAT_SECRET',
      );
      if (claimAttempt >= MAX_SEND_TRIES)
        return finish('FAILED', { reason: `access token refused: ${err.code}` });
      return 'retry_slowly';
    }
    log.warn({ err, orderId: order.id }, 'sending the paid message failed; will retry');
    if (claimAttempt >= MAX_SEND_TRIES) {
      return finish('FAILED', { reason: `WeChat unavailable after ${MAX_SEND_TRIES} tries` });
    }
    return 'retry';
  }
}

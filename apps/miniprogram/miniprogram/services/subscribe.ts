/**
 * The "payment succeeded" subscribe message: the buyer's consent (wx.requestSubscribeMessage), then their
 * answer to the server (POST /api/orders/:id/subscriptions), which sends the message once the order is paid.
 *
 * WeChat only shows the consent dialog when wx.requestSubscribeMessage is called while handling a tap
 * ("can only be invoked by user TAP gesture"): after an `await` (a request to the server, say) the tap is
 * over and the call fails. So the template id is fetched before the button is shown, and `askPaidMessage`
 * calls WeChat first, synchronously, before anything else it does.
 */
import type { Order, SubscribeAnswer } from '../generated/api';
import { SUBSCRIBE_ANSWERS } from '../generated/api';
import { describeError } from './errors';
import { answerPaidMessage } from './orders';

/** The buyer answered: the order as the server has it now. Or no answer: why, and whether trying again may help. */
export type PaidMessageResult =
  { kind: 'answered'; order: Order } | { kind: 'unavailable'; note: string; canRetry: boolean };

type Consent = { ok: true; answer: SubscribeAnswer } | { ok: false; errCode: number; errMsg: string };

/**
 * What a failed wx.requestSubscribeMessage means to the buyer. None of these blocks anything: the order is
 * paid either way, the buyer only misses a notification.
 */
function consentFailure(errCode: number): { note: string; canRetry: boolean } {
  switch (errCode) {
    case 20004:
      // The buyer turned subscribe messages off for this mini-program (··· → 设置 → 订阅消息).
      return { note: '你已关闭本小程序的订阅消息，可在右上角 ··· → 设置 → 订阅消息 中打开', canRetry: false };
    case 20005:
      // WeChat has banned this mini-program's subscribe messages: nothing the buyer can do.
      return { note: '小程序暂时无法发送订阅消息，可在订单中查看支付结果', canRetry: false };
    case 20001:
      // The template id is not (or no longer) one of this mini-program's: the server's configuration is wrong.
      return { note: '暂时无法订阅支付结果通知，可在订单中查看支付结果', canRetry: false };
    case 10002:
    case 10003:
      return { note: '网络不佳，订阅未完成，请稍后重试', canRetry: true };
    default:
      return { note: '订阅未完成，请稍后重试', canRetry: true };
  }
}

function isAnswer(v: unknown): v is SubscribeAnswer {
  return (SUBSCRIBE_ANSWERS as readonly unknown[]).includes(v);
}

/** Opens WeChat's consent dialog. The promise executor runs at once: the call is still inside the tap. */
function requestConsent(templateId: string): Promise<Consent> {
  return new Promise((resolve) => {
    wx.requestSubscribeMessage({
      tmplIds: [templateId],
      success: (res) => {
        const answer: unknown = (res as unknown as Record<string, unknown>)[templateId];
        if (isAnswer(answer)) resolve({ ok: true, answer });
        // An answer this build does not know: treat it like a failed call rather than guess.
        else resolve({ ok: false, errCode: -1, errMsg: `requestSubscribeMessage: answer ${String(answer)}` });
      },
      fail: (err) => resolve({ ok: false, errCode: err.errCode, errMsg: err.errMsg }),
    });
  });
}

/**
 * Asks the buyer, then tells the server. Call it straight from the tap handler, before any `await` (see the
 * top of this file). Never rejects.
 */
export async function askPaidMessage(orderId: string, templateId: string): Promise<PaidMessageResult> {
  const consent = await requestConsent(templateId);
  if (!consent.ok) {
    console.warn('requestSubscribeMessage failed', consent.errCode, consent.errMsg);
    return { kind: 'unavailable', ...consentFailure(consent.errCode) };
  }
  try {
    // Every answer goes to the server, "reject" and "ban" too: it records the order as DECLINED.
    return { kind: 'answered', order: await answerPaidMessage(orderId, templateId, consent.answer) };
  } catch (err) {
    return { kind: 'unavailable', note: describeError(err), canRetry: true };
  }
}

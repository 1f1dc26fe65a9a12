import type { Outcome } from './settle.ts';

/**
 * What wx.requestPayment answers, for a single order (payer.ts) and a combine (v3/combine-pay.ts) alike: the
 * mini-program sees one errMsg whichever kind of prepay_id it paid, so both build it here.
 */
export interface PayReply {
  status: number;
  errMsg: string;
  hint?: string;
}

/** A refusal: `requestPayment:fail <detail>`, with the sandbox's hint when it recognises the cause. */
export const rejectPayment = (status: number, detail: string, hint?: string): PayReply => ({
  status,
  errMsg: `requestPayment:fail ${detail}`,
  ...(hint ? { hint } : {}),
});

/** The errMsg of a payment that reached the buyer's choice; `hint` is only added to a success. */
export function paymentReply(outcome: Outcome, hint?: string): PayReply {
  switch (outcome) {
    case 'cancel':
      return { status: 200, errMsg: 'requestPayment:fail cancel' };
    case 'fail':
      return { status: 200, errMsg: 'requestPayment:fail 支付失败，请稍后再试' };
    case 'payerror':
      return { status: 200, errMsg: 'requestPayment:fail 支付失败，请重新下单支付' };
    case 'success':
      return { status: 200, errMsg: 'requestPayment:ok', ...(hint ? { hint } : {}) };
  }
}

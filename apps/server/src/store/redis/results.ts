/**
 * The one mapping from the Lua scripts' numbered results (documented in each script's header) to typed results.
 * An unexpected code is a bug, never silently treated as success.
 */
import type { OrderStatus } from '@mp-pay/shared/api';
import type {
  AnswerPaidMessageResult,
  FinishPaidMessageResult,
  PaidMessageState,
  AskRefundResult,
  DecideRefundResult,
  AttemptState,
  MarkRefundSentResult,
  RefundRecordState,
  SettleRefundResult,
  CloseAttemptResult,
  EndAttemptResult,
  MarkClosedResult,
  MarkCombineResult,
  MarkPaidResult,
  ResolveIdentityResult,
  SetPreparedResult,
  SetScanPrepayResult,
} from '../types.ts';

type Reply = unknown[];

function asReply(value: unknown, script: string): Reply {
  if (!Array.isArray(value) || value.length === 0)
    throw new Error(`${script}: unexpected reply ${String(value)}`);
  return value;
}
function unexpected(script: string, code: unknown): never {
  throw new Error(`${script}: unexpected result code ${String(code)}`);
}

export type CreateOrderCode = { kind: 'created' | 'replayed' | 'conflict' | 'collision'; id: string };

export function createOrderResult(value: unknown): CreateOrderCode {
  const [code, id] = asReply(value, 'create-order') as [number, string];
  switch (code) {
    case 1:
      return { kind: 'created', id };
    case 2:
      return { kind: 'replayed', id };
    case -1:
      return { kind: 'conflict', id };
    case -2:
      return { kind: 'collision', id };
    default:
      return unexpected('create-order', code);
  }
}

export type OpenAttemptCode =
  | { kind: 'opened' }
  | { kind: 'open_exists'; outTradeNo: string }
  | { kind: 'not_pending'; status: OrderStatus }
  | { kind: 'collision' }
  | { kind: 'too_many' }
  | { kind: 'not_found' };

export function openAttemptResult(value: unknown): OpenAttemptCode {
  const [code, detail] = asReply(value, 'open-attempt') as [number, string | undefined];
  switch (code) {
    case 1:
      return { kind: 'opened' };
    case 2:
      return { kind: 'open_exists', outTradeNo: detail as string };
    case 0:
      return { kind: 'not_pending', status: detail as OrderStatus };
    case -1:
      return { kind: 'not_found' };
    case -2:
      return { kind: 'collision' };
    case -4:
      return { kind: 'too_many' };
    default:
      return unexpected('open-attempt', code);
  }
}

export function setPreparedResult(value: unknown): SetPreparedResult {
  const [code, status, state] = asReply(value, 'set-prepared') as [number, string?, string?];
  switch (code) {
    case 1:
      return { kind: 'ok' };
    case 0:
      return { kind: 'not_open', orderStatus: status as OrderStatus, state: state as AttemptState };
    case -1:
      return { kind: 'not_found' };
    default:
      return unexpected('set-prepared', code);
  }
}

export function setScanPrepayResult(value: unknown): SetScanPrepayResult {
  const [code, detail, state] = asReply(value, 'set-scan-prepay') as [number, string?, string?];
  switch (code) {
    case 1:
    case 2:
      return { kind: 'ok', prepayId: detail as string };
    case 0:
      return { kind: 'not_open', orderStatus: detail as OrderStatus, state: state as AttemptState };
    case -1:
      return { kind: 'not_found' };
    default:
      return unexpected('set-scan-prepay', code);
  }
}

export function markPaidResult(value: unknown, transactionId: string): MarkPaidResult {
  const [code, detail, , refund] = asReply(value, 'mark-paid') as [
    number,
    string | undefined,
    unknown,
    unknown,
  ];
  switch (code) {
    case 1:
      return { kind: 'paid', previous: detail as OrderStatus };
    case 2:
      return { kind: 'duplicate', sameTransaction: true };
    case 3:
      return { kind: 'duplicate', sameTransaction: detail === transactionId };
    case 4:
      return { kind: 'second_payment', paidAttempt: detail as string, refund: String(refund) };
    case -1:
      return { kind: 'not_found' };
    case -2:
      return { kind: 'amount_mismatch', expectedFen: Number(detail) };
    case -4:
      return { kind: 'other_merchant' };
    default:
      return unexpected('mark-paid', code);
  }
}

export function markCombineResult(value: unknown): MarkCombineResult {
  const reply = asReply(value, 'mark-combine') as unknown[];
  const [code, detail, third] = reply as [number, unknown, unknown];
  const refunds = () => reply.slice(3).map(String);
  switch (code) {
    case 1:
      return { kind: 'paid', previous: detail as OrderStatus };
    case 2:
      return { kind: 'duplicate' };
    case 4:
      return { kind: 'second_payment', paidAttempt: String(detail), refunds: refunds() };
    case 5:
      return { kind: 'partial', previous: detail as OrderStatus, refunds: refunds() };
    case 6:
      return { kind: 'failed' };
    case 7:
      return { kind: 'progress', paidCount: Number(detail) };
    case -1:
      return { kind: 'not_found' };
    case -2:
      return { kind: 'amount_mismatch', outTradeNo: String(detail), expectedFen: Number(third) };
    case -3:
      return { kind: 'other_transaction', outTradeNo: String(detail) };
    case -4:
      return { kind: 'other_merchant', outTradeNo: String(detail) };
    default:
      return unexpected('mark-combine', code);
  }
}

export function endAttemptResult(value: unknown): EndAttemptResult {
  const [code, state] = asReply(value, 'end-attempt') as [number, string | undefined];
  switch (code) {
    case 1:
      return { kind: 'ended' };
    case 0:
      return { kind: 'not_open', state: state as AttemptState };
    case -1:
      return { kind: 'not_found' };
    default:
      return unexpected('end-attempt', code);
  }
}

export function closeAttemptResult(value: unknown): CloseAttemptResult {
  const [code] = asReply(value, 'close-attempt') as [number];
  switch (code) {
    case 1:
      return { kind: 'closed' };
    case 2:
      return { kind: 'already_closed' };
    case -3:
      return { kind: 'paid' };
    case -1:
      return { kind: 'not_found' };
    default:
      return unexpected('close-attempt', code);
  }
}

export function markClosedResult(value: unknown): MarkClosedResult {
  const [code, detail] = asReply(value, 'mark-closed') as [number, string | undefined];
  switch (code) {
    case 1:
      return { kind: 'closed' };
    case 2:
      return { kind: 'already_closed' };
    case -1:
      return { kind: 'not_found' };
    case -3:
      return { kind: 'already_paid' };
    case -5:
      return { kind: 'attempt_open', outTradeNo: detail as string };
    default:
      return unexpected('mark-closed', code);
  }
}

export function askRefundResult(value: unknown): AskRefundResult {
  const [code] = asReply(value, 'refund-request') as [number];
  switch (code) {
    case 1:
      return { kind: 'asked' };
    case 2:
      return { kind: 'open' };
    case 0:
      return { kind: 'not_paid' };
    case -1:
      return { kind: 'not_found' };
    default:
      return unexpected('refund-request', code);
  }
}

export function decideRefundResult(value: unknown): DecideRefundResult {
  const [code, state] = asReply(value, 'refund-request') as [number, string | undefined];
  switch (code) {
    case 1:
      return { kind: 'decided' };
    case 2:
      return { kind: 'not_open', state: state ?? '' };
    case -1:
      return { kind: 'not_found' };
    default:
      return unexpected('refund-request', code);
  }
}

export function resolveIdentityResult(value: unknown): ResolveIdentityResult {
  const [code, userId] = asReply(value, 'resolve-identity') as [number, string];
  switch (code) {
    case 1:
      return { userId, created: true };
    case 2:
      return { userId, created: false };
    default:
      return unexpected('resolve-identity', code);
  }
}

export type RequestRefundCode =
  | { kind: 'requested'; outRefundNo: string; seq: number; dueAt: number; totalFen: number }
  | { kind: 'not_paid' }
  | { kind: 'too_much'; remainingFen: number }
  | { kind: 'too_many' }
  | { kind: 'too_late' }
  | { kind: 'not_found' };

export function requestRefundResult(value: unknown): RequestRefundCode {
  const [code, a, b, c, d] = asReply(value, 'request-refund') as [number, unknown, unknown, unknown, unknown];
  switch (code) {
    case 1:
      return {
        kind: 'requested',
        outRefundNo: String(a),
        seq: Number(b),
        dueAt: Number(c),
        totalFen: Number(d),
      };
    case 0:
      return { kind: 'not_paid' };
    case -1:
      return { kind: 'not_found' };
    case -2:
      return { kind: 'too_much', remainingFen: Number(a) };
    case -4:
      return { kind: 'too_many' };
    case -6:
      return { kind: 'too_late' };
    default:
      return unexpected('request-refund', code);
  }
}

export function markRefundSentResult(value: unknown): MarkRefundSentResult {
  const [code, state] = asReply(value, 'mark-refund-sent') as [number, string | undefined];
  switch (code) {
    case 1:
      return { kind: 'sent' };
    case 0:
      return { kind: 'not_pending', state: state as RefundRecordState };
    case -1:
      return { kind: 'not_found' };
    default:
      return unexpected('mark-refund-sent', code);
  }
}

export function settleRefundResult(value: unknown): SettleRefundResult {
  const [code, detail] = asReply(value, 'settle-refund') as [number, string | undefined];
  switch (code) {
    case 1:
      return { kind: 'settled', orderStatus: detail as OrderStatus };
    case 2:
      return { kind: 'unchanged', state: detail as RefundRecordState };
    case -1:
      return { kind: 'not_found' };
    case -4:
      return { kind: 'other_merchant' };
    default:
      return unexpected('settle-refund', code);
  }
}

export function answerPaidMessageResult(value: unknown): AnswerPaidMessageResult {
  const [code, detail] = asReply(value, 'answer-paid-message') as [number, unknown];
  switch (code) {
    case 1:
      return { kind: 'answered', queued: Number(detail) === 1 };
    case 2:
      return { kind: 'already', state: String(detail) as PaidMessageState };
    case 0:
      return { kind: 'closed' };
    case -1:
      return { kind: 'not_found' };
    default:
      return unexpected('answer-paid-message', code);
  }
}

export function finishPaidMessageResult(value: unknown): FinishPaidMessageResult {
  switch (Number(value)) {
    case 1:
      return { kind: 'finished' };
    case 0:
      return { kind: 'not_accepted' };
    case -1:
      return { kind: 'not_found' };
    default:
      return unexpected('finish-paid-message', value);
  }
}

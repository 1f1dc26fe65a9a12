/**
 * The one mapping from the Lua scripts' numbered results (documented in each script's header) to typed results.
 * An unexpected code is a bug, never silently treated as success.
 */
import type { OrderStatus } from '@mp-pay/shared/api';
import type { MarkClosedResult, MarkPaidResult, SetPrepayResult } from '../types.ts';

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

export function setPrepayResult(value: unknown): SetPrepayResult {
  const [code, status] = asReply(value, 'set-prepay') as [number, string | undefined];
  switch (code) {
    case 1:
      return { kind: 'ok' };
    case 0:
      return { kind: 'not_pending', status: status as OrderStatus };
    case -1:
      return { kind: 'not_found' };
    default:
      return unexpected('set-prepay', code);
  }
}

export function markPaidResult(value: unknown, transactionId: string): MarkPaidResult {
  const [code, detail] = asReply(value, 'mark-paid') as [number, string | undefined];
  switch (code) {
    case 1:
      return { kind: 'paid', previous: detail as OrderStatus };
    case 2:
      return { kind: 'duplicate', sameTransaction: true };
    case 3:
      return { kind: 'duplicate', sameTransaction: detail === transactionId };
    case -1:
      return { kind: 'not_found' };
    case -2:
      return { kind: 'amount_mismatch', expectedFen: Number(detail) };
    default:
      return unexpected('mark-paid', code);
  }
}

export function markClosedResult(value: unknown): MarkClosedResult {
  const [code] = asReply(value, 'mark-closed') as [number];
  switch (code) {
    case 1:
      return { kind: 'closed' };
    case 2:
      return { kind: 'already_closed' };
    case -1:
      return { kind: 'not_found' };
    case -3:
      return { kind: 'already_paid' };
    default:
      return unexpected('mark-closed', code);
  }
}

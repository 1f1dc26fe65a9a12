/**
 * Reading what placing a trade left on an attempt (gateway/types.ts `Prepared`), the same way everywhere.
 */
import type { Prepared } from './types.ts';

/**
 * Whether WeChat may know the trade: something it answered was recorded. A mode-1 long link alone is ours, not
 * WeChat's (the trade is placed when a buyer scans it).
 */
export function isPlaced(prepared: Prepared | undefined): boolean {
  if (prepared === undefined) return false;
  return (
    prepared.prepayId !== undefined || prepared.codeUrl !== undefined || prepared.redirectUrl !== undefined
  );
}

/** The code a Native QR shows: mode 1's long link, else the placed trade's code_url. */
export function nativeCode(prepared: Prepared | undefined): string | undefined {
  return prepared?.link ?? prepared?.codeUrl;
}

/**
 * Logs for the developer through WeChat's real-time log (`wx.getRealtimeLogManager`, read in the admin
 * console under 开发管理 → 运维中心 → 实时日志), mirrored to the console for DevTools. Never throws: a log
 * that cannot be written must not break the call that wanted to write it.
 */
import { withoutQuery } from './env-version';

export interface RequestFailure {
  method: string;
  /** Logged without its query string (ids, cursors, anything secret stay out of the log). */
  url: string;
  /** HTTP status, 0 when no response arrived. */
  status: number;
  errMsg: string;
}

export function logRequestFailure(failure: RequestFailure): void {
  const entry = { ...failure, url: withoutQuery(failure.url) };
  try {
    const log = wx.getRealtimeLogManager();
    // addFilterMsg is newer than the log manager itself: a base library without it still gets the entry.
    if (typeof log.addFilterMsg === 'function') log.addFilterMsg('request-failed');
    log.error('[mp-pay] request failed', entry);
  } catch {
    // No real-time log on this base library: the console line below is all there is.
  }
  console.warn('[mp-pay] request failed', entry);
}

export function logError(message: string, detail: Record<string, unknown>): void {
  try {
    wx.getRealtimeLogManager().error(`[mp-pay] ${message}`, detail);
  } catch {
    // As above.
  }
  console.error(`[mp-pay] ${message}`, detail);
}

import type { Payload } from './load.ts';
import { signedNotification, signedNotificationV3 } from './notification.ts';

/**
 * Notification workloads shared by the peer baseline and the real server, so both see identical requests.
 * Orders are named and priced deterministically from a run id, which lets a child process (the baseline app)
 * rebuild the same pending orders from two numbers instead of receiving thousands of them over IPC.
 */
export function orderIdFor(runId: string, index: number): string {
  // The server's order id shape (apps/server/src/domain/ids.ts): 14 digits of time and 16 letters or digits.
  return `20260101000000${`${runId}${String(index).padStart(8, '0')}`.slice(-16).padStart(16, '0')}`;
}

/** The out_trade_no notifications name: the order's first payment attempt. */
export function orderNo(runId: string, index: number): string {
  return `${orderIdFor(runId, index)}01`;
}

export function amountFor(index: number): number {
  return 100 + ((index * 37) % 9900);
}

/** Small deterministic PRNG (mulberry32) so the duplicate pattern is the same for every contender. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface NotifyWorkload<P extends Payload = string> {
  /** Request bodies (with their headers, for APIv3) in send order. */
  bodies: P[];
  /** How many distinct orders the bodies pay (each must end PAID exactly once). */
  distinctOrders: number;
  duplicates: number;
}

/**
 * `requests` notifications over orders [firstIndex, firstIndex + n): with duplicateRatio 0 each pays a new
 * order; with 0.3, 30% of the requests re-deliver a notification already sent (WeChat's retries and its
 * concurrent deliveries from several servers), the rest pay new orders.
 */
export function notifyWorkload(
  runId: string,
  firstIndex: number,
  requests: number,
  duplicateRatio = 0,
): NotifyWorkload {
  const random = prng(0x5eed + firstIndex);
  const bodies: string[] = [];
  let next = firstIndex;
  let duplicates = 0;
  for (let i = 0; i < requests; i++) {
    // Exactly the requested share (error diffusion), spread evenly; which earlier body repeats is random.
    const dueDuplicates = Math.floor((i + 1) * duplicateRatio);
    if (bodies.length > 0 && duplicates < dueDuplicates) {
      bodies.push(bodies[Math.floor(random() * bodies.length)] as string);
      duplicates++;
      continue;
    }
    bodies.push(
      signedNotification({ outTradeNo: orderNo(runId, next), totalFee: amountFor(next), nonce: `n${next}` })
        .xml,
    );
    next++;
  }
  return { bodies, distinctOrders: next - firstIndex, duplicates };
}

/**
 * `requests` APIv3 notifications, each paying a new order of [firstIndex, firstIndex + requests), signed now:
 * build them just before they are sent, since the server refuses a Wechatpay-Timestamp more than 300 s away.
 * Each costs one RSA-2048 signature here (about 0.3 ms).
 */
export function notifyWorkloadV3(
  runId: string,
  firstIndex: number,
  requests: number,
): NotifyWorkload<{ body: string; headers: Record<string, string> }> {
  const timestamp = Math.floor(Date.now() / 1000);
  const bodies = Array.from({ length: requests }, (_, i) => {
    const index = firstIndex + i;
    const { body, headers } = signedNotificationV3({
      outTradeNo: orderNo(runId, index),
      totalFee: amountFor(index),
      timestamp,
    });
    return { body, headers };
  });
  return { bodies, distinctOrders: requests, duplicates: 0 };
}

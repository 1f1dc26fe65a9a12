import { measureCpu, type CpuShares } from '../lib/cpu.ts';
import { postBodies, type LoadResult } from '../lib/load.ts';
import { notifyWorkload, type NotifyWorkload } from '../lib/workload.ts';

/**
 * The notification workloads, identical for every contender: a warm-up, distinct pending orders at full
 * speed, a 30%-duplicate mix at full speed, and a fixed 1,000 req/s run for latency. Every request is a
 * validly signed notification for an order the contender holds as pending with that amount.
 */
export interface NotifyPlan {
  warmup: NotifyWorkload;
  distinct: NotifyWorkload;
  mix: NotifyWorkload;
  fixed: NotifyWorkload;
  /** Orders [0, totalOrders) must exist as pending before the run. */
  totalOrders: number;
}

export interface NotifySizes {
  warmup: number;
  distinct: number;
  mix: number;
  fixedRate: number;
  fixedSeconds: number;
}

export function planNotify(runId: string, sizes: NotifySizes): NotifyPlan {
  let next = 0;
  const take = (requests: number, duplicateRatio: number) => {
    const w = notifyWorkload(runId, next, requests, duplicateRatio);
    next += w.distinctOrders;
    return w;
  };
  const warmup = take(sizes.warmup, 0);
  const distinct = take(sizes.distinct, 0);
  const mix = take(sizes.mix, 0.3);
  const fixed = take(sizes.fixedRate * sizes.fixedSeconds, 0);
  return { warmup, distinct, mix, fixed, totalOrders: next };
}

export interface NotifyResults {
  distinct: LoadResult;
  mix: LoadResult;
  fixed: LoadResult;
  /** Cores used by each process during the distinct-orders run. */
  cpu: CpuShares;
}

export const CONNECTIONS = 32;
/** Divides 1,000 evenly so every connection gets the same share of the fixed rate. */
const FIXED_RATE_CONNECTIONS = 10;

export async function runNotify(
  notifyUrl: string,
  plan: NotifyPlan,
  fixedRate: number,
  pids: Record<string, number | undefined>,
): Promise<NotifyResults> {
  const fast = (w: NotifyWorkload) =>
    postBodies({ url: notifyUrl, bodies: w.bodies, connections: CONNECTIONS });
  await fast(plan.warmup);
  const { result: distinct, cores: cpu } = await measureCpu({ ...pids, 'load generator': process.pid }, () =>
    fast(plan.distinct),
  );
  const mix = await fast(plan.mix);
  const fixed = await postBodies({
    url: notifyUrl,
    bodies: plan.fixed.bodies,
    connections: FIXED_RATE_CONNECTIONS,
    overallRate: fixedRate,
  });
  return { distinct, mix, fixed, cpu };
}

import { measureCpu, type CpuShares } from '../lib/cpu.ts';
import { postBodies, SUCCESS_RE, type LoadResult, type Payload, type ReplyRule } from '../lib/load.ts';
import { pacedPost, summarisePaced, type PacedResult } from '../lib/paced.ts';
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
  /** Capacity sweep: one workload of distinct orders per connection count in SWEEP_CONNECTIONS. */
  sweep: NotifyWorkload[];
  /** Orders [0, totalOrders) must exist as pending before the run. */
  totalOrders: number;
}

export interface NotifySizes {
  warmup: number;
  distinct: number;
  mix: number;
  fixedRate: number;
  fixedSeconds: number;
  /** Requests per connection count of the capacity sweep. */
  sweepEach: number;
}

/** A closed loop's throughput is bounded by connections ÷ latency; the sweep finds each contender's peak. */
export const SWEEP_CONNECTIONS = [16, 32, 64, 128] as const;

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
  const sweep = SWEEP_CONNECTIONS.map(() => take(sizes.sweepEach, 0));
  return { warmup, distinct, mix, fixed, sweep, totalOrders: next };
}

/** The distinct-orders phase: REPEATS runs, the median one reported. */
export interface DistinctResults {
  distinct: LoadResult;
  /** Cores used by each process during the (median) distinct-orders run. */
  cpu: CpuShares;
  /** Slowest and fastest req/s of the distinct-orders repeats. */
  distinctRange: [number, number];
}

export interface NotifyResults extends DistinctResults {
  mix: LoadResult;
  fixed: LoadResult;
  /** The best run of the capacity sweep, and how many connections it used. */
  peak: LoadResult & { connections: number };
}

export const CONNECTIONS = 32;
const REPEATS = 3;

export interface Contender {
  notifyUrl: string;
  /** Processes whose CPU is reported (the contender's server, Redis). */
  pids: Record<string, number | undefined>;
  /** The request headers and successful replies of its protocol; APIv2 (SUCCESS XML) by default. */
  reply?: ReplyRule;
}

/**
 * The distinct-orders phase in REPEATS slices of `bodies`, contenders alternating: the median run is reported
 * (its rate, latency and CPU; errors and requests count every run), the spread says how much this machine moves
 * from one run to the next.
 */
export async function runDistinct<K extends string>(
  contenders: Record<K, Contender>,
  bodies: readonly Payload[],
): Promise<Record<K, DistinctResults>> {
  const names = Object.keys(contenders) as K[];
  const perRepeat = Math.ceil(bodies.length / REPEATS);
  const runs = new Map<K, { result: LoadResult; cores: CpuShares }[]>(names.map((n) => [n, []]));
  for (let r = 0; r < REPEATS; r++) {
    for (const name of names) {
      const c = contenders[name];
      const slice = bodies.slice(r * perRepeat, (r + 1) * perRepeat);
      runs.get(name)?.push(
        await measureCpu({ ...c.pids, 'load generator': process.pid }, () =>
          postBodies({
            url: c.notifyUrl,
            bodies: slice,
            connections: CONNECTIONS,
            ...(c.reply ? { reply: c.reply } : {}),
          }),
        ),
      );
    }
  }
  const results = {} as Record<K, DistinctResults>;
  for (const name of names) {
    const sorted = [...(runs.get(name) ?? [])].sort((a, b) => a.result.rps - b.result.rps);
    const median = sorted[Math.floor(sorted.length / 2)];
    if (!median) throw new Error('no distinct-orders run');
    const all = sorted.map((x) => x.result);
    results[name] = {
      distinct: {
        ...median.result,
        requests: all.reduce((a, x) => a + x.requests, 0),
        errors: all.reduce((a, x) => a + x.errors, 0),
      },
      cpu: median.cores,
      distinctRange: [sorted[0]?.result.rps ?? 0, sorted.at(-1)?.result.rps ?? 0],
    };
  }
  return results;
}

/**
 * Runs every phase for every contender, alternating contenders phase by phase, so that background load on a
 * shared machine (which comes and goes) falls on both rather than on whoever happened to run second. APIv2
 * notifications (the plan's bodies and the fixed-rate phase's SUCCESS check); APIv3 runs runDistinct alone.
 */
export async function runNotify<K extends string>(
  contenders: Record<K, Contender>,
  plan: NotifyPlan,
  fixedRate: number,
): Promise<Record<K, NotifyResults>> {
  const names = Object.keys(contenders) as K[];
  const fast = (c: Contender, w: NotifyWorkload) =>
    postBodies({ url: c.notifyUrl, bodies: w.bodies, connections: CONNECTIONS });
  const results = {} as Record<K, Partial<NotifyResults>>;
  for (const name of names) {
    results[name] = {};
    await fast(contenders[name], plan.warmup);
  }
  const distinct = await runDistinct(contenders, plan.distinct.bodies);
  for (const name of names) Object.assign(results[name], distinct[name]);
  for (const name of names) results[name].mix = await fast(contenders[name], plan.mix);
  for (const [i, connections] of SWEEP_CONNECTIONS.entries()) {
    for (const name of names) {
      const bodies = plan.sweep[i]?.bodies ?? [];
      const run = {
        ...(await postBodies({ url: contenders[name].notifyUrl, bodies, connections })),
        connections,
      };
      const best = results[name].peak;
      if (!best || (run.errors === 0 && run.rps > best.rps)) results[name].peak = run;
    }
  }
  // The fixed-rate phase in slices, contenders alternating slice by slice, so that a burst of background load
  // lands on both tails rather than on one.
  const slices = 4;
  const per = Math.ceil(plan.fixed.bodies.length / slices);
  const paced = new Map<K, PacedResult[]>(names.map((n) => [n, []]));
  for (let i = 0; i < slices; i++) {
    for (const name of names) {
      paced.get(name)?.push(
        await pacedPost({
          url: contenders[name].notifyUrl,
          bodies: plan.fixed.bodies.slice(i * per, (i + 1) * per),
          rate: fixedRate,
          headers: { 'content-type': 'text/xml; charset=utf-8' },
          isSuccess: (body) => SUCCESS_RE.test(body),
        }),
      );
    }
  }
  for (const name of names) results[name].fixed = summarisePaced(paced.get(name) ?? []);
  return results as Record<K, NotifyResults>;
}

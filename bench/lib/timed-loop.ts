/**
 * Plain timed loops for micro-benchmarks. `fn` runs in batches until the time is up; async functions are
 * awaited one at a time, which is how a request handler calls them. `compareOps` warms every contender up
 * (the JIT settles), then measures them in interleaved rounds and keeps each one's median, so neither GC
 * pauses nor "whoever ran first" decide the comparison.
 */
export interface LoopOptions {
  warmupMs?: number;
  roundMs?: number;
  rounds?: number;
}

type Fn = () => unknown;

async function runFor(fn: Fn, ms: number, batch = 100): Promise<number> {
  const start = process.hrtime.bigint();
  const until = start + BigInt(Math.round(ms * 1e6));
  let ops = 0;
  let now = start;
  while (now < until) {
    for (let i = 0; i < batch; i++) {
      const out = fn();
      if (out instanceof Promise) await out;
    }
    ops += batch;
    now = process.hrtime.bigint();
  }
  return (ops * 1e9) / Number(now - start);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

export async function compareOps<K extends string>(
  contenders: Record<K, Fn>,
  { warmupMs = 250, roundMs = 200, rounds = 5 }: LoopOptions = {},
): Promise<Record<K, number>> {
  const names = Object.keys(contenders) as K[];
  for (const name of names) await runFor(contenders[name], warmupMs);
  const samples = new Map<K, number[]>(names.map((n) => [n, []]));
  for (let r = 0; r < rounds; r++) {
    for (const name of names) samples.get(name)?.push(await runFor(contenders[name], roundMs));
  }
  return Object.fromEntries(names.map((n) => [n, median(samples.get(n) ?? [])])) as Record<K, number>;
}

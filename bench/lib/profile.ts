import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Where a process's CPU went, from a V8 `--cpu-prof` profile: every sample is charged to one bucket, chosen by
 * the most specific code on its stack (an XML parse inside a Koa middleware counts as XML parsing). This is what
 * RESULTS.md uses to say why a number is what it is, instead of guessing.
 */
interface CallFrame {
  functionName: string;
  url: string;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Samples of the profiler's own start-up call: not part of the workload, left out entirely. */
const PROFILER = 'profiler';

/** Buckets in priority order: the first that matches any frame of a stack gets the sample. */
const BUCKETS: [string, (f: CallFrame) => boolean][] = [
  [PROFILER, (f) => f.url === 'node:inspector' || f.url === 'node:inspector/promises'],
  ['idle', (f) => f.functionName === '(idle)'],
  ['garbage collection', (f) => f.functionName === '(garbage collector)'],
  ['XML parse (hardened)', (f) => /wechatpay\/xml\.ts|fast-xml-parser/.test(f.url)],
  ['signature check', (f) => /wechatpay\/sign\.ts/.test(f.url)],
  ['Redis client', (f) => /ioredis|store\/redis\//.test(f.url)],
  [
    'logging',
    (f) => /node_modules\/(pino|pino-std-serializers|fast-redact|sonic-boom)|src\/logger\.ts/.test(f.url),
  ],
  [
    'HTTP + Koa',
    (f) =>
      /^node:(_http|net|internal\/stream|internal\/http|stream)/.test(f.url) ||
      /node_modules\/(koa|@koa|koa-compose|delegates|statuses|on-finished)|apps\/server\/src\/(http|app\.ts)/.test(
        f.url,
      ),
  ],
];

export interface ProfileShare {
  bucket: string;
  share: number;
}

export function summariseProfile(profile: CpuProfile): ProfileShare[] {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const bucketOfNode = new Map<number, string>();
  const bucketOf = (id: number): string => {
    const cached = bucketOfNode.get(id);
    if (cached) return cached;
    const frames: CallFrame[] = [];
    for (let x: number | undefined = id; x !== undefined; x = parent.get(x)) {
      const node = byId.get(x);
      if (node) frames.push(node.callFrame);
    }
    const found = BUCKETS.find(([, test]) => frames.some(test))?.[0] ?? 'other (application, runtime)';
    bucketOfNode.set(id, found);
    return found;
  };
  const totals = new Map<string, number>();
  let all = 0;
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    const bucket = bucketOf(id);
    if (bucket === PROFILER) return;
    all += dt;
    totals.set(bucket, (totals.get(bucket) ?? 0) + dt);
  });
  return [...totals.entries()]
    .map(([bucket, t]) => ({ bucket, share: all > 0 ? t / all : 0 }))
    .sort((a, b) => b.share - a.share);
}

/** The main-thread profile in a --cpu-prof directory (the largest file; worker threads write small ones). */
export function readProfile(dir: string): CpuProfile {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .map((f) => join(dir, f));
  const largest = files.sort((a, b) => readFileSync(b).length - readFileSync(a).length)[0];
  if (!largest) throw new Error(`no .cpuprofile in ${dir}`);
  return JSON.parse(readFileSync(largest, 'utf8')) as CpuProfile;
}

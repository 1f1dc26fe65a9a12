import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Where a process's CPU went, from a V8 `--cpu-prof` profile: every sample is charged to one bucket, chosen by
 * the innermost frame of its stack that belongs to one (a native `Hash.digest` under the signature check counts
 * as the signature check; the XML parse called from a route handler counts as XML parsing, not as HTTP). This is
 * what RESULTS.md uses to say why a number is what it is, instead of guessing.
 *
 * (Until issue 13 the first bucket matching any frame won, so everything a request handler called — XML parse,
 * signature, the notify service — was charged to "HTTP + Koa", and the XML/signature patterns had gone stale
 * with the protocol code's move to packages/shared/src/v2; the HTTP share was overstated.)
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
const OTHER = 'other (application, runtime)';

/**
 * Socket and stream plumbing is shared: a write under ioredis is the Redis client's, a write under Node's
 * ServerResponse is HTTP's. Such frames are charged to their nearest owner up the stack, to HTTP only if none.
 */
const TRANSPORT = (f: CallFrame) => /^node:(net|internal\/stream|stream|internal\/streams)/.test(f.url);
const TRANSPORT_BUCKET = 'HTTP (Node, Koa, notify fast path)';

/** For each frame (innermost first) the first bucket that claims it; a stack no frame of which is claimed: OTHER. */
const BUCKETS: [string, (f: CallFrame) => boolean][] = [
  ['idle', (f) => f.functionName === '(idle)'],
  ['garbage collection', (f) => f.functionName === '(garbage collector)'],
  ['XML parse (hardened)', (f) => /shared\/src\/v2\/xml\.ts|fast-xml-parser/.test(f.url)],
  ['signature check', (f) => /shared\/src\/v2\/sign\.ts/.test(f.url)],
  ['Redis client', (f) => /ioredis|redis-parser|store\/redis\//.test(f.url)],
  [
    'logging',
    (f) =>
      /node_modules\/(\.pnpm\/[^/]+\/node_modules\/)?(pino|@pinojs|pino-std-serializers|fast-redact|sonic-boom)\/|src\/logger\.ts/.test(
        f.url,
      ),
  ],
  ['metrics', (f) => /prom-client|apps\/server\/src\/metrics\//.test(f.url)],
  [
    'HTTP (Node, Koa, notify fast path)',
    (f) =>
      /^node:(_http|internal\/http)/.test(f.url) ||
      /node_modules\/(\.pnpm\/[^/]+\/node_modules\/)?(koa|@koa|koa-compose|delegates|statuses|on-finished|koa-body)\//.test(
        f.url,
      ) ||
      /apps\/server\/src\/(http|app\.ts|server\.ts|routes\/)/.test(f.url),
  ],
  [
    'notify service, gateway, store codec',
    (f) => /apps\/server\/src\/(services|gateway|store)\//.test(f.url),
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
    let found: string | undefined;
    let transport = false;
    let profiler = false;
    for (let x: number | undefined = id; x !== undefined; x = parent.get(x)) {
      const frame = byId.get(x)?.callFrame;
      if (!frame) continue;
      if (frame.url === 'node:inspector' || frame.url === 'node:inspector/promises') profiler = true;
      found ??= BUCKETS.find(([, test]) => test(frame))?.[0];
      if (found === undefined && TRANSPORT(frame)) transport = true;
    }
    const bucket = profiler ? PROFILER : (found ?? (transport ? TRANSPORT_BUCKET : OTHER));
    bucketOfNode.set(id, bucket);
    return bucket;
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

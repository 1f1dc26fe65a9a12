import { Agent, request } from 'node:http';
import type { LoadResult } from './load.ts';

/**
 * An open-loop load generator for "latency at a fixed rate": request i is due at start + i / rate, whether or
 * not earlier ones have answered, and its latency is measured from that due time (so a stall that delays later
 * sends is charged to them: no coordinated omission).
 *
 * autocannon's own rate limit cannot do this: each connection sends its per-second quota as fast as it can and
 * then waits for the next one-second tick, so "1,000 req/s" becomes a burst of 1,000 requests at full speed
 * followed by silence, and its p99 is that of a burst.
 */
export async function pacedPost(options: {
  url: string;
  bodies: string[];
  rate: number;
  headers: Record<string, string>;
  isSuccess: (body: string) => boolean;
  maxSockets?: number;
}): Promise<PacedResult> {
  const target = new URL(options.url);
  const agent = new Agent({ keepAlive: true, maxSockets: options.maxSockets ?? 64 });
  const interval = 1000 / options.rate;
  const latencies: number[] = [];
  let errors = 0;
  let lastDone = 0;

  const fire = (body: string, due: number) =>
    new Promise<void>((resolve) => {
      const done = (ok: boolean) => {
        const now = performance.now();
        latencies.push(now - due);
        lastDone = Math.max(lastDone, now);
        if (!ok) errors++;
        resolve();
      };
      const req = request(
        {
          agent,
          host: target.hostname,
          port: target.port,
          path: target.pathname,
          method: 'POST',
          headers: { ...options.headers, 'content-length': Buffer.byteLength(body) },
          timeout: 10_000,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            done(res.statusCode === 200 && options.isSuccess(Buffer.concat(chunks).toString('utf8'))),
          );
          res.on('error', () => done(false));
        },
      );
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', () => done(false));
      req.end(body);
    });

  const inFlight: Promise<void>[] = [];
  const start = performance.now() + 20;
  let next = 0;
  while (next < options.bodies.length) {
    const now = performance.now();
    while (next < options.bodies.length && start + next * interval <= now) {
      inFlight.push(fire(options.bodies[next] as string, start + next * interval));
      next++;
    }
    await new Promise((r) => setTimeout(r, 1));
  }
  await Promise.all(inFlight);
  agent.destroy();

  return { latencies, errors, seconds: (lastDone - start) / 1000 };
}

export interface PacedResult {
  /** Milliseconds from each request's due time to its response. */
  latencies: number[];
  errors: number;
  seconds: number;
}

/** Pools several paced runs (e.g. interleaved with another contender's) into one summary. */
export function summarisePaced(runs: PacedResult[]): LoadResult {
  const latencies = runs.flatMap((r) => r.latencies).sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
  const seconds = runs.reduce((a, r) => a + r.seconds, 0);
  return {
    requests: latencies.length,
    rps: seconds > 0 ? latencies.length / seconds : 0,
    p50: at(0.5),
    p99: at(0.99),
    errors: runs.reduce((a, r) => a + r.errors, 0),
  };
}

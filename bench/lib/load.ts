import autocannon from 'autocannon';

/**
 * autocannon runs on loopback, summarised the same way everywhere.
 *
 * Throughput is timed here, from the first request prepared to the last response received: autocannon only
 * finishes a run on its one-second sampling tick, so its own `duration` rounds an `amount`-bounded run up to
 * the next whole second (a 3.2 s run reports 4.0 s) and would understate short runs by up to a third.
 */
export interface LoadResult {
  requests: number;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
}

export type RequestSpec = autocannon.RequestSpec;

/** Runs autocannon with one request template; `spec.setupRequest` may fill in each request's body/headers. */
export async function load(
  options: Omit<autocannon.Options, 'requests'>,
  spec: RequestSpec,
): Promise<LoadResult> {
  let first: number | undefined;
  let last: number | undefined;
  const timed: RequestSpec = {
    ...spec,
    setupRequest: (request, context) => {
      first ??= performance.now();
      return spec.setupRequest ? spec.setupRequest(request, context) : request;
    },
    onResponse: (status, body, context, headers) => {
      last = performance.now();
      spec.onResponse?.(status, body, context, headers);
    },
  };
  const result = await autocannon({ ...options, requests: [timed] });
  const total = result.requests.total;
  const seconds =
    first !== undefined && last !== undefined && last > first ? (last - first) / 1000 : result.duration;
  return {
    requests: total,
    rps: total / seconds,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts + result.non2xx + result.mismatches,
  };
}

/**
 * POSTs pre-generated notification bodies in order. A notify endpoint answers HTTP 200 with FAIL XML when it
 * refuses a notification, so "error" here means anything that is not a SUCCESS reply: socket errors, timeouts,
 * non-2xx and bodies without return_code SUCCESS (mismatches).
 */
export const SUCCESS_RE = /<return_code>(?:<!\[CDATA\[)?SUCCESS(?:\]\]>)?<\/return_code>/;

export async function postBodies(options: {
  url: string;
  bodies: string[];
  connections: number;
}): Promise<LoadResult> {
  const { bodies } = options;
  let cursor = 0;
  return load(
    {
      url: options.url,
      connections: options.connections,
      amount: bodies.length,
      timeout: 10,
      verifyBody: (body) => SUCCESS_RE.test(body),
    },
    {
      method: 'POST',
      headers: { 'content-type': 'text/xml; charset=utf-8' },
      setupRequest: (request) => ({ ...request, body: bodies[cursor++ % bodies.length] ?? '' }),
    },
  );
}

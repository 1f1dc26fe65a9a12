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

interface RawResult extends Omit<LoadResult, 'errors'> {
  /** Socket errors and timeouts. */
  failed: number;
  non2xx: number;
  mismatches: number;
}

async function run(options: Omit<autocannon.Options, 'requests'>, spec: RequestSpec): Promise<RawResult> {
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
    failed: result.errors + result.timeouts,
    non2xx: result.non2xx,
    mismatches: result.mismatches,
  };
}

/** Runs autocannon with one request template; `spec.setupRequest` may fill in each request's body/headers. */
export async function load(
  options: Omit<autocannon.Options, 'requests'>,
  spec: RequestSpec,
): Promise<LoadResult> {
  const { failed, non2xx, mismatches, ...rest } = await run(options, spec);
  return { ...rest, errors: failed + non2xx + mismatches };
}

/**
 * A notify endpoint answers HTTP 200 with FAIL XML when it refuses an APIv2 notification: only a SUCCESS reply
 * is a success there.
 */
export const SUCCESS_RE = /<return_code>(?:<!\[CDATA\[)?SUCCESS(?:\]\]>)?<\/return_code>/;

/** One request: a body alone (sent with the run's headers) or a body with headers of its own (APIv3 signatures). */
export type Payload = string | { body: string; headers: Readonly<Record<string, string>> };

/** What every request of a run carries, and which replies count as a success. */
export interface ReplyRule {
  headers: Readonly<Record<string, string>>;
  isSuccess: (status: number, body: string) => boolean;
}

/** APIv2 notify_url: XML in, the SUCCESS XML back (HTTP 200). */
export const V2_NOTIFY: ReplyRule = {
  headers: { 'content-type': 'text/xml; charset=utf-8' },
  isSuccess: (status, body) => status >= 200 && status < 300 && SUCCESS_RE.test(body),
};

/** APIv3 notify_url: JSON in, HTTP 204 back (WeChat retries on anything else). */
export const V3_NOTIFY: ReplyRule = {
  headers: { 'content-type': 'application/json' },
  isSuccess: (status) => status === 204,
};

/**
 * POSTs pre-generated notification bodies in order, each with its own headers when it has any. "Error" means
 * anything that is not a successful reply by `reply` (APIv2 by default): socket errors, timeouts, and every
 * reply `reply.isSuccess` refuses (wrong status or body), each request counted once.
 */
export async function postBodies(options: {
  url: string;
  bodies: readonly Payload[];
  connections: number;
  reply?: ReplyRule;
}): Promise<LoadResult> {
  const { bodies } = options;
  const reply = options.reply ?? V2_NOTIFY;
  let cursor = 0;
  let refused = 0;
  const raw = await run(
    {
      url: options.url,
      connections: options.connections,
      amount: bodies.length,
      timeout: 10,
    },
    {
      method: 'POST',
      headers: { ...reply.headers },
      setupRequest: (request) => {
        const payload = bodies[cursor++ % bodies.length] ?? '';
        return typeof payload === 'string'
          ? { ...request, body: payload }
          : { ...request, body: payload.body, headers: { ...request.headers, ...payload.headers } };
      },
      onResponse: (status, body) => {
        if (!reply.isSuccess(status, body)) refused++;
      },
    },
  );
  // Non-2xx replies are among the refused ones: each failed request counts once.
  return { requests: raw.requests, rps: raw.rps, p50: raw.p50, p99: raw.p99, errors: raw.failed + refused };
}

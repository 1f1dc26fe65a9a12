import autocannon from 'autocannon';

/**
 * One autocannon run on loopback that POSTs pre-generated notification bodies in order. A notify endpoint
 * answers HTTP 200 with FAIL XML when it refuses a notification, so "error" here means anything that is not a
 * SUCCESS reply: socket errors, timeouts, non-2xx and bodies without return_code SUCCESS (mismatches).
 */
export interface LoadResult {
  requests: number;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
}

const SUCCESS_RE = /<return_code>(?:<!\[CDATA\[)?SUCCESS(?:\]\]>)?<\/return_code>/;

export async function postBodies(options: {
  url: string;
  bodies: string[];
  connections: number;
  overallRate?: number;
}): Promise<LoadResult> {
  const { bodies } = options;
  let cursor = 0;
  const result = await autocannon({
    url: options.url,
    connections: options.connections,
    amount: bodies.length,
    timeout: 10,
    ...(options.overallRate === undefined ? {} : { overallRate: options.overallRate }),
    verifyBody: (body) => SUCCESS_RE.test(body),
    requests: [
      {
        method: 'POST',
        headers: { 'content-type': 'text/xml; charset=utf-8' },
        setupRequest: (request) => ({ ...request, body: bodies[cursor++ % bodies.length] ?? '' }),
      },
    ],
  });
  return {
    requests: result.requests.total,
    rps: result.requests.total / result.duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts + result.non2xx + result.mismatches,
  };
}

/**
 * Sandbox mode only: is the local WeChat (apps/sandbox) answering? Without it nothing can be paid, signed in or
 * queried, and the symptom elsewhere is a vague "WeChat unavailable"; this names the cause, at startup (a warn
 * line) and in /readyz.
 */

/** `ok`, or why not: `unreachable: ECONNREFUSED 127.0.0.1:4010`, `unreachable: no answer within 1000 ms`… */
export async function probeSandbox(sandboxUrl: string, timeoutMs = 1000): Promise<string> {
  try {
    const res = await fetch(`${sandboxUrl}/sandbox/health`, { signal: AbortSignal.timeout(timeoutMs) });
    await res.body?.cancel();
    return res.ok ? 'ok' : `unhealthy: HTTP ${res.status} from ${sandboxUrl}/sandbox/health`;
  } catch (err) {
    return `unreachable: ${describe(err, timeoutMs)}`;
  }
}

interface SystemError {
  code?: unknown;
  address?: unknown;
  port?: unknown;
  message?: unknown;
  name?: unknown;
  cause?: unknown;
  errors?: unknown;
}

function describe(err: unknown, timeoutMs: number): string {
  const e = err as SystemError;
  if (e.name === 'TimeoutError' || e.name === 'AbortError') return `no answer within ${timeoutMs} ms`;
  // fetch wraps the socket error in `cause`; connecting to a name with several addresses gives an AggregateError.
  let cause = (e.cause ?? e) as SystemError;
  if (Array.isArray(cause.errors) && cause.errors.length > 0 && cause.code === undefined) {
    cause = cause.errors[0] as SystemError;
  }
  if (typeof cause.code === 'string') {
    const where =
      typeof cause.address === 'string'
        ? ` ${cause.address}${typeof cause.port === 'number' ? `:${cause.port}` : ''}`
        : '';
    return `${cause.code}${where}`;
  }
  return typeof cause.message === 'string' ? cause.message : String(err);
}

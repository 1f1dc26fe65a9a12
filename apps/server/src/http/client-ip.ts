import { isIP } from 'node:net';

/**
 * spbill_create_ip for unifiedorder: the buyer's address as Koa computes it (X-Forwarded-For is honoured only
 * for TRUST_PROXY hops, set on the Koa app), IPv4-mapped IPv6 unwrapped. Falls back to 127.0.0.1 only when the
 * socket address is unusable, which WeChat would refuse anyway.
 */
export function clientIp(ip: string): string {
  const unwrapped = ip.startsWith('::ffff:') ? ip.slice(7) : ip;
  return isIP(unwrapped) ? unwrapped : '127.0.0.1';
}

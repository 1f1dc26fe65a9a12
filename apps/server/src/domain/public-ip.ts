/**
 * Is a buyer's address one WeChat can see on the public internet? H5 (MWEB) compares spbill_create_ip /
 * payer_client_ip with the address that opens the cashier, so a private, loopback, link-local, unique-local,
 * CGNAT or reserved address means we are behind a proxy we do not trust (TRUST_PROXY) or on a test network:
 * with H5_REQUIRE_PUBLIC_IP such a payment is refused before WeChat sees it (docs/channels.md "H5").
 */
import { BlockList, isIP } from 'node:net';

/** Not publicly routable (RFC 6890 special-purpose registries, plus multicast and the broadcast range). */
const NOT_PUBLIC = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8], // "this network"
  ['10.0.0.0', 8], // private (RFC 1918)
  ['100.64.0.0', 10], // carrier-grade NAT (RFC 6598)
  ['127.0.0.0', 8], // loopback
  ['169.254.0.0', 16], // link-local
  ['172.16.0.0', 12], // private
  ['192.0.0.0', 24], // IETF protocol assignments
  ['192.0.2.0', 24], // documentation (TEST-NET-1)
  ['192.168.0.0', 16], // private
  ['198.18.0.0', 15], // benchmarking
  ['198.51.100.0', 24], // documentation (TEST-NET-2)
  ['203.0.113.0', 24], // documentation (TEST-NET-3)
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, and 255.255.255.255
] as const) {
  NOT_PUBLIC.addSubnet(net, prefix, 'ipv4');
}
for (const [net, prefix] of [
  ['::', 128], // unspecified
  ['::1', 128], // loopback
  ['100::', 64], // discard-only
  ['2001:db8::', 32], // documentation
  ['fc00::', 7], // unique local
  ['fe80::', 10], // link-local
  ['fec0::', 10], // site-local (deprecated, still private)
  ['ff00::', 8], // multicast
] as const) {
  NOT_PUBLIC.addSubnet(net, prefix, 'ipv6');
}

/**
 * True for a well-formed, publicly routable IPv4 or IPv6 address. IPv4-mapped IPv6 (`::ffff:10.0.0.1`) is judged
 * by its IPv4 address (BlockList applies the IPv4 rules to it); a missing or malformed address is not public.
 */
export function isPublicIp(ip: string | undefined): boolean {
  if (ip === undefined) return false;
  const family = isIP(ip);
  if (family === 0) return false;
  // IPv4-compatible NAT64 and 6to4 wrap an IPv4 address as well: judge the address they carry.
  if (family === 6) {
    const embedded = embeddedIpv4(ip);
    if (embedded !== undefined) return isPublicIp(embedded);
  }
  return !NOT_PUBLIC.check(ip, family === 4 ? 'ipv4' : 'ipv6');
}

/** The IPv4 address inside a NAT64 (64:ff9b::/96) or 6to4 (2002::/16) address, if it is one. */
function embeddedIpv4(ip: string): string | undefined {
  const groups = expandIpv6(ip);
  if (groups === undefined) return undefined;
  const v4 = (hi: number, lo: number) => `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;
  if (groups[0] === 0x64 && groups[1] === 0xff9b && groups.slice(2, 6).every((g) => g === 0)) {
    return v4(groups[6] as number, groups[7] as number);
  }
  if (groups[0] === 0x2002) return v4(groups[1] as number, groups[2] as number);
  return undefined;
}

/** The eight 16-bit groups of an IPv6 address (dotted IPv4 tail included), or undefined. */
function expandIpv6(ip: string): number[] | undefined {
  let text = ip.toLowerCase();
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const parts = (dotted[1] as string).split('.').map(Number);
    const hex = (a: number, b: number) => ((a << 8) | b).toString(16);
    text =
      text.slice(0, dotted.index) +
      `${hex(parts[0] as number, parts[1] as number)}:${hex(parts[2] as number, parts[3] as number)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const head = halves[0] ? halves[0].split(':') : [];
  const tail = halves.length === 2 && halves[1] ? halves[1].split(':') : [];
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const groups = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...tail].map((g) =>
    parseInt(g, 16),
  );
  return groups.length === 8 && groups.every((g) => Number.isInteger(g) && g >= 0 && g <= 0xffff)
    ? groups
    : undefined;
}

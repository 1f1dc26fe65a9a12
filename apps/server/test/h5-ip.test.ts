/**
 * The H5 public-address rule (docs/channels.md "H5"): which buyer addresses may reach MWEB / h5 prepay with
 * H5_REQUIRE_PUBLIC_IP. Every special-purpose range is refused, IPv4 and IPv6, including IPv4 carried inside
 * IPv6 (mapped, NAT64, 6to4); well-formed public addresses pass; anything unreadable is refused.
 */
import { describe, expect, it } from 'vitest';
import { isPublicIp } from '../src/domain/public-ip.ts';

describe('isPublicIp', () => {
  it.each([
    ['8.8.8.8'],
    ['1.1.1.1'],
    ['223.5.5.5'],
    ['100.63.255.255'], // just below CGNAT
    ['100.128.0.0'], // just above CGNAT
    ['172.15.255.255'], // just below 172.16/12
    ['172.32.0.0'], // just above
    ['192.167.255.255'],
    ['192.169.0.0'],
    ['169.253.255.255'],
    ['11.0.0.1'],
    ['126.255.255.255'],
    ['128.0.0.1'],
    ['223.255.255.255'],
    ['2400:3200::1'], // Alibaba public DNS
    ['2001:4860:4860::8888'],
    ['2606:4700:4700::1111'],
    ['::ffff:8.8.8.8'],
    ['::ffff:808:808'],
    ['64:ff9b::808:808'], // NAT64 of 8.8.8.8
    ['2002:808:808::1'], // 6to4 of 8.8.8.8
  ])('%s is public', (ip) => {
    expect(isPublicIp(ip)).toBe(true);
  });

  it.each([
    // missing and malformed
    [undefined],
    [''],
    ['localhost'],
    ['1.2.3'],
    ['256.1.1.1'],
    ['8.8.8.8 '],
    ['::ffff:8.8.8.8.8'],
    ['fe80::1%eth0'],
    // IPv4 special ranges
    ['0.0.0.0'],
    ['0.1.2.3'],
    ['10.0.0.1'],
    ['10.255.255.255'],
    ['100.64.0.1'], // CGNAT
    ['100.127.255.255'],
    ['127.0.0.1'],
    ['127.255.255.254'],
    ['169.254.1.1'], // link-local
    ['172.16.0.1'],
    ['172.31.255.255'],
    ['192.0.0.8'],
    ['192.0.2.1'],
    ['192.168.1.10'],
    ['198.18.0.1'],
    ['198.19.255.255'],
    ['198.51.100.7'],
    ['203.0.113.9'],
    ['224.0.0.1'], // multicast
    ['239.255.255.250'],
    ['240.0.0.1'],
    ['255.255.255.255'],
    // IPv6 special ranges
    ['::'],
    ['::1'],
    ['0:0:0:0:0:0:0:1'],
    ['fe80::1'], // link-local
    ['febf:ffff::1'],
    ['fc00::1'], // unique local
    ['fd12:3456:789a::1'],
    ['fec0::1'], // site-local
    ['ff02::1'], // multicast
    ['2001:db8::1'], // documentation
    ['100::1'], // discard
    // IPv4 inside IPv6
    ['::ffff:127.0.0.1'],
    ['::ffff:10.1.2.3'],
    ['::ffff:c0a8:101'], // 192.168.1.1
    ['::ffff:100.64.0.1'],
    ['64:ff9b::a00:1'], // NAT64 of 10.0.0.1
    ['64:ff9b::127.0.0.1'],
    ['2002:c0a8:101::1'], // 6to4 of 192.168.1.1
    ['2002:7f00:1::'], // 6to4 of 127.0.0.1
  ])('%s is not public', (ip) => {
    expect(isPublicIp(ip)).toBe(false);
  });
});

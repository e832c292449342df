import { isIPv4, isIPv6 } from 'node:net';

/**
 * What a brake counts of a client address: an IPv4 address as it is (also
 * when written IPv4-mapped, `::ffff:192.0.2.1`), an IPv6 address by its /64
 * prefix. One subscriber is usually given a whole /64, so counting single
 * IPv6 addresses would hand an attacker 2^64 fresh budgets.
 */
export function addressKey(ip: string): string {
  const address = ip.replace(/%.*$/, ''); // a zone (fe80::1%eth0) names an interface, not a host
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped && isIPv4(mapped[1]!)) return mapped[1]!;
  if (!isIPv6(address)) return address;
  return `${hextets(address).slice(0, 4).join(':')}::/64`;
}

/** The eight 16-bit groups of a valid IPv6 address, without leading zeros. */
function hextets(address: string): string[] {
  const groups = (part: string) => part.split(':').filter(Boolean).flatMap((group) => {
    if (!group.includes('.')) return [group];
    const [a, b, c, d] = group.split('.').map(Number) as [number, number, number, number];
    return [((a << 8) | b).toString(16), ((c << 8) | d).toString(16)];
  });
  const [head = '', tail] = address.split('::');
  const left = groups(head);
  const right = tail === undefined ? [] : groups(tail);
  const zeros = Array<string>(8 - left.length - right.length).fill('0');
  return [...left, ...zeros, ...right].map((group) => parseInt(group, 16).toString(16));
}

/**
 * Which source a connection counts against: an IPv4 address on its own, an IPv6 address by
 * its /64 (one host or one customer network is usually given a whole /64, so counting each
 * address would let one host take any number of shares). IPv4-mapped IPv6 addresses, as a
 * dual-stack listener reports IPv4 peers, count as the IPv4 address.
 */
import { isIPv4 } from 'node:net'

const MAPPED_PREFIX = '::ffff:'

export function sourceKey (address: string): string {
  if (!address.includes(':')) return address
  const lower = address.toLowerCase()
  if (lower.startsWith(MAPPED_PREFIX) && isIPv4(lower.slice(MAPPED_PREFIX.length))) return lower.slice(MAPPED_PREFIX.length)
  return `${prefix64(lower)}::/64`
}

/** The first four groups of an IPv6 address, each without leading zeros. */
function prefix64 (address: string): string {
  const bare = address.split('%', 1)[0]!
  const [head = '', tail] = bare.split('::', 2)
  const left = head === '' ? [] : head.split(':')
  const right = tail === undefined || tail === '' ? [] : tail.split(':')
  // A trailing dotted quad (::1.2.3.4) fills two groups.
  const width = (groups: string[]): number => groups.reduce((n, g) => n + (g.includes('.') ? 2 : 1), 0)
  const zeros = tail === undefined ? 0 : Math.max(0, 8 - width(left) - width(right))
  const groups = [...left, ...new Array<string>(zeros).fill('0'), ...right].slice(0, 4)
  while (groups.length < 4) groups.push('0')
  return groups.map((g) => (Number.parseInt(g, 16) || 0).toString(16)).join(':')
}

/**
 * The address ranges an exit refuses by default: the IANA IPv4 and IPv6 special-purpose
 * address registries, in full, plus the blocks those registries leave to others
 * (multicast, the deprecated site-local block, and IPv6 outside global unicast).
 *
 * Every registry row is here, including those IANA marks "globally reachable" (AS112,
 * AMT, the PCP and TURN anycast addresses, ORCHIDv2, drone DETs): those serve
 * infrastructure, no user stream needs them, and they sit inside blocks that are not
 * reachable anyway. An operator who wants one opens it with an explicit `accept` rule in
 * front of the default (policy.ts). Registry snapshot: IPv4 and IPv6 special-purpose
 * registries as of 2025 (RFC 6890 layout); the data follows the registry's rows one for one,
 * so a row added later is one line here.
 *
 * Built into two `net.BlockList`s, one per family, and never one list for both: Node's
 * BlockList matches an IPv4 address against IPv6 subnets through its `::ffff:a.b.c.d`
 * form, so a single list holding `::ffff:0:0/96` (or `::/8`) reports EVERY IPv4 address as
 * blocked (checked on Node 20.20). Each family is checked only against its own list.
 */
import net from 'node:net'
import { hasHostBits, parseIpAddress, type IpAddress } from './ip-address.js'

export interface SpecialRange {
  /** `address/bits`, the network address without host bits. */
  readonly cidr: string
  readonly name: string
  /** The RFC (or registry) that defines the block. */
  readonly reference: string
  /** Where the row comes from: the special-purpose registry, or another IANA registry. */
  readonly source: 'special-purpose' | 'multicast' | 'address-space'
}

function row (cidr: string, name: string, reference: string, source: SpecialRange['source'] = 'special-purpose'): SpecialRange {
  return Object.freeze({ cidr, name, reference, source })
}

/** IANA IPv4 Special-Purpose Address Registry, every row, then the multicast block. */
export const IPV4_SPECIAL_RANGES: readonly SpecialRange[] = Object.freeze([
  // "This network": 0.0.0.0 means "any local address" to connect(), i.e. the exit host.
  row('0.0.0.0/8', 'This network', 'RFC 791 §3.2'),
  // "This host on this network": the most direct way to reach the exit's own services.
  row('0.0.0.0/32', 'This host on this network', 'RFC 1122 §3.2.1.3'),
  // RFC 1918 private use: the operator's internal network.
  row('10.0.0.0/8', 'Private-Use', 'RFC 1918'),
  // Carrier-grade NAT space: the ISP's internal side; Tor's private list misses it.
  row('100.64.0.0/10', 'Shared Address Space', 'RFC 6598'),
  // Loopback: the exit host itself (metrics, admin ports, other daemons).
  row('127.0.0.0/8', 'Loopback', 'RFC 1122 §3.2.1.3'),
  // Link local: includes 169.254.169.254, the cloud metadata service (credentials).
  row('169.254.0.0/16', 'Link Local', 'RFC 3927'),
  // RFC 1918 private use.
  row('172.16.0.0/12', 'Private-Use', 'RFC 1918'),
  // IETF protocol assignments: the whole /24 and every row inside it, listed as IANA does.
  row('192.0.0.0/24', 'IETF Protocol Assignments', 'RFC 6890 §2.1'),
  // DS-Lite B4/AFTR addresses: the local side of a tunnel.
  row('192.0.0.0/29', 'IPv4 Service Continuity Prefix', 'RFC 7335'),
  // Placeholder source address for hosts without IPv4; never a destination.
  row('192.0.0.8/32', 'IPv4 dummy address', 'RFC 7600'),
  // Globally reachable anycast for PCP servers: a NAT control service, not a user destination.
  row('192.0.0.9/32', 'Port Control Protocol Anycast', 'RFC 7723'),
  // Globally reachable anycast for TURN relays: a relay service, not a user destination.
  row('192.0.0.10/32', 'Traversal Using Relays around NAT Anycast', 'RFC 8155'),
  // Well-known names for DNS64 prefix discovery; local meaning only.
  row('192.0.0.170/32', 'NAT64/DNS64 Discovery', 'RFC 8880, RFC 7050 §2.2'),
  // Second NAT64/DNS64 discovery address.
  row('192.0.0.171/32', 'NAT64/DNS64 Discovery', 'RFC 8880, RFC 7050 §2.2'),
  // TEST-NET-1: documentation only.
  row('192.0.2.0/24', 'Documentation (TEST-NET-1)', 'RFC 5737'),
  // AS112 sink for reverse DNS of private space: globally reachable, infrastructure only.
  row('192.31.196.0/24', 'AS112-v4', 'RFC 7535'),
  // Automatic Multicast Tunneling relays: globally reachable, infrastructure only.
  row('192.52.193.0/24', 'AMT', 'RFC 7450'),
  // Former 6to4 relay anycast: deprecated, its routing is unpredictable.
  row('192.88.99.0/24', 'Deprecated (6to4 Relay Anycast)', 'RFC 7526'),
  // 6a44 relay anycast, inside the deprecated block above.
  row('192.88.99.2/32', '6a44-relay anycast address', 'RFC 6751'),
  // RFC 1918 private use: home and office networks.
  row('192.168.0.0/16', 'Private-Use', 'RFC 1918'),
  // AS112 direct delegation sink: globally reachable, infrastructure only.
  row('192.175.48.0/24', 'Direct Delegation AS112 Service', 'RFC 7534'),
  // Benchmarking of network devices: lab space, often routed internally.
  row('198.18.0.0/15', 'Benchmarking', 'RFC 2544'),
  // TEST-NET-2: documentation only.
  row('198.51.100.0/24', 'Documentation (TEST-NET-2)', 'RFC 5737'),
  // TEST-NET-3: documentation only.
  row('203.0.113.0/24', 'Documentation (TEST-NET-3)', 'RFC 5737'),
  // Former class E: reserved, not routable.
  row('240.0.0.0/4', 'Reserved', 'RFC 1112 §4'),
  // Limited broadcast (inside 240/4, listed separately by IANA).
  row('255.255.255.255/32', 'Limited Broadcast', 'RFC 919 §7, RFC 8190'),
  // Multicast (from the IPv4 multicast registry, not the special-purpose one): TCP cannot
  // use it, and a connect() there only probes the exit's local network.
  row('224.0.0.0/4', 'Multicast', 'RFC 5771', 'multicast'),
])

/**
 * IANA IPv6 Special-Purpose Address Registry, every row, then the blocks of the IPv6
 * Address Space registry that are not global unicast.
 */
export const IPV6_SPECIAL_RANGES: readonly SpecialRange[] = Object.freeze([
  // Loopback: the exit host itself.
  row('::1/128', 'Loopback Address', 'RFC 4291'),
  // Unspecified: connect() to it reaches the exit host.
  row('::/128', 'Unspecified Address', 'RFC 4291'),
  // IPv4-mapped: a socket sends these as IPv4 to the embedded address.
  row('::ffff:0:0/96', 'IPv4-mapped Address', 'RFC 4291'),
  // NAT64 well-known prefix (globally reachable): a local translator forwards to the
  // embedded IPv4 address, so the IPv6 form would bypass every IPv4 rule.
  row('64:ff9b::/96', 'IPv4-IPv6 Translat.', 'RFC 6052'),
  // Local-use NAT64: the operator's own translator, embedded IPv4 as above.
  row('64:ff9b:1::/48', 'IPv4-IPv6 Translat.', 'RFC 8215'),
  // Discard-only (remote-triggered black hole).
  row('100::/64', 'Discard-Only Address Block', 'RFC 6666'),
  // Dummy prefix for hosts without IPv6 connectivity; never a destination.
  row('100:0:0:1::/64', 'Dummy IPv6 Prefix', 'RFC 9780'),
  // IETF protocol assignments: the whole /23 and every row inside it, listed as IANA does.
  row('2001::/23', 'IETF Protocol Assignments', 'RFC 2928'),
  // Teredo: the client's IPv4 address (obfuscated) and its server's sit inside.
  row('2001::/32', 'TEREDO', 'RFC 4380, RFC 8190'),
  // Globally reachable PCP anycast: a NAT control service, not a user destination.
  row('2001:1::1/128', 'Port Control Protocol Anycast', 'RFC 7723'),
  // Globally reachable TURN anycast: a relay service, not a user destination.
  row('2001:1::2/128', 'Traversal Using Relays around NAT Anycast', 'RFC 8155'),
  // Globally reachable DNS-SD SRP anycast: service registration, not a user destination.
  row('2001:1::3/128', 'DNS-SD Service Registration Protocol Anycast', 'RFC 9665'),
  // Benchmarking: lab space.
  row('2001:2::/48', 'Benchmarking', 'RFC 5180, RFC Errata 1752'),
  // Automatic Multicast Tunneling: globally reachable, infrastructure only.
  row('2001:3::/32', 'AMT', 'RFC 7450'),
  // AS112-v6 sink: globally reachable, infrastructure only.
  row('2001:4:112::/48', 'AS112-v6', 'RFC 7535'),
  // ORCHID (deprecated): overlay identifiers, not routable locators.
  row('2001:10::/28', 'Deprecated (previously ORCHID)', 'RFC 4843'),
  // ORCHIDv2: overlay identifiers (HIP), not locators a TCP stream should reach.
  row('2001:20::/28', 'ORCHIDv2', 'RFC 7343'),
  // Drone Remote ID entity tags: identifiers, not hosts.
  row('2001:30::/28', 'Drone Remote ID Protocol Entity Tags (DETs) Prefix', 'RFC 9374'),
  // Documentation only.
  row('2001:db8::/32', 'Documentation', 'RFC 3849'),
  // 6to4: bits 16..47 hold an IPv4 address a relay forwards to.
  row('2002::/16', '6to4', 'RFC 3056'),
  // AS112 direct delegation sink: globally reachable, infrastructure only.
  row('2620:4f:8000::/48', 'Direct Delegation AS112 Service', 'RFC 7534'),
  // Documentation only (the second documentation block).
  row('3fff::/20', 'Documentation', 'RFC 9637'),
  // SRv6 segment identifiers: inside an operator's segment-routing domain only.
  row('5f00::/16', 'Segment Routing (SRv6) SIDs', 'RFC 9602'),
  // Unique local: the IPv6 counterpart of RFC 1918.
  row('fc00::/7', 'Unique-Local', 'RFC 4193, RFC 8190'),
  // Link-local: the exit's own links (and, like 169.254/16, cloud metadata on some clouds).
  row('fe80::/10', 'Link-Local Unicast', 'RFC 4291'),
  // Site-local, deprecated but still honoured by some stacks (Tor rejects it too).
  row('fec0::/10', 'Site-Local (deprecated)', 'RFC 3879', 'address-space'),
  // Multicast, from the IPv6 Address Space registry: TCP cannot use it.
  row('ff00::/8', 'Multicast', 'RFC 4291', 'address-space'),
  // Deprecated IPv4-compatible addresses (`::a.b.c.d`): some stacks still route them as IPv4.
  row('::/96', 'IPv4-compatible Address (deprecated)', 'RFC 4291 §2.5.5.1', 'address-space'),
  // IANA has allocated only 2000::/3 as global unicast (IPv6 Address Space registry): no
  // internet host holds an address outside it, and the rest is reserved, so the three
  // blocks below refuse all of it, including any special block assigned there later.
  row('::/3', 'Reserved by IETF (outside global unicast)', 'RFC 4291 §2.4', 'address-space'),
  // 4000:: to 7fff:: (outside global unicast).
  row('4000::/2', 'Reserved by IETF (outside global unicast)', 'RFC 4291 §2.4', 'address-space'),
  // 8000:: to ffff:: (outside global unicast; holds fc00::/7, fe80::/10, ff00::/8 above).
  row('8000::/1', 'Reserved by IETF (outside global unicast)', 'RFC 4291 §2.4', 'address-space'),
])

export interface ParsedRange {
  readonly range: SpecialRange
  readonly network: IpAddress
  readonly bits: number
}

/** Parses a row's `address/bits`; throws on malformed data (a bug in this file). */
export function parseCidr (range: SpecialRange): ParsedRange {
  const slash = range.cidr.indexOf('/')
  const network = slash < 0 ? undefined : parseIpAddress(range.cidr.slice(0, slash))
  const bits = Number(range.cidr.slice(slash + 1))
  const maxBits = network?.family === 4 ? 32 : 128
  if (network === undefined || !/^[0-9]{1,3}$/.test(range.cidr.slice(slash + 1)) || bits > maxBits ||
    hasHostBits(network, bits)) {
    throw new Error(`special range ${range.cidr} is malformed`)
  }
  return { range, network, bits }
}

export interface SpecialPurposeBlockLists {
  /** IPv4 rows only: check IPv4 addresses here, with type 'ipv4'. */
  readonly ipv4: net.BlockList
  /** IPv6 rows only: check IPv6 addresses here, with type 'ipv6'. */
  readonly ipv6: net.BlockList
}

/** Fresh BlockLists holding every row above, one per family (see the file comment for why). */
export function specialPurposeBlockLists (): SpecialPurposeBlockLists {
  const ipv4 = new net.BlockList()
  const ipv6 = new net.BlockList()
  for (const range of IPV4_SPECIAL_RANGES) {
    const { network, bits } = parseCidr(range)
    if (network.family !== 4) throw new Error(`special range ${range.cidr} is in the IPv4 table`)
    ipv4.addSubnet(network.text, bits, 'ipv4')
  }
  for (const range of IPV6_SPECIAL_RANGES) {
    const { network, bits } = parseCidr(range)
    if (network.family !== 6) throw new Error(`special range ${range.cidr} is in the IPv6 table`)
    ipv6.addSubnet(network.text, bits, 'ipv6')
  }
  return { ipv4, ipv6 }
}

const shared = specialPurposeBlockLists()

/**
 * Whether an address (itself, not what it embeds) is in a special-purpose range. Anything
 * that is not a strict IP literal counts as special: callers refuse what they cannot read.
 */
export function isSpecialPurpose (address: IpAddress | string): boolean {
  const parsed = typeof address === 'string' ? parseIpAddress(address) : address
  if (parsed === undefined) return true
  return parsed.family === 4
    ? shared.ipv4.check(parsed.text, 'ipv4')
    : shared.ipv6.check(parsed.text, 'ipv6')
}

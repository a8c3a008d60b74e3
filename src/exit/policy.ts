/**
 * The exit policy: which address:port pairs the exit may connect to (DESIGN goal 6, R12).
 *
 * Tor's semantics: rules in order, the first that matches decides, nothing matching means
 * reject. The policy an exit runs is built by buildExitPolicy:
 *
 *   1. the operator's rules, in front, so an explicit `accept` can open anything below
 *      (e.g. `accept 127.0.0.1:*` for loopback tests);
 *   2. `reject private:*`: every IANA special-purpose range, both families;
 *   3. `reject ADDR:*` for every address of the cascade's own nodes, so streams cannot be
 *      sent back into the cascade (or at the exit's own services);
 *   4. Tor's default port rejects (DEFAULT_PORT_REJECTS below);
 *   5. `accept *:*`.
 *
 * An IPv6 address is allowed only if it AND every IPv4 address embedded in it
 * (embedded-ipv4.ts) are allowed, each decided by the whole policy. So opening a
 * translation prefix (`accept [64:ff9b::]/96:*`) still does not reach `64:ff9b::7f00:1`,
 * and a cascade node is refused in its `::ffff:` form too.
 */
import { PolicyError } from './errors.js'
import { embeddedIpv4 } from './embedded-ipv4.js'
import { parseIpAddress, type IpAddress } from './ip-address.js'
import { formatPolicyRule, parsePolicyRule, ruleMatches, singleAddressRule, type PolicyRule } from './policy-rule.js'

export { PolicyError } from './errors.js'
export type { PolicyRule } from './policy-rule.js'

/**
 * Port rejects of Tor's default exit policy (policies.c DEFAULT_EXIT_POLICY, ANCHORS §4.3),
 * kept whole so that operators who know Tor read this policy the same way: SMTP (25, the
 * spam relay every exit operator hears about first), NNTP and NNTPS (119, 563), the
 * Windows RPC/NetBIOS/SMB ports that worms scan (135-139, 445), and the file-sharing
 * ports (Kazaa 1214, eDonkey 4661-4666, Gnutella 6346-6429, WinMX 6699, BitTorrent
 * 6881-6999), whose bulk traffic would swamp a cascade whose every circuit runs at a
 * fixed, shaped rate, and which bring the copyright complaints. Mail submission (465, 587)
 * is left open as in current Tor: it requires authentication, so it relays no spam.
 */
export const DEFAULT_PORT_REJECTS: readonly string[] = Object.freeze([
  'reject *:25',
  'reject *:119',
  'reject *:135-139',
  'reject *:445',
  'reject *:563',
  'reject *:1214',
  'reject *:4661-4666',
  'reject *:6346-6429',
  'reject *:6699',
  'reject *:6881-6999',
])

export class ExitPolicy {
  readonly rules: readonly PolicyRule[]

  constructor (rules: readonly PolicyRule[]) {
    this.rules = Object.freeze([...rules])
  }

  /**
   * Whether the exit may connect to `ip:port`. `ip` must be an IP literal (IPv6 without
   * brackets); anything else, and any port outside 1..65535, is refused.
   */
  allows (ip: string, port: number): boolean {
    if (!Number.isInteger(port) || port < 1 || port > 65535) return false
    const address = parseIpAddress(ip)
    return address !== undefined && this.allowsAddress(address, port)
  }

  /** allows() for an address already parsed. */
  allowsAddress (address: IpAddress, port: number): boolean {
    if (!Number.isInteger(port) || port < 1 || port > 65535) return false
    if (!this.decide(address, port)) return false
    for (const embedded of embeddedIpv4(address)) {
      if (!this.decide(embedded.address, port)) return false
    }
    return true
  }

  /**
   * Whether the exit may connect to `ip` on at least one port: the test for the answers of a
   * RESOLVE, which has no port, and for the address of a RESOLVE_PTR (PROTOCOL.md §11.3). As
   * allows(), an IPv6 address counts only on the ports it and every embedded IPv4 address share.
   */
  allowsAnyPort (ip: string): boolean {
    const address = parseIpAddress(ip)
    if (address === undefined) return false
    let ports = this.acceptedPorts(address)
    for (const embedded of embeddedIpv4(address)) {
      if (ports.length === 0) break
      ports = intersect(ports, this.acceptedPorts(embedded.address))
    }
    return ports.length > 0
  }

  /** The rules in policy syntax, first to last (for logs and `mixgate status`). */
  describe (): string[] {
    return this.rules.map(formatPolicyRule)
  }

  /** The port ranges the rules accept `address` on (first match wins per port). */
  private acceptedPorts (address: IpAddress): PortRange[] {
    let undecided: PortRange[] = [[1, 65535]]
    const accepted: PortRange[] = []
    for (const rule of this.rules) {
      if (undecided.length === 0) break
      // A rule's address part matches iff it matches at its own first port.
      if (!ruleMatches(rule, address, rule.portMin)) continue
      const rest: PortRange[] = []
      for (const [min, max] of undecided) {
        const lo = Math.max(min, rule.portMin)
        const hi = Math.min(max, rule.portMax)
        if (lo > hi) { rest.push([min, max]); continue }
        if (rule.action === 'accept') accepted.push([lo, hi])
        if (min < lo) rest.push([min, lo - 1])
        if (hi < max) rest.push([hi + 1, max])
      }
      undecided = rest
    }
    return accepted
  }

  private decide (address: IpAddress, port: number): boolean {
    for (const rule of this.rules) {
      if (ruleMatches(rule, address, port)) return rule.action === 'accept'
    }
    return false
  }
}

/**
 * Parses operator rules, one per entry; an entry may also hold several rules separated by
 * commas, as in Tor's `ExitPolicy` line. Nothing is added: a policy parsed here ends in an
 * implicit reject. Throws PolicyError on the first rule that cannot be read.
 */
export function parseExitPolicy (lines: readonly string[]): ExitPolicy {
  return new ExitPolicy(parseRules(lines))
}

export interface ExitPolicyOptions {
  /** Operator rules, placed in front of the default (Tor syntax, see policy-rule.ts). */
  readonly operatorRules: readonly string[]
  /**
   * IP literals of every node of the cascade (the exit's own included; add the exit host's
   * interface addresses too if they differ). Host names must be resolved by the caller.
   */
  readonly cascadeAddresses: readonly string[]
}

/** The policy an exit runs: operator rules, then the safe default (see the file comment). */
export function buildExitPolicy (options: ExitPolicyOptions): ExitPolicy {
  const cascade: PolicyRule[] = []
  for (const literal of options.cascadeAddresses) {
    const text = literal.startsWith('[') && literal.endsWith(']') ? literal.slice(1, -1) : literal
    const address = parseIpAddress(text)
    if (address === undefined) {
      throw new PolicyError(literal, 'a cascade address must be an IP address without a port')
    }
    cascade.push(singleAddressRule('reject', address))
    // A node written as ::ffff:a.b.c.d (or 6to4, NAT64…) is reached at a.b.c.d too.
    for (const embedded of embeddedIpv4(address)) cascade.push(singleAddressRule('reject', embedded.address))
  }
  return new ExitPolicy([
    ...parseRules(options.operatorRules),
    parsePolicyRule('reject private:*'),
    ...cascade,
    ...DEFAULT_PORT_REJECTS.map(parsePolicyRule),
    parsePolicyRule('accept *:*'),
  ])
}

/** An inclusive range of ports. */
type PortRange = [number, number]

function intersect (a: readonly PortRange[], b: readonly PortRange[]): PortRange[] {
  const out: PortRange[] = []
  for (const [aMin, aMax] of a) {
    for (const [bMin, bMax] of b) {
      const lo = Math.max(aMin, bMin)
      const hi = Math.min(aMax, bMax)
      if (lo <= hi) out.push([lo, hi])
    }
  }
  return out
}

function parseRules (lines: readonly string[]): PolicyRule[] {
  const rules: PolicyRule[] = []
  for (const line of lines) {
    for (const part of line.split(',')) rules.push(parsePolicyRule(part))
  }
  return rules
}

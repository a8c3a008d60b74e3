/**
 * The exit's DNS resolver, pinned to the configured servers (DESIGN-REVIEW R12).
 *
 * Uses c-ares (`dns.Resolver`), never the system resolver (`dns.lookup`, getaddrinfo): c-ares
 * queries go straight to the configured servers with `ares_query`, so /etc/hosts and the
 * search domains of /etc/resolv.conf play no part, and every name is asked as the FQDN it
 * was given. A name the exit operator keeps in /etc/hosts (an internal host) therefore does
 * not resolve through the exit.
 *
 * Each resolution gets a fresh c-ares channel (about 0.1 ms to create), so no answer cached
 * for one circuit can ever be seen, or timed, by another (the "timeless" cache probes of
 * Dahlberg & Pulls against Tor exits). Node's c-ares channels keep no cache of their own as
 * Node configures them; the fresh channel makes that independent of the c-ares version.
 * It also lets the deadline cancel exactly this resolution.
 *
 * `localhost` and `*.localhost` map to 127.0.0.1 and ::1 without a query (RFC 6761 §6.3),
 * which the default policy then refuses. IP literals pass through as given (an IPv6 literal
 * may come in brackets; it leaves without). Every failure, whatever the cause, is
 * RESOLVE_FAILED: the reason tells a client nothing about the exit's DNS view.
 */
import net from 'node:net'
import { Resolver } from 'node:dns/promises'
import { EndReason } from '../protocol/end-reason.js'
import { ipv6Bytes } from '../protocol/relay-address.js'
import { ResolverConfigError } from './errors.js'

export type ResolveResult =
  | { readonly ok: true, readonly addresses: string[] }
  | { readonly ok: false, readonly reason: EndReason }

/** What outbound.ts needs from a resolver (tests may pass their own). */
export interface HostResolver {
  resolve (host: string): Promise<ResolveResult>
}

export type ReverseResult =
  | { readonly ok: true, readonly name: string }
  | { readonly ok: false, readonly reason: EndReason }

/** A PTR lookup, for RESOLVE_PTR (resolve-answer.ts). */
export interface ReverseResolver {
  /** The name of an IP literal: the first PTR answer that is a valid host name. */
  reverse (ip: string): Promise<ReverseResult>
}

export interface PinnedResolverOptions {
  /**
   * DNS servers in the form `dns.setServers` takes: `192.0.2.53`, `192.0.2.53:5353`,
   * `2001:db8::53`, `[2001:db8::53]:5353`. At least one; IP literals only.
   */
  readonly servers: readonly string[]
  /** Deadline for one resolution (A and AAAA together), in ms. Default 5000. */
  readonly timeoutMs?: number
}

export const DEFAULT_RESOLVE_TIMEOUT_MS = 5000

/** c-ares tries per server; each try gets half the deadline, the deadline cuts the rest. */
const TRIES = 2

const FAILED = Object.freeze({ ok: false, reason: EndReason.RESOLVE_FAILED } as const)

// RFC 1123 §2.1 labels (letters, digits, inner hyphens), plus the underscore that real
// host names in the DNS do carry. Non-ASCII names must arrive as punycode (A-labels).
const LABEL = /^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/i
// A numeric last label makes the name an IPv4 shorthand to inet_aton (`127.1`, `0x7f.1`,
// `2130706433`): no top-level domain looks like that, so such names are refused outright.
const NUMERIC_LABEL = /^(?:[0-9]+|0x[0-9a-f]*)$/i

export class PinnedResolver implements HostResolver, ReverseResolver {
  private readonly servers: string[]
  private readonly timeoutMs: number

  constructor (options: PinnedResolverOptions) {
    const timeoutMs = options.timeoutMs ?? DEFAULT_RESOLVE_TIMEOUT_MS
    if (!Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > 60_000) {
      throw new ResolverConfigError('the resolver timeout must be a whole number of milliseconds from 1 to 60000')
    }
    if (options.servers.length === 0) {
      throw new ResolverConfigError('the exit resolver needs at least one DNS server (an IP address)')
    }
    this.servers = [...options.servers]
    try {
      new Resolver().setServers(this.servers)
    } catch (error) {
      throw new ResolverConfigError('every DNS server must be an IP address, with an optional port ' +
        '(192.0.2.53, 192.0.2.53:5353, [2001:db8::53]:5353)', { cause: error })
    }
    this.timeoutMs = timeoutMs
  }

  async resolve (host: string): Promise<ResolveResult> {
    const literal = ipLiteral(host)
    if (literal !== undefined) return { ok: true, addresses: [literal] }
    const name = normalizeHostname(host)
    if (name === undefined) return FAILED
    if (name === 'localhost' || name.endsWith('.localhost')) {
      return { ok: true, addresses: ['127.0.0.1', '::1'] }
    }
    return await this.query(name)
  }

  /**
   * A PTR query for an IP literal, on a fresh channel under the same deadline. It asks for
   * the `in-addr.arpa` / `ip6.arpa` name with resolvePtr (ares_query, the servers only), not
   * with `Resolver.reverse`, which is ares_gethostbyaddr and reads /etc/hosts first (it
   * answered 127.0.0.1 with this host's name). Only a valid host name (normalizeHostname) is
   * ever returned: a PTR record can hold any bytes, and the answer goes to a client and into
   * its app. No special case for loopback: the caller checks the address against its policy.
   */
  async reverse (ip: string): Promise<ReverseResult> {
    const literal = ipLiteral(ip)
    if (literal === undefined) return FAILED
    const names = await this.withDeadline(async (resolver) => {
      const [answer] = await Promise.allSettled([resolver.resolvePtr(reverseName(literal))])
      return answer.status === 'fulfilled' ? answer.value : []
    })
    for (const name of names ?? []) {
      const valid = normalizeHostname(name)
      if (valid !== undefined) return { ok: true, name: valid }
    }
    return FAILED
  }

  private async query (name: string): Promise<ResolveResult> {
    const outcome = await this.withDeadline(async (resolver) => await Promise.allSettled([resolver.resolve4(name), resolver.resolve6(name)]))
    if (outcome === undefined) return FAILED
    const addresses = new Set<string>()
    for (const answer of outcome) {
      if (answer.status !== 'fulfilled') continue
      for (const address of answer.value) if (net.isIP(address) !== 0) addresses.add(address)
    }
    return addresses.size === 0 ? FAILED : { ok: true, addresses: [...addresses] }
  }

  /** Run `work` on a fresh channel; undefined at the deadline (the queries are cancelled). */
  private async withDeadline<T> (work: (resolver: Resolver) => Promise<T>): Promise<T | undefined> {
    const resolver = new Resolver({ timeout: Math.max(1, Math.floor(this.timeoutMs / TRIES)), tries: TRIES })
    resolver.setServers(this.servers)
    let timer: NodeJS.Timeout | undefined
    const deadline = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), this.timeoutMs)
    })
    try {
      // `work` must not reject: it settles its queries (allSettled), cancelled ones included.
      const outcome = await Promise.race([work(resolver), deadline])
      if (outcome === 'timeout') {
        resolver.cancel() // the pending queries settle (ECANCELLED) inside allSettled
        return undefined
      }
      return outcome
    } finally {
      clearTimeout(timer)
    }
  }
}

export function createPinnedResolver (options: PinnedResolverOptions): PinnedResolver {
  return new PinnedResolver(options)
}

/** Whether resolving `host` sends a query (not an IP literal, `localhost`, or an invalid name). */
export function needsQuery (host: string): boolean {
  if (ipLiteral(host) !== undefined) return false
  const name = normalizeHostname(host)
  return name !== undefined && name !== 'localhost' && !name.endsWith('.localhost')
}

/**
 * The name to query (lower case, one trailing dot removed), or undefined when `host` is not
 * a valid DNS host name: total length ≤ 253, labels of 1..63 letters, digits, `-` or `_`
 * (no hyphen at either end), and a last label that is not a number.
 */
export function normalizeHostname (host: string): string | undefined {
  const name = host.endsWith('.') ? host.slice(0, -1) : host
  if (name.length === 0 || name.length > 253) return undefined
  const labels = name.split('.')
  for (const label of labels) if (!LABEL.test(label)) return undefined
  if (NUMERIC_LABEL.test(labels[labels.length - 1]!)) return undefined
  return name.toLowerCase()
}

/** The name a PTR record of `literal` lives under (RFC 1035 §3.5, RFC 3596 §2.5). */
export function reverseName (literal: string): string {
  if (net.isIPv4(literal)) return `${literal.split('.').reverse().join('.')}.in-addr.arpa`
  const nibbles = Buffer.from(ipv6Bytes(literal)).toString('hex').split('')
  return `${nibbles.reverse().join('.')}.ip6.arpa`
}

function ipLiteral (host: string): string | undefined {
  if (host.startsWith('[') && host.endsWith(']')) {
    const inner = host.slice(1, -1)
    return net.isIPv6(inner) ? inner : undefined
  }
  return net.isIP(host) !== 0 ? host : undefined
}

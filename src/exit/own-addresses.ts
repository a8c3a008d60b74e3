/**
 * What the exit refuses because it is the cascade itself or this host (R12, issue #10;
 * PROTOCOL.md §11.3): every node's address, this host's interface addresses, and the
 * ports the cascade's nodes and this exit serve on (links, admin, publish).
 *
 * Names are resolved once, at start, with the exit's own pinned resolver: a hop or service
 * whose name does not resolve stops the start (fail closed), since the exit could not
 * refuse what it cannot name. The rules split in two, around the operator's:
 *   - first: every serving address:port, and every address of a node or of this host that
 *     is not special-purpose, whole. No operator rule can reopen these;
 *   - after the operator's rules (buildExitPolicy's `cascadeAddresses`): all those addresses
 *     whole, special-purpose ones included, so `accept 127.0.0.1:*` still opens loopback
 *     for tests, but never a port the cascade serves on.
 */
import { networkInterfaces } from 'node:os'
import type { Cascade } from '../directory/cascade.js'
import type { HostPort } from '../base/address.js'
import { OwnAddressError } from './errors.js'
import { parseIpAddress } from './ip-address.js'
import type { HostResolver } from './resolver.js'
import { isSpecialPurpose } from './special-ranges.js'

/** A place the exit knows something of the cascade serves on, with a name for errors. */
export interface OwnService {
  /** For the start error: "hop 2 of the cascade", "the admin address" … */
  readonly what: string
  readonly address: HostPort
}

export interface OwnAddresses {
  /** Rules placed in front of the operator's. */
  readonly firstRules: readonly string[]
  /** IP literals refused whole after the operator's rules. */
  readonly addresses: readonly string[]
}

/** The cascade's hops and this exit's own services (port 0: not known before start, skipped). */
export function ownServices (cascade: Cascade, services: ReadonlyArray<OwnService>): OwnService[] {
  return [
    ...cascade.hops.map((hop) => ({ what: `hop ${hop.position} of the cascade`, address: hop.address })),
    ...services,
  ]
}

/** Every address of every interface of this host (os.networkInterfaces()). */
export function interfaceAddresses (): string[] {
  const out: string[] = []
  for (const list of Object.values(networkInterfaces())) {
    for (const entry of list ?? []) out.push(entry.address)
  }
  return out
}

/**
 * Resolve every service's host and build the rules. Throws OwnAddressError naming the first
 * service whose name does not resolve. `localAddresses` are this host's (IP literals).
 */
export async function ownAddresses (services: readonly OwnService[], localAddresses: readonly string[], resolver: HostResolver): Promise<OwnAddresses> {
  const local = literals(localAddresses)
  const resolved = await Promise.all(services.map(async (service) => ({ service, ips: await resolveService(service, local, resolver) })))
  const first = new Set<string>()
  const whole = new Set<string>()
  for (const { service, ips } of resolved) {
    for (const ip of ips) {
      if (service.address.port !== 0) first.add(rule(ip, String(service.address.port)))
      if (!isUnspecified(ip)) whole.add(ip)
    }
  }
  for (const ip of local) whole.add(ip)
  for (const ip of whole) if (!isSpecialPurpose(ip)) first.add(rule(ip, '*'))
  return { firstRules: [...first], addresses: [...whole] }
}

async function resolveService (service: OwnService, local: readonly string[], resolver: HostResolver): Promise<string[]> {
  const { host } = service.address
  const literal = parseIpAddress(host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host)
  // A service on every interface (0.0.0.0, ::) is reached at each of them.
  if (literal !== undefined) return isUnspecified(literal.text) ? [literal.text, ...local] : [literal.text]
  const result = await resolver.resolve(host)
  if (!result.ok || result.addresses.length === 0) throw new OwnAddressError(service.what, host)
  return literals(result.addresses)
}

/** Canonical IP literals (interface lists may carry zone IDs or odd spellings); others dropped. */
function literals (addresses: readonly string[]): string[] {
  const out: string[] = []
  for (const text of addresses) {
    const address = parseIpAddress(text.split('%')[0]!)
    if (address !== undefined) out.push(address.text)
  }
  return out
}

function isUnspecified (ip: string): boolean {
  return ip === '0.0.0.0' || ip === '::'
}

function rule (ip: string, port: string): string {
  return `reject ${ip.includes(':') ? `[${ip}]` : ip}:${port}`
}

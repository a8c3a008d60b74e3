/**
 * The exit's answer to a relay RESOLVE (PROTOCOL.md §7.2, §11.3): a lookup by the exit's
 * pinned resolver, under the exit policy, so a RESOLVE tells a client no more than a BEGIN
 * could (DESIGN-REVIEW R12).
 *
 * A name: every address the resolver returns is checked, and only the ones the policy would
 * connect to on some port are answered (IPv4 first), as many as fit one backward payload;
 * none allowed is EXIT_POLICY, as for a BEGIN, so the exit's internal view of the DNS (names
 * that resolve to private addresses) stays its own. An address: it must itself be allowed
 * on some port (a PTR lookup of 10.0.0.5 would map the exit's network), then its PTR name.
 * Failures are END reasons, never exceptions.
 */
import { EndReason } from '../protocol/end-reason.js'
import { encodeResolved, type ResolveQuery } from '../protocol/resolve.js'
import { parseIpAddress } from './ip-address.js'
import type { HostResolver, ReverseResolver } from './resolver.js'

/** What a RESOLVE needs of the policy (ExitPolicy from policy.ts). */
export interface AddressCheck {
  /** Whether the exit may connect to `ip` on at least one port. */
  allowsAnyPort (ip: string): boolean
}

export type ResolveOutcome =
  | { readonly ok: true, readonly body: Uint8Array }
  | { readonly ok: false, readonly reason: EndReason }

const refused = (reason: EndReason): ResolveOutcome => ({ ok: false, reason })

/** Look `query` up; `maxBytes` is the data room of one backward relay payload. */
export async function answerResolve (query: ResolveQuery, policy: AddressCheck, resolver: HostResolver & ReverseResolver,
  maxBytes: number): Promise<ResolveOutcome> {
  if (query.reverse) {
    if (!policy.allowsAnyPort(query.host)) return refused(EndReason.EXIT_POLICY)
    const named = await resolver.reverse(query.host)
    if (!named.ok) return refused(named.reason)
    return { ok: true, body: encodeResolved([named.name], maxBytes) }
  }
  const resolved = await resolver.resolve(query.host)
  if (!resolved.ok) return refused(resolved.reason)
  if (resolved.addresses.length === 0) return refused(EndReason.RESOLVE_FAILED)
  const allowed = new Map<string, number>()
  for (const literal of resolved.addresses) {
    const address = parseIpAddress(literal)
    if (address === undefined || !policy.allowsAnyPort(address.text)) continue
    allowed.set(address.text, address.family)
  }
  if (allowed.size === 0) return refused(EndReason.EXIT_POLICY)
  // IPv4 first, as outbound.ts connects: an app that takes the first answer gets the same.
  const ordered = [...allowed].sort((a, b) => a[1] - b[1]).map(([text]) => text)
  return { ok: true, body: encodeResolved(ordered, maxBytes) }
}
